/**
 * One word's per-frame scores over one continuous piece of audio, as the detector saw them. Traces are what
 * evaluation keeps: a clip is scored once per setup (the expensive part), and every threshold is then judged
 * on the trace by the device's own DetectorState (cheap).
 */
export interface ScoreTrace {
  /** Audio time of each frame's end, ms since the piece started (increasing). */
  endMs: ArrayLike<number>;
  /** The word's score per frame (for a verified setup: the score after the verifier). */
  scores: ArrayLike<number>;
  /**
   * Per frame: the frame may count at all (the classifier was warm and, with a VAD gate, speech was heard
   * recently). Absent = every frame may count. A frame that may not count breaks a patience streak, exactly as
   * in DetectorState.
   */
  eligible?: ArrayLike<boolean>;
}

/** How the device turns scores into detections, besides the threshold. */
export interface DecisionRules {
  /** Consecutive frames at or above threshold needed to fire (default 1). */
  patienceFrames?: number;
  /** A word cannot fire again within this much audio time (default DEFAULT_REFRACTORY_MS). */
  refractoryMs?: number;
}

/** The length of one frame (80 ms): the hop of the openWakeWord pipeline. */
export const FRAME_MS = 80;

/** Audio length covered by a trace, in ms (frames × 80 ms). */
export function traceDurationMs(trace: ScoreTrace): number {
  return trace.scores.length * FRAME_MS;
}
