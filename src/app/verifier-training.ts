/**
 * Training an owner's verifier for one wake word, shared by enrolment and by flagging a recording (which makes its
 * wake features a negative example, or no longer one). Training reads the inputs and fits the model outside any
 * write transaction (it takes a moment; the daemon must keep storing captures meanwhile); the commit then checks,
 * inside its unit of work, that the inputs it trained on are still what the store holds, and trains again if not.
 *
 * Negatives: the owner's flagged false wakes of that word (their wake features), the room background of the
 * enrolment, and the generic negative set the project ships (src/verifier). Positives: the enrolment windows.
 */
import { EarshotError } from '../core/index.js';
import type { Tx, VerifierEnrolment } from '../core/index.js';
import { loadManifest } from '../models/index.js';
import { encodeVerifierModel, genericNegatives, trainVerifier } from '../verifier/index.js';
import type { AppDeps } from './app-deps.js';

/** What a verifier was trained on, as the store held it (compared again at commit). */
export interface TrainingInputs {
  enrolment: VerifierEnrolment;
  /** Ids of the owner's recordings of this word flagged as false wakes that have wake features, sorted. */
  falseWakeIds: string[];
  falseWakes: Float32Array[];
}

export interface TrainedVerifier {
  wakeword: string;
  model: Uint8Array;
  clips: number;
  cvRecall: number;
  trainedAt: number;
  falseWakes: number;
  enrolment: VerifierEnrolment;
}

/** The owner's flagged false wakes of `wakeword` that carry wake features (opened with their key). */
export async function falseWakesOf(tx: Tx, ownerId: string, wakeword: string, override?: { recordingId: string; falseWake: boolean }): Promise<{ ids: string[]; features: Float32Array[] }> {
  const ids: string[] = [];
  const features: Float32Array[] = [];
  for (const r of await tx.recordings.summaries(ownerId)) {
    const flagged = override?.recordingId === r.id ? override.falseWake : r.falseWake;
    if (!flagged || r.wakeword !== wakeword) continue;
    const f = await tx.recordings.wakeFeatures(ownerId, r.id);
    if (f === undefined) continue; // stored before wake features were kept: nothing to learn from
    ids.push(r.id);
    features.push(f);
  }
  const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.localeCompare(ids[b]!));
  return { ids: order.map((i) => ids[i]!), features: order.map((i) => features[i]!) };
}

export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

let shippedNegatives: Promise<Float32Array[]> | undefined;

/** The generic negatives: the app's source when given, else the set shipped with the default models (loaded once). */
export function genericNegativesOf(deps: AppDeps): Promise<Float32Array[]> {
  if (deps.genericNegatives) return deps.genericNegatives();
  shippedNegatives ??= loadManifest().then((m) => genericNegatives(m));
  // A failed load is not remembered: the next enrolment tries again.
  shippedNegatives.catch(() => (shippedNegatives = undefined));
  return shippedNegatives;
}

export async function train(deps: AppDeps, wakeword: string, inputs: TrainingInputs): Promise<TrainedVerifier> {
  const { enrolment } = inputs;
  const positives: Float32Array[] = [];
  const positiveClip: number[] = [];
  enrolment.clips.forEach((c, i) => {
    for (const w of c.windows) {
      positives.push(w);
      positiveClip.push(i);
    }
  });
  const generic = await genericNegativesOf(deps);
  const negatives = [...inputs.falseWakes, ...enrolment.background, ...generic];
  const dim = positives[0]?.length ?? 0;
  const wrong = negatives.find((n) => n.length !== dim);
  if (wrong !== undefined) {
    throw new EarshotError('BAD_ARGUMENT', `feature windows of ${wrong.length} values do not match the enrolment's ${dim} (were they made with other models?)`);
  }
  const model = trainVerifier({ positives, positiveClip, negatives }, { wakeword, now: deps.clock.now() });
  return {
    wakeword,
    model: encodeVerifierModel(model),
    clips: model.clips,
    cvRecall: model.cvRecall,
    trainedAt: model.trainedAt,
    falseWakes: inputs.falseWakes.length,
    enrolment,
  };
}

/** Tries a few times when another process changed the inputs between training and commit. */
export const TRAINING_ATTEMPTS = 3;

export function inputsChanged(): EarshotError {
  return new EarshotError('CONFLICT', "the owner's verifier or flagged recordings kept changing (another process) while the verifier trained; try again");
}
