/** Public API of the evaluation side: score traces, detections judged by the device's DetectorState, threshold recommendation. */
export { FRAME_MS, traceDurationMs, type ScoreTrace, type DecisionRules } from './score-trace.js';
export { detectionsOfTrace, firingScore, type TraceDetection } from './detections.js';
export {
  recommendThreshold,
  type ThresholdInputs,
  type ThresholdPoint,
  type ThresholdRecommendation,
} from './recommend-threshold.js';
