/**
 * When noise suppression is worth running: the room's noise floor, tracked as the quietest 80 ms chunk of
 * the last 2 s (speech has pauses; noise does not), decides. In a quiet room speex changes next to nothing
 * and would cost a sixth of the wake loop, so it is engaged only while the floor is at or above
 * `engageRms` and released when the floor drops below `releaseRms` (hysteresis, so a floor near the limit
 * does not toggle every chunk). While released, speex is not run and its noise estimate waits.
 *
 * Pure: a function of the chunks' RMS values in order, so the decision is the same however audio arrives.
 */
import { EarshotError } from '../core/index.js';

export interface NoiseFloorOptions {
  /** Floor RMS (int16 units) at which suppression engages. Default ≈ −50 dBFS. */
  engageRms?: number;
  /** Floor RMS below which it is released again. Default ≈ −56 dBFS (6 dB below the engage level). */
  releaseRms?: number;
  /** Chunks whose quietest one is the floor. Default 25 (2 s). */
  windowChunks?: number;
}

export const NOISE_FLOOR_DEFAULTS: Required<NoiseFloorOptions> = {
  engageRms: 104, // 32768 · 10^(−50/20)
  releaseRms: 52, // 32768 · 10^(−56/20)
  windowChunks: 25,
};

export class NoiseFloor {
  readonly engageRms: number;
  readonly releaseRms: number;
  private readonly window: Float64Array;
  private seen = 0;
  /** Suppression is engaged for the chunk just given to `update`. */
  engaged = false;

  constructor(opts: NoiseFloorOptions = {}) {
    const o = { ...NOISE_FLOOR_DEFAULTS, ...opts };
    if (!(o.engageRms > 0)) throw new EarshotError('BAD_ARGUMENT', `engageRms must be above 0 (got ${o.engageRms})`);
    if (!(o.releaseRms > 0 && o.releaseRms <= o.engageRms)) throw new EarshotError('BAD_ARGUMENT', `releaseRms must be above 0 and at most engageRms ${o.engageRms} (got ${o.releaseRms})`);
    if (!Number.isInteger(o.windowChunks) || o.windowChunks < 1) throw new EarshotError('BAD_ARGUMENT', `windowChunks must be a whole number ≥ 1 (got ${o.windowChunks})`);
    this.engageRms = o.engageRms;
    this.releaseRms = o.releaseRms;
    this.window = new Float64Array(o.windowChunks);
  }

  /** The quietest chunk RMS of the window (of the chunks seen so far, at the start). */
  get floorRms(): number {
    const n = Math.min(this.seen, this.window.length);
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (this.window[i]! < min) min = this.window[i]!;
    return n === 0 ? 0 : min;
  }

  /** Takes the next chunk's RMS; returns whether suppression is engaged for that chunk. */
  update(rms: number): boolean {
    this.window[this.seen % this.window.length] = rms;
    this.seen++;
    const floor = this.floorRms;
    if (this.engaged) this.engaged = floor >= this.releaseRms;
    else this.engaged = floor >= this.engageRms;
    return this.engaged;
  }

  reset(): void {
    this.window.fill(0);
    this.seen = 0;
    this.engaged = false;
  }
}

/** RMS of int16 samples. */
export function rmsOf(samples: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}
