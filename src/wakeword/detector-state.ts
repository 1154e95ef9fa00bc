/**
 * Pure decision logic on top of per-frame scores (no ONNX, no audio): per-word threshold, patience (N
 * consecutive frames at or above threshold), per-word refractory period, warm-up, and an optional VAD gate
 * (only fire when speech was heard within the last `vadWindowMs`).
 */
import { EarshotError } from '../core/index.js';

export interface WakeDetection {
  wakeword: string;
  score: number;
  /** Audio time of the detecting frame's end, ms since the stream started. */
  atMs: number;
  /** The base model's score at the detecting frame (differs from `score` when a verifier decided). */
  baseScore?: number;
  /** The classifier window of the best phase at the detecting frame (window × 96): the verifier's features. */
  features?: Float32Array;
}

export interface DetectorWord {
  name: string;
  threshold: number;
}

export interface DetectorStateOptions {
  words: DetectorWord[];
  /** Consecutive frames at or above threshold needed to fire (≥ 1). */
  patienceFrames?: number;
  /** After a word fires it cannot fire again for this long (audio time). */
  refractoryMs?: number;
  /** When true, a frame only counts if speech was noted within the last vadWindowMs. */
  vadGate?: boolean;
  vadWindowMs?: number;
}

export interface FrameInput {
  endMs: number;
  scores: ArrayLike<number>;
  /** Per word: the classifier saw real audio only. Frames that are not warm never count. */
  warm?: ArrayLike<boolean>;
}

export const DEFAULT_REFRACTORY_MS = 2000;
export const DEFAULT_VAD_WINDOW_MS = 1000;

export class DetectorState {
  readonly words: DetectorWord[];
  readonly patienceFrames: number;
  readonly refractoryMs: number;
  readonly vadGate: boolean;
  readonly vadWindowMs: number;
  private readonly streak: number[];
  private readonly lastFiredMs: number[];
  private lastSpeechMs = Number.NEGATIVE_INFINITY;

  constructor(opts: DetectorStateOptions) {
    if (opts.words.length === 0) throw new EarshotError('BAD_ARGUMENT', 'at least one wake word is needed');
    for (const w of opts.words) {
      if (!(w.threshold > 0 && w.threshold <= 1)) throw new EarshotError('BAD_ARGUMENT', `threshold of ${w.name} must be in (0, 1] (got ${w.threshold})`);
    }
    this.words = opts.words.map((w) => ({ ...w }));
    this.patienceFrames = opts.patienceFrames ?? 1;
    if (!Number.isInteger(this.patienceFrames) || this.patienceFrames < 1) throw new EarshotError('BAD_ARGUMENT', 'patienceFrames must be an integer ≥ 1');
    this.refractoryMs = opts.refractoryMs ?? DEFAULT_REFRACTORY_MS;
    if (!(this.refractoryMs >= 0)) throw new EarshotError('BAD_ARGUMENT', 'refractoryMs must be ≥ 0');
    this.vadGate = opts.vadGate ?? false;
    this.vadWindowMs = opts.vadWindowMs ?? DEFAULT_VAD_WINDOW_MS;
    this.streak = opts.words.map(() => 0);
    this.lastFiredMs = opts.words.map(() => Number.NEGATIVE_INFINITY);
  }

  /** The VAD heard speech in audio ending at `atMs`. */
  noteSpeech(atMs: number): void {
    if (atMs > this.lastSpeechMs) this.lastSpeechMs = atMs;
  }

  /** Decides one frame; returns the detections it causes (usually none). */
  onFrame(frame: FrameInput): readonly WakeDetection[] {
    let out: WakeDetection[] | undefined;
    const speechOk = !this.vadGate || frame.endMs - this.lastSpeechMs <= this.vadWindowMs;
    for (let w = 0; w < this.words.length; w++) {
      const word = this.words[w]!;
      const score = frame.scores[w] ?? 0;
      const warm = frame.warm === undefined ? true : frame.warm[w] === true;
      if (!warm || !speechOk || score < word.threshold) {
        this.streak[w] = 0;
        continue;
      }
      this.streak[w]!++;
      if (this.streak[w]! < this.patienceFrames) continue;
      if (frame.endMs - this.lastFiredMs[w]! < this.refractoryMs) continue;
      this.lastFiredMs[w] = frame.endMs;
      this.streak[w] = 0;
      (out ??= []).push({ wakeword: word.name, score, atMs: frame.endMs });
    }
    return out ?? NONE;
  }

  reset(): void {
    this.streak.fill(0);
    this.lastFiredMs.fill(Number.NEGATIVE_INFINITY);
    this.lastSpeechMs = Number.NEGATIVE_INFINITY;
  }
}

const NONE: readonly WakeDetection[] = Object.freeze([]);
