/**
 * Public API of the household verifier: a small per-owner, per-word logistic regression on the wake-word
 * classifier's input window that decides once the base score passes a low gate (issue 13 §3). Pure: no I/O
 * except reading the shipped generic negatives through the model manifest.
 */
export { checkVerifierModel, MAX_FEATURE_DIM, type VerifierModel } from './verifier-model.js';
export { verifierProbability, verifierLogit } from './verifier-probability.js';
export { trainVerifier, DEFAULT_VERIFIER_GATE, DEFAULT_VERIFIER_L2, DEFAULT_VERIFIER_THRESHOLD, type TrainingSet, type TrainVerifierOptions, type TrainingProgress, DEFAULT_VERIFIER_POSITIVE_SHARE } from './train-verifier.js';
export { enrolmentGate, LOW_VERIFIER_GATE } from './verifier-gate.js';
export { encodeVerifierModel, decodeVerifierModel, VERIFIER_MODEL_VERSION } from './model-codec.js';
export { genericNegatives, encodeNegativeRuns, decodeNegativeRuns, windowsOfRuns, type NegativeRuns } from './generic-negatives.js';
export { minimizeLbfgs, type LbfgsOptions, type LbfgsResult } from './lbfgs.js';
