/**
 * The hey_jarvis enrolment fixtures and a verifier trained from them as `earshot enroll` trains it (noisy copies,
 * optionally each clip's partial-phrase negatives, against the shipped generic negatives): shared by the
 * noisy-copy and partial-phrase tests.
 */
import path from 'node:path';
import { loadManifest, type ModelManifest } from '../../src/models/index.js';
import { genericNegatives, trainVerifier, type VerifierModel } from '../../src/verifier/index.js';
import {
  DEFAULT_PARTIAL_PHRASE_FRACTIONS,
  featuresOfEnrolmentClipWithNoisyCopies,
  featuresOfPartialPhrases,
  loadWakeModels,
  noisyCopySeed,
  WakeDetector,
  type LoadedWakeModels,
} from '../../src/wakeword/index.js';
import { FIXTURES, MANIFEST, readPcm } from './helpers.js';

const WORD = 'hey_jarvis';
/** The three enrolment clips of one voice (espeak-ng en-us). */
export const ENROL = [1, 2, 3].map((i) => path.join(FIXTURES, 'verifier', 'enrol', `${WORD}__en-us__${i}.wav`));

/** Windows as base64 strings, to compare them exactly. */
export const b64 = (ws: Float32Array[]) => ws.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength).toString('base64'));

export interface VerifierFixture {
  manifest: ModelManifest;
  models: LoadedWakeModels;
  negatives: Float32Array[];
}

export async function verifierFixture(): Promise<VerifierFixture> {
  const manifest = await loadManifest(MANIFEST);
  return { manifest, models: await loadWakeModels(manifest, [WORD]), negatives: await genericNegatives(manifest) };
}

/** A verifier enrolled from ENROL with noisy copies at `snrDb` and, with `partialPhrases`, each clip's cut copies as its negatives. */
export async function enrolledVerifier(fx: VerifierFixture, opts: { snrDb: readonly number[]; partialPhrases: boolean }): Promise<VerifierModel> {
  const positives: Float32Array[] = [];
  const positiveClip: number[] = [];
  const clipNegatives: Float32Array[] = [];
  const clipNegativeClip: number[] = [];
  for (const [i, f] of ENROL.entries()) {
    const pcm = await readPcm(f);
    const e = await featuresOfEnrolmentClipWithNoisyCopies(fx.models, pcm, WORD, { snrDb: opts.snrDb, seed: noisyCopySeed(i, WORD) });
    for (const w of e.windows) (positives.push(w), positiveClip.push(i));
    if (!opts.partialPhrases) continue;
    const p = await featuresOfPartialPhrases(fx.models, pcm, WORD, { fractions: DEFAULT_PARTIAL_PHRASE_FRACTIONS, phraseBeforeMs: e.peakMs });
    for (const w of p.windows) (clipNegatives.push(w), clipNegativeClip.push(i));
  }
  return trainVerifier({ positives, positiveClip, negatives: fx.negatives, clipNegatives, clipNegativeClip }, { wakeword: WORD, now: 0 });
}

/** Wake detections in `pcm` by the default detector, with the verifier when given. */
export async function wakes(fx: VerifierFixture, pcm: Int16Array, verifier?: VerifierModel): Promise<number> {
  const det = await WakeDetector.create({ words: [WORD], models: fx.models, manifest: fx.manifest, ...(verifier ? { verifiers: { [WORD]: verifier } } : {}) });
  return (await det.push(pcm)).length;
}
