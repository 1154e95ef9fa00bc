/**
 * Public API of the evaluation side: score traces judged by the device's DetectorState, per-word evaluation
 * (misses, false accepts per hour, near-miss fires, latency), threshold sweeps, the DET plot, threshold
 * recommendation, setups, and the corpus-driven run behind `earshot eval`.
 */
export { FRAME_MS, traceDurationMs, type ScoreTrace, type DecisionRules } from './score-trace.js';
export { detectionsOfTrace, firingScore, type TraceDetection } from './detections.js';
export {
  recommendThreshold,
  type ThresholdInputs,
  type ThresholdPoint,
  type ThresholdRecommendation,
} from './recommend-threshold.js';
export { HIT_WINDOW_AFTER_END_MS, type PositiveClip, type NegativeClip, type NegativeKind } from './labelled-clip.js';
export { evaluateWord, sweepWord, DEFAULT_GRID, type WordEvaluation, type SweepPoint, type ScoredPositive, type ScoredNegative } from './word-evaluation.js';
export { detPlotSvg, type DetPlotOptions, type DetPanel, type DetSeries } from './det-plot.js';
export { parseSetup, referenceSetup, defaultSetup, thresholdOf, rulesOf, scoringKey, unverified, withOwner, type EvalSetup, type OwnerWakeView, type ScoringKey } from './eval-setup.js';
export { readPositives, readNegatives, INDEX_FILE, type VoiceSplit } from './corpus-index.js';
export { traceClips, consultsVerifier, TRACE_DIR, type ClipTraces, type TraceStoreOptions } from './trace-store.js';
export { runEvaluation, reportedSetup, type EvaluationRequest, type EvaluationReport, type ReportedSetup, type SetupWordResult } from './run-evaluation.js';
