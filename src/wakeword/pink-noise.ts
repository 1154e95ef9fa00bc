/**
 * Deterministic pink-noise copies of an enrolment clip (issue 13: the verifier learns the owner's voice in noise
 * too). Exactly the study's definition (scripts/verifier-defaults-corpus.mjs --augment), so its measured numbers
 * apply: mulberry32 white noise through Paul Kellet's pink filter, scaled to unit RMS, mixed in at `snrDb` below
 * the clip's active speech level — the RMS over the 20 ms blocks within 20 dB of the loudest block.
 * Pure: the copy is a new array, nothing is kept.
 */
import { EarshotError } from '../core/index.js';
import { seededRandom } from './noise.js';

/** 20 ms at 16 kHz: the blocks the speech level is measured on. */
const LEVEL_BLOCK = 320;
/** A block counts as speech when its power is within 20 dB (×100) of the loudest block's. */
const ACTIVE_RANGE = 100;

/** `n` samples of seeded pink noise with unit RMS. */
export function pinkNoise(n: number, seed: number): Float64Array {
  const rand = seededRandom(seed);
  const out = new Float64Array(n);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (let i = 0; i < n; i++) {
    const w = rand() * 2 - 1;
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  let p = 0;
  for (const x of out) p += x * x;
  const k = n > 0 && p > 0 ? 1 / Math.sqrt(p / n) : 0;
  for (let i = 0; i < n; i++) out[i]! *= k;
  return out;
}

/** RMS of the clip's active part (20 ms blocks within 20 dB of the loudest); 0 for silence or a clip under 20 ms. */
export function activeSpeechLevel(pcm16: Int16Array): number {
  const powers: number[] = [];
  for (let i = 0; i + LEVEL_BLOCK <= pcm16.length; i += LEVEL_BLOCK) {
    let p = 0;
    for (let j = i; j < i + LEVEL_BLOCK; j++) p += pcm16[j]! * pcm16[j]!;
    powers.push(p / LEVEL_BLOCK);
  }
  const max = powers.reduce((m, p) => Math.max(m, p), 0);
  if (max === 0) return 0;
  const active = powers.filter((p) => p >= max / ACTIVE_RANGE);
  return Math.sqrt(active.reduce((s, p) => s + p, 0) / active.length);
}

/** The clip with seeded pink noise at `snrDb` below its active speech level (clipped to int16). */
export function withPinkNoise(pcm16: Int16Array, snrDb: number, seed: number): Int16Array {
  if (!Number.isFinite(snrDb)) throw new EarshotError('BAD_ARGUMENT', `a signal-to-noise ratio must be a number of dB (got ${snrDb})`);
  const noise = pinkNoise(pcm16.length, seed);
  const gain = activeSpeechLevel(pcm16) / 10 ** (snrDb / 20);
  const out = new Int16Array(pcm16.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(pcm16[i]! + gain * noise[i]!)));
  return out;
}
