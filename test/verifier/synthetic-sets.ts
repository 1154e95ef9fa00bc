/** Deterministic synthetic training sets for the verifier's pure tests (no audio, no models). */
import type { TrainingSet } from '../../src/verifier/index.js';

/** A small seeded PRNG (mulberry32) and a Gaussian from it (Box–Muller). */
export function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Positives around +shift on the first `informative` dimensions, negatives around −shift there; every other
 * dimension is the same noise for both classes (what the verifier must learn to ignore).
 */
export function separableSet(opts: { dim: number; positives: number; negatives: number; clips: number; shift?: number; informative?: number; seed?: number }): TrainingSet {
  const g = gaussian(opts.seed ?? 1);
  const shift = opts.shift ?? 1.5;
  const informative = opts.informative ?? 8;
  const row = (sign: number): Float32Array => {
    const r = new Float32Array(opts.dim);
    for (let j = 0; j < opts.dim; j++) r[j] = g() * 2 + 3 + (j < informative ? sign * shift : 0);
    return r;
  };
  const positives = Array.from({ length: opts.positives }, () => row(1));
  const negatives = Array.from({ length: opts.negatives }, () => row(-1));
  return { positives, positiveClip: positives.map((_, i) => i % opts.clips), negatives };
}
