/**
 * Detections of one trace at one threshold, decided by the device's DetectorState (patience, refractory,
 * eligibility), so evaluation judges exactly what the device would do.
 */
import { EarshotError } from '../core/index.js';
import { DetectorState } from '../wakeword/index.js';
import type { DecisionRules, ScoreTrace } from './score-trace.js';

export interface TraceDetection {
  /** Audio time of the detecting frame's end (ms). */
  atMs: number;
  score: number;
  /** Index of the detecting frame in the trace. */
  frame: number;
}

const TRACE_WORD = 'word';

export function detectionsOfTrace(trace: ScoreTrace, threshold: number, rules: DecisionRules = {}): TraceDetection[] {
  if (trace.endMs.length !== trace.scores.length || (trace.eligible && trace.eligible.length !== trace.scores.length)) {
    throw new EarshotError('BAD_ARGUMENT', 'a score trace needs as many endMs (and eligible) entries as scores');
  }
  const state = new DetectorState({
    words: [{ name: TRACE_WORD, threshold }],
    ...(rules.patienceFrames !== undefined ? { patienceFrames: rules.patienceFrames } : {}),
    ...(rules.refractoryMs !== undefined ? { refractoryMs: rules.refractoryMs } : {}),
  });
  const scores = new Float64Array(1);
  const warm = [true];
  const out: TraceDetection[] = [];
  for (let i = 0; i < trace.scores.length; i++) {
    scores[0] = trace.scores[i]!;
    warm[0] = trace.eligible ? trace.eligible[i] === true : true;
    for (const d of state.onFrame({ endMs: trace.endMs[i]!, scores, warm })) out.push({ atMs: d.atMs, score: d.score, frame: i });
  }
  return out;
}

/**
 * The highest threshold at which the trace still fires at least once (0 when it never can). With patience P
 * this is the best P-frame run's minimum over eligible frames; refractory cannot stop a first detection.
 */
export function firingScore(trace: ScoreTrace, rules: DecisionRules = {}): number {
  const p = rules.patienceFrames ?? 1;
  let best = 0;
  const run: number[] = [];
  for (let i = 0; i < trace.scores.length; i++) {
    if (trace.eligible && trace.eligible[i] !== true) {
      run.length = 0;
      continue;
    }
    run.push(trace.scores[i]!);
    if (run.length > p) run.shift();
    if (run.length === p) best = Math.max(best, Math.min(...run));
  }
  return best;
}
