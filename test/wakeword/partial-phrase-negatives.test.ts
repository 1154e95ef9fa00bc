/**
 * Partial-phrase negatives on the real models and fixtures (issue 13 §6): enrolment makes them deterministically,
 * only from frames after the cut, and a verifier trained with them vetoes the enrolled voice saying only part of
 * the word — a phrase cut short, from a clip of that voice that is not an enrolment clip — which a verifier
 * trained without them accepts, while the voice's whole phrase still wakes.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadManifest, type ModelManifest } from '../../src/models/index.js';
import { genericNegatives, trainVerifier, type VerifierModel } from '../../src/verifier/index.js';
import {
  DEFAULT_NOISY_COPY_SNRS_DB,
  DEFAULT_PARTIAL_PHRASE_FRACTIONS,
  featuresOfEnrolmentClipWithNoisyCopies,
  featuresOfPartialPhrases,
  loadWakeModels,
  noisyCopySeed,
  truncatedPhrase,
  WakeDetector,
  type LoadedWakeModels,
} from '../../src/wakeword/index.js';
import { FIXTURES, MANIFEST, readPcm } from './helpers.js';

const DIR = path.join(FIXTURES, 'verifier');
const ENROL = [1, 2, 3].map((i) => path.join(DIR, 'enrol', `hey_jarvis__en-us__${i}.wav`));
/** The enrolled voice's own test clip ("hey jarvis, what's the weather tomorrow"; not an enrolment clip). */
const OWN_VOICE = path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav');

const b64 = (ws: Float32Array[]) => ws.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength).toString('base64'));

let manifest: ModelManifest;
let models: LoadedWakeModels;
let negatives: Float32Array[];

/** A verifier enrolled as `earshot enroll` does (noisy copies), with or without each clip's partial-phrase negatives. */
async function verifier(withPartials: boolean): Promise<VerifierModel> {
  const positives: Float32Array[] = [];
  const positiveClip: number[] = [];
  const clipNegatives: Float32Array[] = [];
  const clipNegativeClip: number[] = [];
  for (const [i, f] of ENROL.entries()) {
    const pcm = await readPcm(f);
    const e = await featuresOfEnrolmentClipWithNoisyCopies(models, pcm, 'hey_jarvis', { snrDb: DEFAULT_NOISY_COPY_SNRS_DB, seed: noisyCopySeed(i, 'hey_jarvis') });
    for (const w of e.windows) (positives.push(w), positiveClip.push(i));
    if (!withPartials) continue;
    const p = await featuresOfPartialPhrases(models, pcm, 'hey_jarvis', { fractions: DEFAULT_PARTIAL_PHRASE_FRACTIONS, phraseBeforeMs: e.peakMs });
    for (const w of p.windows) (clipNegatives.push(w), clipNegativeClip.push(i));
  }
  return trainVerifier({ positives, positiveClip, negatives, clipNegatives, clipNegativeClip }, { wakeword: 'hey_jarvis', now: 0 });
}

async function wakes(pcm: Int16Array, v?: VerifierModel): Promise<number> {
  const det = await WakeDetector.create({ words: ['hey_jarvis'], models, manifest, ...(v ? { verifiers: { hey_jarvis: v } } : {}) });
  return (await det.push(pcm)).length;
}

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
  models = await loadWakeModels(manifest, ['hey_jarvis']);
  negatives = await genericNegatives(manifest);
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
    expect(await wakes(cutShort)).toBeGreaterThan(0); // the base model alone fires on it
    expect(await wakes(cutShort, without)).toBeGreaterThan(0);
    expect(await wakes(cutShort, withPartials)).toBe(0);
    expect(await wakes(own, withPartials)).toBeGreaterThan(0);
  }, 240_000);
});
