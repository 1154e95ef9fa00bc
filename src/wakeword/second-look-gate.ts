/**
 * When the second look (the odd phases, see second-look.ts) runs: from the frame on which some word's base
 * score (the max over the stream's own phases) reaches the gate, and for `holdChunks` − 1 frames after the last
 * such frame. Pure: frame numbers and scores in, on/off out.
 *
 * The hold keeps it on while a phrase's score rises and falls on the even phases (an odd phase's peak may come
 * a frame or two after the even ones have dropped) and saves the catch-up a look that flickers would repeat.
 */
import { EarshotError } from '../core/index.js';

/** Default hold: 25 frames (2 s), about one wake phrase and its tail. */
export const DEFAULT_SECOND_LOOK_HOLD_CHUNKS = 25;

export interface SecondLookSettings {
  /** Base score (max over the stream's phases, any word) at or above which the odd phases are scored too. */
  gate: number;
  /** Frames the look stays on after the last frame at or above the gate, that frame included (default 25). */
  holdChunks?: number;
}

export class SecondLookGate {
  readonly gate: number;
  readonly holdChunks: number;
  private lastAtGate = Number.NEGATIVE_INFINITY;
  /** Frames on which the look was on, and times it switched on (for the bench and eval statistics). */
  framesOn = 0;
  switchesOn = 0;
  private wasOn = false;

  constructor(settings: SecondLookSettings) {
    if (!(settings.gate >= 0 && settings.gate <= 1)) throw new EarshotError('BAD_ARGUMENT', `the second look's gate must be in [0, 1] (got ${settings.gate})`);
    const hold = settings.holdChunks ?? DEFAULT_SECOND_LOOK_HOLD_CHUNKS;
    if (!Number.isInteger(hold) || hold < 1) throw new EarshotError('BAD_ARGUMENT', `the second look's hold must be a whole number of frames ≥ 1 (got ${hold})`);
    this.gate = settings.gate;
    this.holdChunks = hold;
  }

  /** Frame `chunk`'s best base score over the words the quiet gate did not skip (−∞ when it skipped all). */
  update(chunk: number, bestBase: number): boolean {
    if (bestBase >= this.gate) this.lastAtGate = chunk;
    const on = chunk - this.lastAtGate < this.holdChunks;
    if (on) {
      this.framesOn++;
      if (!this.wasOn) this.switchesOn++;
    }
    this.wasOn = on;
    return on;
  }

  reset(): void {
    this.lastAtGate = Number.NEGATIVE_INFINITY;
    this.wasOn = false;
  }
}
