/**
 * The household verifier on the wake side, on real fixtures (test/fixtures/verifier, made by
 * scripts/make-verifier-fixtures.sh): enrolment features, the gate rule, the veto, the detection's features.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/index.js';
import { loadManifest, type ModelManifest } from '../../src/models/index.js';
import { genericNegatives, trainVerifier, verifierProbability, type VerifierModel } from '../../src/verifier/index.js';
import {
  featuresOfBackground,
  featuresOfEnrolmentClip,
  loadWakeModels,
  WakeDetector,
  type DetectorFrame,
  type LoadedWakeModels,
  type WakeDetectorOptions,
} from '../../src/wakeword/index.js';
import { FIXTURES, MANIFEST, readPcm } from './helpers.js';

const DIR = path.join(FIXTURES, 'verifier');
const ENROL = [1, 2, 3].map((i) => path.join(DIR, 'enrol', `hey_jarvis__en-us__${i}.wav`));
/** The same voice's other clip: the wake fixture (another speed and pitch, followed by a command). */
const OTHER_CLIP = path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav');
const NEAR_MISSES = ['hey_jar__en-us', 'hey_travis__en-gb', 'hey_harvest__flite-slt'].map((n) => path.join(DIR, 'nearmiss', `${n}.wav`));
const NOW = 1_764_590_000_000;

let manifest: ModelManifest;
let models: LoadedWakeModels;
let model: VerifierModel;

async function detections(pcm: Int16Array, opts: Partial<WakeDetectorOptions> = {}, onFrame?: (f: DetectorFrame) => void) {
  const det = await WakeDetector.create({ words: ['hey_jarvis'], models, manifest, ...opts });
  return det.push(pcm, onFrame);
}

function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
  models = await loadWakeModels(manifest, ['hey_jarvis']);
  const positives: Float32Array[] = [];
  const positiveClip: number[] = [];
  for (const [i, f] of ENROL.entries()) {
    const e = await featuresOfEnrolmentClip(models, await readPcm(f), 'hey_jarvis');
    for (const w of e.windows) {
      positives.push(w);
      positiveClip.push(i);
    }
  }
  model = trainVerifier({ positives, positiveClip, negatives: await genericNegatives(manifest) }, { wakeword: 'hey_jarvis', now: NOW });
}, 120_000);

describe('enrolment features', () => {
  it('finds the phrase in each enrolment clip and keeps windows of 16 × 96 around its peak, deterministically', async () => {
    for (const f of ENROL) {
      const pcm = await readPcm(f);
      const e = await featuresOfEnrolmentClip(models, pcm, 'hey_jarvis');
      expect(e.peakScore).toBeGreaterThan(0.9);
      // The phrase starts after 2.4 s of room noise and lasts under a second and a half.
      expect(e.peakMs).toBeGreaterThan(2400);
      expect(e.peakMs).toBeLessThan(4200);
      // 4 offsets × up to 5 frames around each peak.
      expect(e.windows.length).toBeGreaterThanOrEqual(8);
      expect(e.windows.length).toBeLessThanOrEqual(20);
      for (const w of e.windows) expect(w.length).toBe(1536);
      const again = await featuresOfEnrolmentClip(models, pcm, 'hey_jarvis');
      expect(again.windows.map((w) => Buffer.from(w.buffer).toString('base64'))).toEqual(e.windows.map((w) => Buffer.from(w.buffer).toString('base64')));
    }
  });

  it('a clip without the phrase has a low peak; a clip too short to warm the classifier has none', async () => {
    const noise = await readPcm(NEAR_MISSES[2]!);
    const quiet = noise.subarray(0, 16000 * 2);
    expect((await featuresOfEnrolmentClip(models, quiet, 'hey_jarvis')).peakScore).toBeLessThan(0.1);
    const short = await featuresOfEnrolmentClip(models, (await readPcm(ENROL[0]!)).subarray(0, 16000), 'hey_jarvis');
    expect(short).toEqual({ peakScore: 0, peakMs: 0, windows: [], scores: [] });
    expect(isEarshotError(await errorOf(featuresOfEnrolmentClip(models, quiet, 'alexa')), 'BAD_ARGUMENT')).toBe(true);
  });

  it('background windows: every warm frame, or every n-th, or at most N spread over the clip', async () => {
    const pcm = await readPcm(OTHER_CLIP);
    const all = await featuresOfBackground(models, pcm, 'hey_jarvis');
    // Frames of 80 ms, minus the ones before the classifier window holds real audio only.
    expect(all.length).toBeGreaterThan(Math.floor(pcm.length / 1280) - 30);
    expect(all.length).toBeLessThan(Math.floor(pcm.length / 1280));
    expect((await featuresOfBackground(models, pcm, 'hey_jarvis', { stride: 2 })).length).toBe(Math.ceil(all.length / 2));
    const capped = await featuresOfBackground(models, pcm, 'hey_jarvis', { maxWindows: 10 });
    expect(capped).toHaveLength(10);
    expect(capped[0]).toEqual(all[0]);
  });
});

describe('the verifier in the detector', () => {
  it('is trained in seconds with a cross-validated recall over the 3 enrolment clips', () => {
    expect(model.clips).toBe(3);
    expect(model.cvRecall).toBe(1);
    expect(model.featureDim).toBe(16 * 96);
  });

  it("accepts the enrolled voice's other clip, and the detection carries its base score and window", async () => {
    const pcm = await readPcm(OTHER_CLIP);
    const found = await detections(pcm, { verifiers: { hey_jarvis: model } });
    expect(found.map((d) => d.wakeword)).toEqual(['hey_jarvis']);
    const d = found[0]!;
    expect(d.features).toHaveLength(1536);
    expect(d.baseScore).toBeGreaterThanOrEqual(model.gate);
    // The score that decided is the verifier's probability on the window the detection carries.
    expect(d.score).toBeCloseTo(verifierProbability(model, d.features!), 6);
    expect(d.score).toBeGreaterThanOrEqual(0.5);
    // Without a verifier the detection carries the same kind of window, and score = base score.
    const plain = (await detections(pcm))[0]!;
    expect(plain.features).toHaveLength(1536);
    expect(plain.score).toBe(plain.baseScore);
  });

  it('vetoes near misses that the base model fires on', async () => {
    for (const f of NEAR_MISSES) {
      const pcm = await readPcm(f);
      // Without the verifier these are false wakes (so this test fails if the verifier does nothing) …
      expect((await detections(pcm)).map((d) => d.wakeword), path.basename(f)).toEqual(['hey_jarvis']);
      // … with it they are not.
      expect(await detections(pcm, { verifiers: { hey_jarvis: model } }), path.basename(f)).toEqual([]);
    }
  });

  it('applies the gate rule: below the gate the base score stands, at or above it the verifier decides', async () => {
    const frames: { base: number; score: number; verified: boolean; warm: boolean }[] = [];
    await detections(await readPcm(NEAR_MISSES[0]!), { verifiers: { hey_jarvis: model } }, (f) =>
      frames.push({ base: f.baseScores[0]!, score: f.scores[0]!, verified: f.verified[0]!, warm: f.warm[0]! }),
    );
    const below = frames.filter((f) => f.base < model.gate);
    const above = frames.filter((f) => f.base >= model.gate && f.warm);
    expect(below.length).toBeGreaterThan(10);
    expect(above.length).toBeGreaterThan(0);
    for (const f of below) expect(f).toMatchObject({ score: f.base, verified: false });
    for (const f of above) expect(f.verified).toBe(true);
    expect(above.some((f) => f.score !== f.base)).toBe(true);
  });

  it('refuses a verifier whose gate is above its threshold, for another word, of another size, or for no word', async () => {
    const pcm = new Int16Array(0);
    const cases: [Partial<WakeDetectorOptions>, RegExp][] = [
      [{ threshold: 0.05, verifiers: { hey_jarvis: model } }, /gate .* must not be above its threshold/],
      [{ words: [{ name: 'hey_jarvis', threshold: 0.08 }], verifiers: { hey_jarvis: model } }, /must not be above/],
      [{ verifiers: { hey_jarvis: { ...model, wakeword: 'alexa' } } }, /trained for alexa/],
      [{ verifiers: { alexa: model } }, /not one of the wake words/],
      [{ verifiers: { hey_jarvis: { ...model, featureDim: 96, mean: model.mean.subarray(0, 96), scale: model.scale.subarray(0, 96), weights: model.weights.subarray(0, 96) } } }, /reads 96 features/],
      [{ verifiers: { hey_jarvis: { ...model, gate: -1 } } }, /gate/],
    ];
    for (const [opts, msg] of cases) {
      const err = await errorOf(detections(pcm, opts));
      expect(isEarshotError(err, 'BAD_ARGUMENT'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(msg);
    }
    // gate = threshold is allowed.
    await expect(detections(pcm, { threshold: model.gate, verifiers: { hey_jarvis: model } })).resolves.toEqual([]);
  });
});
