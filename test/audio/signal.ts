/** Small signal helpers for the audio tests. */

export function sine(freq: number, rate: number, seconds: number, amplitude = 16384, phase = 0): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return out;
}

/** Amplitude of the `freq` component (single-bin DFT over the whole signal, Hann-windowed, gain-corrected). */
export function toneAmplitude(x: ArrayLike<number>, rate: number, freq: number): number {
  const n = x.length;
  let re = 0;
  let im = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const a = (2 * Math.PI * freq * i) / rate;
    re += w * x[i]! * Math.cos(a);
    im -= w * x[i]! * Math.sin(a);
    wsum += w;
  }
  return (2 * Math.hypot(re, im)) / wsum;
}

/** Frequency estimated from rising zero crossings (linear interpolation between samples). */
export function zeroCrossingFrequency(x: ArrayLike<number>, rate: number): number {
  const crossings: number[] = [];
  for (let i = 1; i < x.length; i++) {
    const a = x[i - 1]!;
    const b = x[i]!;
    if (a < 0 && b >= 0) crossings.push(i - 1 + -a / (b - a));
  }
  if (crossings.length < 2) return 0;
  const periods = crossings.length - 1;
  return (periods * rate) / (crossings[crossings.length - 1]! - crossings[0]!);
}

export function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length));
}

/** Middle part of a signal (drops filter edge effects). */
export function middle<T extends { subarray(a: number, b: number): T; length: number }>(x: T, dropFraction = 0.1): T {
  const d = Math.floor(x.length * dropFraction);
  return x.subarray(d, x.length - d);
}

/** The chunks of a stream joined back into one array. */
export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
