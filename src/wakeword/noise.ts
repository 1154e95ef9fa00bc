/**
 * The reference seeds its embedding buffer with embeddings of random int16 noise in [-1000, 1000).
 * We use a fixed-seed generator so every run (and every test) starts from the same state: scores are
 * reproducible, which the faithfulness and gating tests rely on.
 */
import { NOISE_AMPLITUDE, NOISE_SAMPLES } from './constants.js';

/** mulberry32: a tiny, well-known 32-bit PRNG; quality is irrelevant here, determinism is the point. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const NOISE_SEED = 0x0e45_0001;

/** 4 s of integer noise in [-1000, 1000), as the float32 the mel model takes (values not normalised). */
export function warmupNoise(seed: number = NOISE_SEED): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(NOISE_SAMPLES);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rnd() * 2 * NOISE_AMPLITUDE) - NOISE_AMPLITUDE;
  return out;
}
