/** The verifier's probability that a window is its owner saying the wake word. */
import { EarshotError } from '../core/index.js';
import type { VerifierModel } from './verifier-model.js';

/** Numerically stable logistic function. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export function verifierLogit(model: VerifierModel, features: Float32Array): number {
  if (features.length !== model.featureDim) {
    throw new EarshotError('BAD_ARGUMENT', `verifier for ${model.wakeword} needs ${model.featureDim} features, got ${features.length}`);
  }
  const { mean, scale, weights } = model;
  let z = model.bias;
  for (let i = 0; i < features.length; i++) z += (weights[i]! * (features[i]! - mean[i]!)) / scale[i]!;
  return z;
}

export function verifierProbability(model: VerifierModel, features: Float32Array): number {
  return sigmoid(verifierLogit(model, features));
}
