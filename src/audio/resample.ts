/**
 * Sample-rate conversion to Earshot's 16 kHz, and channel downmix.
 *
 * A polyphase windowed-sinc (Kaiser) resampler for any pair of rates. The low-pass sits below the lower of the two
 * Nyquist frequencies: the passband reaches 90 % of it (7.2 kHz when producing 16 kHz) and the stopband starts at
 * it with ≥ 80 dB attenuation, so content above 8 kHz in a 44.1/48 kHz file cannot alias into the speech band,
 * and upsampling (8 kHz → 16 kHz) leaves no images. Rates whose reduced ratio L/M has L ≤ 1024 (every common
 * rate: 8000, 11025, 22050, 32000, 44100, 48000, 96000 …) are converted exactly; other ratios round the
 * fractional position to 1/1024 of an input sample, far below audibility.
 */

const STOPBAND_DB = 80;
/** Passband edge as a fraction of the lower Nyquist frequency. */
const PASSBAND_FRACTION = 0.9;
const MAX_PHASES = 1024;

interface Design {
  /** Output advances L steps for every M input samples (reduced ratio). */
  readonly up: number;
  readonly down: number;
  readonly phases: number;
  /** Kernel half-length in input samples; each phase has 2·half taps. */
  readonly half: number;
  /** phases × (2·half) coefficients, phase-major. */
  readonly table: Float32Array;
}

const designs = new Map<string, Design>();

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series), for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function designFor(inRate: number, outRate: number): Design {
  const key = `${inRate}>${outRate}`;
  const cached = designs.get(key);
  if (cached !== undefined) return cached;

  const g = gcd(inRate, outRate);
  const up = outRate / g;
  const down = inRate / g;
  const phases = Math.min(up, MAX_PHASES);

  const nyquistLow = Math.min(inRate, outRate) / 2;
  const passEdge = PASSBAND_FRACTION * nyquistLow;
  const cutoff = (passEdge + nyquistLow) / 2; // −6 dB point, middle of the transition band
  const transitionRad = (2 * Math.PI * (nyquistLow - passEdge)) / inRate;
  // Kaiser's estimate of the filter order for the wanted attenuation and transition width.
  const order = Math.ceil((STOPBAND_DB - 7.95) / (2.285 * transitionRad));
  const half = Math.max(2, Math.ceil(order / 2));
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const i0beta = besselI0(beta);
  const fc = cutoff / inRate; // cycles per input sample

  const taps = 2 * half;
  const table = new Float32Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let k = -half + 1; k <= half; k++) {
      const t = frac - k; // distance (input samples) from the output instant to input sample i+k
      const x = t / half;
      let h = 0;
      if (Math.abs(x) < 1) {
        const arg = 2 * fc * t;
        const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
        h = 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - x * x)) / i0beta);
      }
      table[p * taps + (k + half - 1)] = h;
      sum += h;
    }
    // Exact unity gain at DC for every phase (removes ripple from truncating the kernel).
    for (let j = 0; j < taps; j++) table[p * taps + j]! /= sum;
  }
  const d: Design = { up, down, phases, half, table };
  designs.set(key, d);
  return d;
}

/** Number of output samples `resample` produces for `inputLength` samples. */
export function resampledLength(inputLength: number, inRate: number, outRate: number): number {
  if (inRate === outRate) return inputLength;
  const g = gcd(inRate, outRate);
  return Math.ceil((inputLength * (outRate / g)) / (inRate / g));
}

/** Resamples a mono signal. Values keep their scale (int16-scale floats stay int16-scale). */
export function resample(input: ArrayLike<number>, inRate: number, outRate: number): Float32Array {
  if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
    throw new RangeError(`sample rates must be positive integers (got ${inRate} → ${outRate})`);
  }
  if (inRate === outRate) return Float32Array.from(input);
  const { up, down, phases, half, table } = designFor(inRate, outRate);
  const taps = 2 * half;
  const n = input.length;
  const out = new Float32Array(resampledLength(n, inRate, outRate));
  const x = input instanceof Float32Array ? input : Float32Array.from(input);

  let base = 0; // floor(position) in input samples
  let rem = 0; // position − base, in units of 1/up
  for (let o = 0; o < out.length; o++) {
    let phase = phases === up ? rem : Math.round((rem * phases) / up);
    let i = base;
    if (phase === phases) {
      phase = 0;
      i += 1;
    }
    const row = phase * taps;
    const first = i - half + 1;
    let acc = 0;
    if (first >= 0 && first + taps <= n) {
      for (let j = 0; j < taps; j++) acc += x[first + j]! * table[row + j]!;
    } else {
      // Near the edges the signal is taken as zero outside the input.
      const jStart = Math.max(0, -first);
      const jEnd = Math.min(taps, n - first);
      for (let j = jStart; j < jEnd; j++) acc += x[first + j]! * table[row + j]!;
    }
    out[o] = acc;
    rem += down;
    if (rem >= up) {
      base += Math.floor(rem / up);
      rem %= up;
    }
  }
  return out;
}

/** Rounds and clips int16-scale floats to int16. */
export function toInt16(samples: ArrayLike<number>): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]!);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

/** Resamples int16-scale audio to `outRate` and returns int16. */
export function resampleToInt16(input: ArrayLike<number>, inRate: number, outRate: number): Int16Array {
  return toInt16(inRate === outRate ? input : resample(input, inRate, outRate));
}

/** Averages channels into one (equal weights: no channel is assumed to be the talker's). */
export function downmixToMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return channels[0]!;
  const len = channels[0]!.length;
  const out = new Float32Array(len);
  for (const ch of channels) for (let i = 0; i < len; i++) out[i]! += ch[i]!;
  const scale = 1 / channels.length;
  for (let i = 0; i < len; i++) out[i]! *= scale;
  return out;
}

/**
 * The same resampler, fed in pieces: `push` returns every output sample whose kernel lies within the input seen
 * so far, `end` the rest (the signal is taken as zero after the end, as `resample` does). The concatenated output
 * equals `resample(whole input)` sample for sample, while memory stays at one kernel's length plus one piece.
 */
export class StreamResampler {
  private readonly design: Design | undefined;
  /** Input samples kept from absolute index `bufStart` on (what later outputs still need). */
  private buf = new Float32Array(0);
  private bufStart = 0;
  private received = 0;
  private base = 0;
  private rem = 0;
  private produced = 0;
  private ended = false;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`sample rates must be positive integers (got ${inRate} → ${outRate})`);
    }
    this.design = inRate === outRate ? undefined : designFor(inRate, outRate);
  }

  push(input: Float32Array): Float32Array {
    if (this.ended) throw new RangeError('StreamResampler.push after end');
    if (this.design === undefined) {
      this.received += input.length;
      return Float32Array.from(input);
    }
    const kept = this.buf.length;
    const next = new Float32Array(kept + input.length);
    next.set(this.buf);
    next.set(input, kept);
    this.buf = next;
    this.received += input.length;
    return this.run(false);
  }

  end(): Float32Array {
    this.ended = true;
    if (this.design === undefined) return new Float32Array(0);
    const out = this.run(true);
    this.buf = new Float32Array(0);
    return out;
  }

  private run(final: boolean): Float32Array {
    const { up, down, phases, half, table } = this.design!;
    const taps = 2 * half;
    const n = this.received;
    const total = resampledLength(n, this.inRate, this.outRate);
    const x = this.buf;
    const offset = this.bufStart;
    const estimate = Math.max(0, Math.ceil(((n - this.base) * up) / down) + 1);
    const out = new Float32Array(final ? Math.max(0, total - this.produced) : estimate);
    let count = 0;
    let base = this.base;
    let rem = this.rem;
    for (;;) {
      if (final ? this.produced + count >= total : count >= out.length) break;
      let phase = phases === up ? rem : Math.round((rem * phases) / up);
      let i = base;
      if (phase === phases) {
        phase = 0;
        i += 1;
      }
      if (!final && i + half >= n) break; // its kernel reaches past the input seen so far
      const row = phase * taps;
      const first = i - half + 1;
      let acc = 0;
      if (first >= 0 && first + taps <= n) {
        const o = first - offset;
        for (let j = 0; j < taps; j++) acc += x[o + j]! * table[row + j]!;
      } else {
        const jStart = Math.max(0, -first);
        const jEnd = Math.min(taps, n - first);
        for (let j = jStart; j < jEnd; j++) acc += x[first + j - offset]! * table[row + j]!;
      }
      out[count++] = acc;
      rem += down;
      if (rem >= up) {
        base += Math.floor(rem / up);
        rem %= up;
      }
    }
    this.base = base;
    this.rem = rem;
    this.produced += count;
    // Drop input no later output can reach (the next kernel starts at base − half + 1 or later).
    const keepFrom = Math.max(this.bufStart, Math.min(n, base - half + 1));
    if (keepFrom > this.bufStart) {
      this.buf = this.buf.slice(keepFrom - this.bufStart);
      this.bufStart = keepFrom;
    }
    return count === out.length ? out : out.slice(0, count);
  }
}
