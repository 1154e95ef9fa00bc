/**
 * Training an owner's verifier for one wake word, shared by enrolment and by flagging a recording (which makes its
 * wake features a negative example, or no longer one). Training reads the inputs and fits the model outside any
 * write transaction (it takes a moment; the daemon must keep storing captures meanwhile); the commit then checks,
 * inside its unit of work, that the inputs it trained on are still what the store holds, and trains again if not.
 *
 * Negatives: the owner's flagged false wakes of that word (their wake features), the room background of the
 * enrolment, its partial-phrase windows (the owner saying part of the word), and the generic negative set the
 * project ships (src/verifier). Positives: the enrolment windows.
 */
import { EarshotError } from '../core/index.js';
import type { StoredVerifier, Tx, VerifierEnrolment } from '../core/index.js';
import { loadManifest } from '../models/index.js';
import { decodeVerifierModel, encodeVerifierModel, genericNegatives, trainVerifier } from '../verifier/index.js';
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

/** The word's threshold (cvRecall is measured against it) and the verifier's gate; defaults: src/verifier's. */
export interface TrainingLevels {
  threshold?: number;
  gate?: number;
}

/** A retrain keeps the levels the verifier was trained with. */
export function levelsOf(v: StoredVerifier): TrainingLevels {
  try {
    const m = decodeVerifierModel(v.model);
    return { threshold: m.threshold, gate: m.gate };
  } catch {
    // A model that does not decode is reported where it is used (verifiersFor); retraining replaces it with defaults.
    return {};
  }
}

export async function train(deps: AppDeps, wakeword: string, inputs: TrainingInputs, levels: TrainingLevels = {}): Promise<TrainedVerifier> {
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
  // Negatives made from a clip leave the cross-validation with it.
  const clipNegatives: Float32Array[] = [];
  const clipNegativeClip: number[] = [];
  enrolment.clips.forEach((c, i) => {
    for (const w of c.partialPhrases ?? []) {
      clipNegatives.push(w);
      clipNegativeClip.push(i);
    }
  });
  const dim = positives[0]?.length ?? 0;
  const wrong = [...negatives, ...clipNegatives].find((n) => n.length !== dim);
  if (wrong !== undefined) {
    throw new EarshotError('BAD_ARGUMENT', `feature windows of ${wrong.length} values do not match the enrolment's ${dim} (were they made with other models?)`);
  }
  const model = trainVerifier(
    { positives, positiveClip, negatives, clipNegatives, clipNegativeClip },
    { wakeword, now: deps.clock.now(), ...(levels.threshold !== undefined ? { threshold: levels.threshold } : {}), ...(levels.gate !== undefined ? { gate: levels.gate } : {}) },
  );
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

/**
 * Deleting recordings (by the owner, by retention) must not leave anything learnt from them: a verifier that was
 * trained with one of them as a flagged false wake is retrained without it, in the unit of work that deletes it.
 * The plan is made (and trained) before the write transaction; `stillHolds` checks it inside.
 */
export interface RetrainPlan {
  words: { wakeword: string; before: StoredVerifier; falseWakeIds: string[]; trained: TrainedVerifier }[];
}

/** Words among the owner's verifiers that learnt from one of `goneIds` (flagged, with wake features). */
async function affected(tx: Tx, ownerId: string, goneIds: ReadonlySet<string>): Promise<{ verifiers: StoredVerifier[]; words: string[] }> {
  const verifiers = await tx.verifiers.list(ownerId);
  if (verifiers.length === 0 || goneIds.size === 0) return { verifiers, words: [] };
  const withVerifier = new Set(verifiers.map((v) => v.wakeword));
  const words = new Set<string>();
  for (const r of await tx.recordings.summaries(ownerId)) {
    if (goneIds.has(r.id) && r.falseWake && withVerifier.has(r.wakeword) && (await tx.recordings.wakeFeatures(ownerId, r.id)) !== undefined) words.add(r.wakeword);
  }
  return { verifiers, words: [...words].sort() };
}

async function remainingFalseWakes(tx: Tx, ownerId: string, wakeword: string, goneIds: ReadonlySet<string>): Promise<{ ids: string[]; features: Float32Array[] }> {
  const all = await falseWakesOf(tx, ownerId, wakeword);
  const keep = all.ids.map((id, i) => [id, i] as const).filter(([id]) => !goneIds.has(id));
  return { ids: keep.map(([id]) => id), features: keep.map(([, i]) => all.features[i]!) };
}

export async function planRetrainWithout(deps: AppDeps, ownerId: string, goneIds: ReadonlySet<string>): Promise<RetrainPlan> {
  const inputs = await deps.uow.read(async (tx) => {
    const { verifiers, words } = await affected(tx, ownerId, goneIds);
    const out: { wakeword: string; before: StoredVerifier; falseWakeIds: string[]; inputs: TrainingInputs }[] = [];
    for (const wakeword of words) {
      const before = verifiers.find((v) => v.wakeword === wakeword)!;
      const enrolment = (await tx.verifiers.enrolment(ownerId, wakeword))!;
      const rest = await remainingFalseWakes(tx, ownerId, wakeword, goneIds);
      out.push({ wakeword, before, falseWakeIds: rest.ids, inputs: { enrolment, falseWakeIds: rest.ids, falseWakes: rest.features } });
    }
    return out;
  });
  const words: RetrainPlan['words'] = [];
  for (const w of inputs) words.push({ wakeword: w.wakeword, before: w.before, falseWakeIds: w.falseWakeIds, trained: await train(deps, w.wakeword, w.inputs, levelsOf(w.before)) });
  return { words };
}

/** Inside the unit of work, before the deletion: true (and the retrained verifiers stored) when nothing the plan used changed. */
export async function applyRetrainPlan(tx: Tx, ownerId: string, plan: RetrainPlan, goneIds: ReadonlySet<string>): Promise<boolean> {
  const now = await affected(tx, ownerId, goneIds);
  if (!sameIds(now.words, plan.words.map((w) => w.wakeword))) return false;
  for (const w of plan.words) {
    const current = now.verifiers.find((v) => v.wakeword === w.wakeword);
    if (!sameVerifier(current, w.before)) return false;
    if (!sameIds((await remainingFalseWakes(tx, ownerId, w.wakeword, goneIds)).ids, w.falseWakeIds)) return false;
  }
  for (const w of plan.words) await tx.verifiers.put(ownerId, w.trained);
  return true;
}

/** The same verifier as before (not re-enrolled, retrained or removed meanwhile). */
export function sameVerifier(a: StoredVerifier | undefined, b: StoredVerifier | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.trainedAt === b.trainedAt && Buffer.from(a.model).equals(Buffer.from(b.model));
}
