import { seededRandom } from '../../src/wakeword/index.js';

/**
 * Synthetic verifier feature windows for app and CLI tests (no audio, no models): a "voice" is a cluster of
 * windows around its own centre; generic negatives are a broad cloud around the origin. Small windows (64
 * values) keep training fast; the store and the app do not care about the length, only that it is one length.
 */
export const TEST_FEATURE_DIM = 64;

/** `n` windows around `centre` (spread `spread`), seeded. */
export function windowsAround(centre: Float32Array, n: number, seed: number, spread = 0.3): Float32Array[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => centre.map((c) => c + (r() * 2 - 1) * spread));
}

/** A centre for a voice (or anything), seeded: values in [-1, 1]. */
export function centreOf(seed: number, dim = TEST_FEATURE_DIM): Float32Array {
  const r = seededRandom(seed * 7919);
  return Float32Array.from({ length: dim }, () => r() * 2 - 1);
}

export const VOICE = centreOf(1);
export const GENERIC_NEGATIVES: Float32Array[] = Array.from({ length: 40 }, (_, i) => windowsAround(centreOf(100 + i), 5, 200 + i, 0.5)).flat();

/** An enrolment of `clips` clips of a voice, each with a few windows around its peak. */
export function enrolmentOf(voice: Float32Array, clips = 3, seed = 1): { peakScore: number; windows: Float32Array[] }[] {
  return Array.from({ length: clips }, (_, i) => ({ peakScore: 0.6 + i / 20, windows: windowsAround(voice, 6, seed * 100 + i, 0.2) }));
}
