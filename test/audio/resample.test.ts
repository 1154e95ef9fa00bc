import { describe, it, expect } from 'vitest';
import { downmixToMono, resample, resampledLength, resampleToInt16 } from '../../src/audio/resample.js';
import { middle, rms, sine, toneAmplitude, zeroCrossingFrequency } from './signal.js';

const AMP = 16384;

describe('resample to 16 kHz', () => {
  for (const rate of [8000, 11025, 22050, 32000, 44100, 48000, 96000]) {
    it(`keeps a 1 kHz tone's frequency and amplitude from ${rate} Hz`, () => {
      const out = resample(sine(1000, rate, 1, AMP), rate, 16000);
      expect(out.length).toBe(16000);
      const mid = middle(out);
      expect(zeroCrossingFrequency(mid, 16000)).toBeCloseTo(1000, 1);
      expect(toneAmplitude(mid, 16000, 1000) / AMP).toBeCloseTo(1, 2);
    });
  }

  it('keeps a sample-exact phase (no delay): resampled sine matches the ideal 16 kHz sine', () => {
    const out = resample(sine(440, 48000, 0.5, AMP), 48000, 16000);
    const ideal = sine(440, 16000, 0.5, AMP);
    const err = new Float32Array(out.length).map((_, i) => out[i]! - ideal[i]!);
    expect(rms(middle(err)) / AMP).toBeLessThan(1e-3);
  });

  it('passes 7 kHz from 48 kHz (inside the speech band)', () => {
    const out = middle(resample(sine(7000, 48000, 1, AMP), 48000, 16000));
    expect(toneAmplitude(out, 16000, 7000) / AMP).toBeGreaterThan(0.97);
  });

  it('removes 10 kHz from 48 kHz instead of aliasing it to 6 kHz', () => {
    const out = middle(resample(sine(10_000, 48000, 1, AMP), 48000, 16000));
    // Naive decimation would put a full-amplitude tone at 16 − 10 = 6 kHz.
    expect(toneAmplitude(out, 16000, 6000) / AMP).toBeLessThan(1e-3);
    expect(rms(out) / AMP).toBeLessThan(1e-3);
  });

  it('removes 9 kHz from 44.1 kHz (just above the new Nyquist)', () => {
    const out = middle(resample(sine(9000, 44100, 1, AMP), 44100, 16000));
    expect(rms(out) / AMP).toBeLessThan(1e-3);
  });

  it('upsampling 8 kHz leaves no image: a 3 kHz tone does not reappear at 5 kHz', () => {
    const out = middle(resample(sine(3000, 8000, 1, AMP), 8000, 16000));
    expect(toneAmplitude(out, 16000, 3000) / AMP).toBeCloseTo(1, 2);
    expect(toneAmplitude(out, 16000, 5000) / AMP).toBeLessThan(1e-3);
  });

  it('handles a rate with no small ratio (44 056 Hz) via phase rounding', () => {
    const out = resample(sine(1000, 44056, 1, AMP), 44056, 16000);
    expect(out.length).toBe(resampledLength(44056, 44056, 16000));
    const mid = middle(out);
    expect(zeroCrossingFrequency(mid, 16000)).toBeCloseTo(1000, 1);
    expect(toneAmplitude(mid, 16000, 1000) / AMP).toBeCloseTo(1, 2);
  });

  it('preserves DC exactly in the middle and handles tiny inputs', () => {
    const out = resample(new Float32Array(4410).fill(1234), 44100, 16000);
    for (const v of middle(out, 0.2)) expect(v).toBeCloseTo(1234, 2);
    expect(resample([5], 48000, 16000).length).toBe(1);
    expect(resample([], 48000, 16000).length).toBe(0);
  });

  it('resampleToInt16 rounds and clips; equal rates copy', () => {
    expect(Array.from(resampleToInt16([1.4, -1.6, 40000, -40000], 16000, 16000))).toEqual([1, -2, 32767, -32768]);
  });

  it('rejects non-integer rates', () => {
    expect(() => resample([1, 2], 44100.5, 16000)).toThrow(RangeError);
  });
});

describe('downmixToMono', () => {
  it('averages any number of channels; mono passes through', () => {
    const a = Float32Array.from([3, 6]);
    expect(downmixToMono([a])).toBe(a);
    expect(Array.from(downmixToMono([Float32Array.from([3, 6]), Float32Array.from([0, 0]), Float32Array.from([0, 3])]))).toEqual([1, 3]);
  });
});

describe('StreamResampler (the same resampler fed in pieces)', () => {
  for (const [inRate, sizes] of [
    [48000, [1, 7, 1280, 4096, 333]],
    [44100, [100, 1, 16384]],
    [8000, [3, 640, 5]],
    [22050, [4410]],
    [16000, [17, 1000]],
  ] as [number, number[]][]) {
    it(`equals resample() of the whole signal, sample for sample, from ${inRate} Hz in pieces of ${sizes.join('/')}`, async () => {
      const { StreamResampler } = await import('../../src/audio/resample.js');
      const x = sine(997, inRate, 0.7, AMP).map((v, i) => v + ((i * 7919) % 211) - 105);
      const whole = resample(x, inRate, 16000);
      const r = new StreamResampler(inRate, 16000);
      const parts: Float32Array[] = [];
      let pos = 0;
      for (let k = 0; pos < x.length; k++) {
        const n = sizes[k % sizes.length]!;
        parts.push(r.push(x.subarray(pos, pos + n)));
        pos += n;
      }
      parts.push(r.end());
      const got = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) {
        got.set(p, o);
        o += p.length;
      }
      expect(got.length).toBe(whole.length);
      expect(got).toEqual(whole);
    });
  }
});
