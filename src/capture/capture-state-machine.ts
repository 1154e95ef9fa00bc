/**
 * Post-wake capture, as a pure state machine (no I/O, no ONNX, no timers: time is counted in samples).
 *
 *   listening ──wake──▶ awaiting-speech ──speech──▶ capturing ──trailing silence / max length──▶ finished
 *                            │                                                                   (→ listening)
 *                            └── no speech within noSpeechTimeoutMs (or max length) ──▶ discarded (→ listening)
 *
 * Privacy: while listening the machine holds no audio at all; `push` does not even look at the frame. Audio is
 * copied only from the first frame *after* the wake event, into a buffer allocated at the wake and zero-filled
 * when the capture finishes or is discarded.
 *
 * Input, per 1280-sample frame after a wake: the frame plus the VAD speech probability of each 640-sample half
 * (Silero's chunk size), i.e. `push(frame, [pFirstHalf, pSecondHalf])`. Any frame that is a multiple of 640
 * samples works (one probability per 640 samples).
 *
 * Decisions:
 * - A chunk is speech when p ≥ vadThreshold. Silence starts at the first chunk with p < vadThreshold − 0.15
 *   (Silero's own hysteresis), so a wavering probability neither ends a command nor extends it forever.
 * - End of speech: `endSilenceMs` (700 ms) of silence after speech. Pauses shorter than that keep the capture going.
 * - Trailing silence is trimmed to `trailingKeepMs` (200 ms) after the last speech: enough to not clip a word's
 *   decay, without storing most of the 700 ms of room noise that ended the command.
 * - Audio between the wake and the start of speech is kept (the command often starts at once, softly).
 * - `maxMs` caps the capture (counted from the first post-wake sample); a frame crossing the cap is cut at it.
 * - A wake event while a capture is in progress is ignored (`wake` returns false): the ongoing command is
 *   already being captured, and a second wake word inside it is part of that command.
 */
import { randomUUID } from 'node:crypto';
import { SAMPLE_RATE, VAD_CHUNK_SAMPLES } from '../core/index.js';
import { systemClock, type Clock } from '../core/index.js';
import { EarshotError } from '../core/index.js';
import type { Capture } from '../core/index.js';

export { VAD_CHUNK_SAMPLES };
/** How far below vadThreshold a probability must fall to count as silence. */
export const SILENCE_HYSTERESIS = 0.15;

export interface CaptureSettings {
  endSilenceMs: number;
  maxMs: number;
  noSpeechTimeoutMs: number;
  vadThreshold: number;
  /** Silence kept after the last speech when a capture ends on silence. Default 200 ms. */
  trailingKeepMs?: number;
}

export interface WakeEvent {
  readonly wakeword: string;
  readonly score: number;
  /** Audio time (ms since stream start) of the end of the detecting frame. */
  readonly atMs: number;
  /** Wall clock (epoch ms) at which the first post-wake sample was recorded; default: clock.now() at `wake`. */
  readonly wallMs?: number;
}

export type CaptureState = 'listening' | 'awaiting-speech' | 'capturing';

export type DiscardReason = 'no-speech' | 'stream-end';

export type CaptureStep =
  /** Listening: the frame was ignored and not kept. */
  | { readonly kind: 'idle' }
  /** After a wake, no speech yet; the frame was kept. */
  | { readonly kind: 'awaiting-speech' }
  /** Speech has started; the frame was kept. */
  | { readonly kind: 'capturing' }
  | { readonly kind: 'finished'; readonly capture: Capture }
  /** The capture was dropped and its audio overwritten. */
  | { readonly kind: 'discarded'; readonly reason: DiscardReason; readonly wakeword: string; readonly wakeAtMs: number; readonly afterMs: number };

interface Active {
  readonly wake: WakeEvent;
  readonly startedAt: number;
  readonly buffer: Int16Array;
  written: number;
  hadSpeech: boolean;
  /** Sample index where the current run of silence started (undefined while speech continues). */
  silenceStart: number | undefined;
}

const msToSamples = (ms: number) => Math.round((ms * SAMPLE_RATE) / 1000);

export class CaptureStateMachine {
  private readonly maxSamples: number;
  private readonly endSilenceSamples: number;
  private readonly noSpeechSamples: number;
  private readonly keepSamples: number;
  private readonly speechThreshold: number;
  private readonly silenceThreshold: number;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private active: Active | undefined;

  constructor(settings: CaptureSettings, opts: { clock?: Clock; newId?: () => string } = {}) {
    const { endSilenceMs, maxMs, noSpeechTimeoutMs, vadThreshold } = settings;
    for (const [k, v] of Object.entries({ endSilenceMs, maxMs, noSpeechTimeoutMs })) {
      if (!(Number.isFinite(v) && v > 0)) throw new EarshotError('BAD_ARGUMENT', `capture.${k} must be a positive number of ms (got ${v})`);
    }
    if (!(vadThreshold > 0 && vadThreshold < 1)) throw new EarshotError('BAD_ARGUMENT', `capture.vadThreshold must be between 0 and 1 (got ${vadThreshold})`);
    this.maxSamples = msToSamples(maxMs);
    this.endSilenceSamples = msToSamples(endSilenceMs);
    this.noSpeechSamples = msToSamples(noSpeechTimeoutMs);
    this.keepSamples = msToSamples(settings.trailingKeepMs ?? 200);
    this.speechThreshold = vadThreshold;
    this.silenceThreshold = Math.max(0.01, vadThreshold - SILENCE_HYSTERESIS);
    this.clock = opts.clock ?? systemClock;
    this.newId = opts.newId ?? randomUUID;
  }

  get state(): CaptureState {
    if (this.active === undefined) return 'listening';
    return this.active.hadSpeech ? 'capturing' : 'awaiting-speech';
  }

  /** True after a wake until the capture ends: only then must the caller run the VAD and `push` frames. */
  get wantsAudio(): boolean {
    return this.active !== undefined;
  }

  /** Samples of audio currently held (0 whenever listening). */
  get heldSamples(): number {
    return this.active?.written ?? 0;
  }

  /** Starts a capture with the frames that follow. Ignored (false) while a capture is in progress. */
  wake(event: WakeEvent): boolean {
    if (this.active !== undefined) return false;
    this.active = {
      wake: event,
      startedAt: event.wallMs ?? this.clock.now(),
      buffer: new Int16Array(this.maxSamples),
      written: 0,
      hadSpeech: false,
      silenceStart: undefined,
    };
    return true;
  }

  /**
   * Feeds one post-wake frame with one VAD speech probability per 640 samples (in order). While listening the
   * frame is ignored. Samples after the capture ends within this frame are not kept.
   */
  push(frame: Int16Array, speechProbs: ArrayLike<number>): CaptureStep {
    const a = this.active;
    if (a === undefined) return { kind: 'idle' };
    const chunks = Math.ceil(frame.length / VAD_CHUNK_SAMPLES);
    if (speechProbs.length !== chunks) {
      throw new EarshotError('BAD_ARGUMENT', `capture needs one VAD probability per ${VAD_CHUNK_SAMPLES} samples: ${frame.length} samples, ${speechProbs.length} probabilities`);
    }
    for (let c = 0; c < chunks; c++) {
      const chunk = frame.subarray(c * VAD_CHUNK_SAMPLES, Math.min(frame.length, (c + 1) * VAD_CHUNK_SAMPLES));
      const room = this.maxSamples - a.written;
      const take = Math.min(room, chunk.length);
      a.buffer.set(chunk.subarray(0, take), a.written);
      const chunkStart = a.written;
      a.written += take;

      const p = speechProbs[c]!;
      if (p >= this.speechThreshold) {
        a.hadSpeech = true;
        a.silenceStart = undefined;
      } else if (a.hadSpeech && p < this.silenceThreshold && a.silenceStart === undefined) {
        a.silenceStart = chunkStart;
      }

      if (a.hadSpeech && a.silenceStart !== undefined && a.written - a.silenceStart >= this.endSilenceSamples) {
        return this.finish('end-of-speech');
      }
      if (a.written >= this.maxSamples) {
        return a.hadSpeech ? this.finish('max-length') : this.discard('no-speech');
      }
      if (!a.hadSpeech && a.written >= this.noSpeechSamples) return this.discard('no-speech');
    }
    return { kind: a.hadSpeech ? 'capturing' : 'awaiting-speech' };
  }

  /** The audio stream ended: a capture with speech is kept ('stream-end'), one without is discarded. */
  end(): CaptureStep {
    const a = this.active;
    if (a === undefined) return { kind: 'idle' };
    return a.hadSpeech ? this.finish('stream-end') : this.discard('stream-end');
  }

  /** Drops any capture in progress, overwriting its audio (e.g. at shutdown or on an owner change). */
  cancel(): void {
    if (this.active === undefined) return;
    this.active.buffer.fill(0);
    this.active = undefined;
  }

  private finish(endReason: Capture['endReason']): CaptureStep {
    const a = this.active!;
    let length = a.written;
    if (a.silenceStart !== undefined && endReason !== 'max-length') {
      length = Math.min(a.written, a.silenceStart + this.keepSamples);
    }
    const pcm = a.buffer.slice(0, length);
    const capture: Capture = {
      id: this.newId(),
      wakeword: a.wake.wakeword,
      score: a.wake.score,
      startedAt: a.startedAt,
      wakeAtMs: a.wake.atMs,
      durationMs: (length / SAMPLE_RATE) * 1000,
      endReason,
      pcm,
    };
    this.cancel();
    return { kind: 'finished', capture };
  }

  private discard(reason: DiscardReason): CaptureStep {
    const a = this.active!;
    const step: CaptureStep = {
      kind: 'discarded',
      reason,
      wakeword: a.wake.wakeword,
      wakeAtMs: a.wake.atMs,
      afterMs: (a.written / SAMPLE_RATE) * 1000,
    };
    this.cancel();
    return step;
  }
}
