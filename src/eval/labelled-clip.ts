/**
 * What the evaluation knows about a clip besides its audio: positives say where the wake phrase is, negatives
 * say whether they are near misses (phrases close to a wake word) or general audio (other speech, noise, tones).
 */
export interface PositiveClip {
  file: string;
  word: string;
  /** Where the phrase is in the clip (ms). Without it, a detection anywhere in the clip counts as the hit. */
  phraseStartMs?: number;
  phraseEndMs?: number;
  /** Grouping labels for the report (voice id, noise condition); free-form. */
  voiceId?: string;
  noise?: string;
  heldOut?: boolean;
}

export type NegativeKind = 'nearmiss' | 'general';

export interface NegativeClip {
  file: string;
  kind: NegativeKind;
  /** For a near miss: the wake word it sounds close to. */
  near?: string;
  voiceId?: string;
  heldOut?: boolean;
  durationMs: number;
}

/** A detection counts as the phrase's hit when it comes after the phrase starts and at most this long after it ends. */
export const HIT_WINDOW_AFTER_END_MS = 1000;
