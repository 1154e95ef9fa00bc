/**
 * The household verifier: a standardised, L2-regularised logistic regression on the wake-word classifier's
 * input window (openWakeWord's custom verifier does the same). Derived from a person's voice, so it is that
 * owner's personal data: callers seal it (see model-codec.ts for the bytes they seal).
 */
import { EarshotError } from '../core/index.js';

export interface VerifierModel {
  wakeword: string;
  /** Length of a feature vector: the classifier window (embeddings) × 96, flattened oldest embedding first. */
  featureDim: number;
  /** Standardisation learnt from the training set: x' = (x − mean) / scale. */
  mean: Float32Array;
  scale: Float32Array;
  /** Logistic regression on the standardised features: p = σ(weights · x' + bias). */
  weights: Float32Array;
  bias: number;
  /** The verifier is consulted only when the base score is at least this (gate ≤ the word's threshold). */
  gate: number;
  /** The threshold cvRecall was measured at (the word's threshold when it was trained). */
  threshold: number;
  /** Clock time (ms since the epoch) of training. */
  trainedAt: number;
  /** Distinct enrolment clips the positives came from. */
  clips: number;
  positives: number;
  negatives: number;
  /** Leave-one-clip-out cross-validated recall: share of enrolment clips accepted by a model trained without them. */
  cvRecall: number;
  /** L2 penalty on the weights (per unit of class-weighted mean loss). */
  l2: number;
}

export const MAX_FEATURE_DIM = 16 * 1024;
export const WAKEWORD_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Every rule a usable model obeys; `fail` makes the error (BAD_ARGUMENT for callers, INTEGRITY for decoded bytes). */
export function checkVerifierModel(m: VerifierModel, fail: (problem: string) => EarshotError = (p) => new EarshotError('BAD_ARGUMENT', `verifier model: ${p}`)): void {
  if (typeof m.wakeword !== 'string' || !WAKEWORD_NAME_RE.test(m.wakeword)) throw fail('wakeword must be a simple name of 1 to 64 characters');
  if (!Number.isInteger(m.featureDim) || m.featureDim < 1 || m.featureDim > MAX_FEATURE_DIM) throw fail(`featureDim must be an integer from 1 to ${MAX_FEATURE_DIM}`);
  for (const k of ['mean', 'scale', 'weights'] as const) {
    const a = m[k];
    if (!(a instanceof Float32Array) || a.length !== m.featureDim) throw fail(`${k} must be a Float32Array of featureDim (${m.featureDim}) values`);
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw fail(`${k}[${i}] is not finite`);
  }
  for (let i = 0; i < m.scale.length; i++) if (!(m.scale[i]! > 0)) throw fail(`scale[${i}] must be > 0`);
  if (!Number.isFinite(m.bias)) throw fail('bias must be finite');
  if (!(m.threshold > 0 && m.threshold <= 1)) throw fail('threshold must be in (0, 1]');
  if (!(m.gate >= 0 && m.gate <= m.threshold)) throw fail(`gate must be in [0, threshold] (gate ${m.gate}, threshold ${m.threshold})`);
  if (!Number.isSafeInteger(m.trainedAt) || m.trainedAt < 0) throw fail('trainedAt must be a non-negative integer (ms)');
  for (const k of ['clips', 'positives', 'negatives'] as const) {
    if (!Number.isSafeInteger(m[k]) || m[k] < 1 || m[k] > 0xffffffff) throw fail(`${k} must be a positive integer`);
  }
  if (!(m.cvRecall >= 0 && m.cvRecall <= 1)) throw fail('cvRecall must be in [0, 1]');
  if (!(m.l2 > 0 && Number.isFinite(m.l2))) throw fail('l2 must be a positive number');
}
