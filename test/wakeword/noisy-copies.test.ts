/**
 * Enrolment with pink-noise copies of each clip (issue 13): the copies' SNR is against the clip's active speech
 * level, they are deterministic, their windows come after the clip's own and count as that clip; and the point of
 * it — the same voice in pink noise, which a verifier enrolled from the quiet clips alone rejects, is accepted by
 * one enrolled with the copies, while the near misses stay rejected.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/index.js';
import {
  activeSpeechLevel,
  DEFAULT_NOISY_COPY_SNRS_DB,
  featuresOfEnrolmentClip,
  featuresOfEnrolmentClipWithNoisyCopies,
  noisyCopySeed,
  pinkNoise,
  withPinkNoise,
  type LoadedWakeModels,
} from '../../src/wakeword/index.js';
import { b64, ENROL, enrolledVerifier, verifierFixture, wakes, type VerifierFixture } from './enrolled-verifier.js';
import { FIXTURES, readPcm } from './helpers.js';

const DIR = path.join(FIXTURES, 'verifier');
/** The enrolled voice at another speed and pitch (not an enrolment clip). */
const SAME_VOICE = path.join(FIXTURES, 'wake', 'hey_jarvis__en-us-m7.wav');
const NEAR_MISSES = ['hey_jar__en-us', 'hey_travis__en-gb', 'hey_harvest__flite-slt'].map((n) => path.join(DIR, 'nearmiss', `${n}.wav`));
/** The test's noise is seeded apart from every enrolment copy's (noisyCopySeed gives 1000 + …). */
const TEST_NOISE_SEED = 77;

const rms = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / x.length);

let fx: VerifierFixture;
let models: LoadedWakeModels;

const verifierFrom = (snrDb: readonly number[]) => enrolledVerifier(fx, { snrDb, partialPhrases: false });

beforeAll(async () => {
  fx = await verifierFixture();
  models = fx.models;
}, 120_000);

describe('pink-noise copies', () => {
  it('pink noise is seeded (same seed, same samples), unit RMS, and mixed in at the SNR below the active speech level', async () => {
    expect(Array.from(pinkNoise(1000, 5))).toEqual(Array.from(pinkNoise(1000, 5)));
    expect(Array.from(pinkNoise(1000, 5))).not.toEqual(Array.from(pinkNoise(1000, 6)));
    expect(rms(pinkNoise(16000, 5))).toBeCloseTo(1, 6);
    // Pink: most of the power is low — neighbouring samples correlate strongly (white noise: ~0).
    const p = pinkNoise(16000, 5);
    let c = 0;
    for (let i = 1; i < p.length; i++) c += p[i]! * p[i - 1]!;
    expect(c / p.length).toBeGreaterThan(0.5);

    const clip = await readPcm(ENROL[0]!);
    const speech = activeSpeechLevel(clip);
    // The clip is 2.4 s of quiet room, then the phrase: the active level is the phrase's, well above the clip's RMS.
    expect(speech).toBeGreaterThan(1.5 * rms(clip));
    for (const snr of [20, 10]) {
      const noisy = withPinkNoise(clip, snr, 9);
      const added = Array.from(noisy, (v, i) => v - clip[i]!);
      expect(20 * Math.log10(speech / rms(added))).toBeCloseTo(snr, 1);
      expect(Array.from(withPinkNoise(clip, snr, 9))).toEqual(Array.from(noisy));
    }
    expect(Array.from(withPinkNoise(new Int16Array(800), 10, 1))).toEqual(Array.from(new Int16Array(800)));
    expect(isEarshotError((() => { try { withPinkNoise(clip, Number.NaN, 1); } catch (e) { return e; } })(), 'BAD_ARGUMENT')).toBe(true);
  });

  it("a clip's features: its own windows first (exactly the plain enrolment's), then each copy's; deterministic; no copies = the plain features", async () => {
    expect(DEFAULT_NOISY_COPY_SNRS_DB).toEqual([20, 10]);
    const pcm = await readPcm(ENROL[1]!);
    const plain = await featuresOfEnrolmentClip(models, pcm, 'hey_jarvis');
    const seed = noisyCopySeed(1, 'hey_jarvis');
    expect(seed).toBe(2000 + 7 * 'hey_jarvis'.length);
    const f = await featuresOfEnrolmentClipWithNoisyCopies(models, pcm, 'hey_jarvis', { snrDb: [20, 10], seed });
    expect([f.peakScore, f.peakMs, f.cleanWindows]).toEqual([plain.peakScore, plain.peakMs, plain.windows.length]);
    expect(f.copies.map((c) => c.snrDb)).toEqual([20, 10]);
    for (const c of f.copies) {
      expect(c.windows).toBeGreaterThan(0);
      expect(c.peakScore).toBeGreaterThan(0.25);
    }
    expect(f.windows.length).toBe(f.cleanWindows + f.copies[0]!.windows + f.copies[1]!.windows);
    expect(b64(f.windows.slice(0, f.cleanWindows))).toEqual(b64(plain.windows));
    // The copies' windows are those of the clip with that noise mixed in: other audio, other windows.
    const copy20 = await featuresOfEnrolmentClip(models, withPinkNoise(pcm, 20, seed), 'hey_jarvis');
    expect(b64(f.windows.slice(f.cleanWindows, f.cleanWindows + f.copies[0]!.windows))).toEqual(b64(copy20.windows));
    expect(b64(copy20.windows)).not.toEqual(b64(plain.windows.slice(0, copy20.windows.length)));
    const again = await featuresOfEnrolmentClipWithNoisyCopies(models, pcm, 'hey_jarvis', { snrDb: [20, 10], seed });
    expect(b64(again.windows)).toEqual(b64(f.windows));
    const none = await featuresOfEnrolmentClipWithNoisyCopies(models, pcm, 'hey_jarvis', { snrDb: [], seed });
    expect(b64(none.windows)).toEqual(b64(plain.windows));
    expect(none.copies).toEqual([]);
    expect(isEarshotError(await featuresOfEnrolmentClipWithNoisyCopies(models, pcm, 'hey_jarvis', { snrDb: [10], seed: 0.5 }).catch((e: unknown) => e), 'BAD_ARGUMENT')).toBe(true);
  }, 60_000);

  it("each kept window comes with its frame's base score (at or above minScore), the copies' after the clip's: a study can keep windows above another gate without scoring again", async () => {
    const pcm = await readPcm(ENROL[0]!);
    const all = await featuresOfEnrolmentClip(models, pcm, 'hey_jarvis', { minScore: 0 });
    expect(all.scores).toHaveLength(all.windows.length);
    expect(Math.max(...all.scores)).toBe(all.peakScore);
    const kept = await featuresOfEnrolmentClip(models, pcm, 'hey_jarvis', { minScore: 0.5 });
    expect(kept.scores.every((s) => s >= 0.5)).toBe(true);
    // The same windows as filtering the unfiltered ones by their scores.
    expect(b64(kept.windows)).toEqual(b64(all.windows.filter((_, i) => all.scores[i]! >= 0.5)));
    const f = await featuresOfEnrolmentClipWithNoisyCopies(models, pcm, 'hey_jarvis', { snrDb: [20], seed: noisyCopySeed(0, 'hey_jarvis'), minScore: 0 });
    expect(f.scores).toHaveLength(f.windows.length);
    expect(f.scores.slice(0, f.cleanWindows)).toEqual(all.scores);
  }, 60_000);

  it('the enrolled voice in pink noise at 10 dB: rejected by the verifier enrolled from the quiet clips, accepted with the copies; near misses stay rejected', async () => {
    const clean = await verifierFrom([]);
    const augmented = await verifierFrom(DEFAULT_NOISY_COPY_SNRS_DB);
    // Leave-one-clip-out groups a clip with its copies: still 3 clips, and each held-out clip is accepted.
    expect([clean.clips, augmented.clips]).toEqual([3, 3]);
    expect(augmented.cvRecall).toBe(1);
    const voice = await readPcm(SAME_VOICE);
    expect(await wakes(fx, voice, clean)).toBe(1);
    expect(await wakes(fx, voice, augmented)).toBe(1);
    const noisy = withPinkNoise(voice, 10, TEST_NOISE_SEED);
    expect(await wakes(fx, noisy, clean)).toBe(0);
    expect(await wakes(fx, noisy, augmented)).toBe(1);
    for (const f of NEAR_MISSES) expect(await wakes(fx, await readPcm(f), augmented), path.basename(f)).toBe(0);
  }, 120_000);
});
