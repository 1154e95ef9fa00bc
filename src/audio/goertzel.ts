/**
 * Finds a pure tone in audio: the demo and the privacy tests use it to prove that a marker tone played
 * before the wake word appears in no capture.
 */
import { SAMPLE_RATE } from '../core/index.js';

/** Share (0..1) of a window's energy that lies at `hz` (Goertzel), 1 for a pure tone at that frequency. */
export function toneShare(pcm: Int16Array, hz: number, sampleRate = SAMPLE_RATE): number {
  const n = pcm.length;
  if (n === 0) return 0;
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = pcm[i]!;
    energy += x * x;
    const s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  if (energy === 0) return 0;
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  // A pure sinusoid of n samples gives power ≈ energy · n / 2.
  return Math.min(1, (2 * power) / (n * energy));
}

/**
 * Longest run (ms) of consecutive 50 ms windows in which the tone dominates (share ≥ minShare) and is
 * audible (RMS ≥ minRms). A 0.5 s marker gives about 500; speech gives 0–50.
 */
export function longestToneMs(pcm: Int16Array, hz: number, opts: { minShare?: number; minRms?: number; sampleRate?: number } = {}): number {
  const sr = opts.sampleRate ?? SAMPLE_RATE;
  const win = Math.round(sr * 0.05);
  const minShare = opts.minShare ?? 0.6;
  const minRms = opts.minRms ?? 100;
  let best = 0;
  let run = 0;
  for (let start = 0; start + win <= pcm.length; start += win) {
    const w = pcm.subarray(start, start + win);
    let e = 0;
    for (let i = 0; i < w.length; i++) e += w[i]! * w[i]!;
    const rms = Math.sqrt(e / w.length);
    if (rms >= minRms && toneShare(w, hz, sr) >= minShare) {
      run += 50;
      if (run > best) best = run;
    } else run = 0;
  }
  return best;
}
