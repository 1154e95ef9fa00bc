/**
 * Partial-phrase negatives on the real models and fixtures (issue 13 §6): enrolment makes them deterministically,
 * only from frames after the cut, and a verifier trained with them vetoes the enrolled voice saying only part of
 * the word — a phrase cut short, from a clip of that voice that is not an enrolment clip — which a verifier
 * trained without them accepts, while the voice's whole phrase still wakes.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifierModel } from '../../src/verifier/index.js';
import { DEFAULT_NOISY_COPY_SNRS_DB, featuresOfEnrolmentClipWithNoisyCopies, featuresOfPartialPhrases, truncatedPhrase, type LoadedWakeModels } from '../../src/wakeword/index.js';
import { b64, ENROL, enrolledVerifier, verifierFixture, wakes, type VerifierFixture } from './enrolled-verifier.js';
import { FIXTURES, readPcm } from './helpers.js';

/** The enrolled voice's own test clip ("hey jarvis, what's the weather tomorrow"; not an enrolment clip). */
const OWN_VOICE = path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav');

let fx: VerifierFixture;
let models: LoadedWakeModels;

/** A verifier enrolled as `earshot enroll` does (noisy copies), with or without each clip's partial-phrase negatives. */
const verifier = (withPartials: boolean): Promise<VerifierModel> => enrolledVerifier(fx, { snrDb: DEFAULT_NOISY_COPY_SNRS_DB, partialPhrases: withPartials });

beforeAll(async () => {
  fx = await verifierFixture();
  models = fx.models;
}, 120_000);

describe('partial-phrase negatives', () => {
  it('are deterministic, come only from frames after the cut, and per cut point', async () => {
    const pcm = await readPcm(ENROL[0]!);
    const a = await featuresOfPartialPhrases(models, pcm, 'hey_jarvis', { fractions: [0.4, 0.7], minScore: 0 });
    const b = await featuresOfPartialPhrases(models, pcm, 'hey_jarvis', { fractions: [0.4, 0.7], minScore: 0 });
    expect(b64(b.windows)).toEqual(b64(a.windows));
    expect(a.copies.map((c) => c.fraction)).toEqual([0.4, 0.7]);
    expect(a.copies.reduce((n, c) => n + c.windows, 0)).toBe(a.windows.length);
    expect(a.scores).toHaveLength(a.windows.length);
    // From one pass (offset 0), frames end every 80 ms: only those after the cut are kept, every one of them at minScore 0.
    const one = await featuresOfPartialPhrases(models, pcm, 'hey_jarvis', { fractions: [0.4], minScore: 0, offsets: [0] });
    const cut = truncatedPhrase(pcm, 0.4)!.cut;
    const framesAfterCut = Math.floor(pcm.length / 1280) - Math.floor(cut / 1280);
    expect(one.windows.length).toBeGreaterThan(0);
    expect(one.windows.length).toBeLessThanOrEqual(framesAfterCut);
    // minScore keeps only the frames the detector would consult at that gate.
    const gated = await featuresOfPartialPhrases(models, pcm, 'hey_jarvis', { fractions: [0.4, 0.7], minScore: 0.1 });
    expect(gated.windows.length).toBe(a.scores.filter((s) => s >= 0.1).length);
    expect(gated.scores.every((s) => s >= 0.1)).toBe(true);
  }, 120_000);

  it("a verifier trained with them vetoes the owner's voice cut short, which one trained without them accepts; the whole phrase still wakes", async () => {
    const own = await readPcm(OWN_VOICE);
    const without = await verifier(false);
    const withPartials = await verifier(true);
    // The clip's peak bounds the phrase (the command after it is not part of it), as at enrolment.
    const peakMs = (await featuresOfEnrolmentClipWithNoisyCopies(models, own, 'hey_jarvis', { snrDb: [], seed: 0 })).peakMs;
    const cutShort = truncatedPhrase(own, 0.7, Math.round(peakMs * 16))!.pcm;
    expect(await wakes(fx, cutShort)).toBeGreaterThan(0); // the base model alone fires on it
    expect(await wakes(fx, cutShort, without)).toBeGreaterThan(0);
    expect(await wakes(fx, cutShort, withPartials)).toBe(0);
    expect(await wakes(fx, own, withPartials)).toBeGreaterThan(0);
  }, 240_000);
});
