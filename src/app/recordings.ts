/**
 * An owner reviewing their recordings: list, play, delete. Each acts for exactly one owner: another owner's
 * recording answers exactly like one that never existed (UNKNOWN_RECORDING), and is never opened, named in an
 * incident or counted.
 */
import { EarshotError } from '../core/index.js';
import type { RecordingSummary, Tx } from '../core/index.js';
import type { Recording } from '../core/index.js';
import { DAY_MS } from '../privacy/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { withIntegrityIncident } from './incidents.js';
import { requireOwner } from './owners.js';
import { applyRetrainPlan, falseWakesOf, inputsChanged, levelsOf, planRetrainWithout, sameIds, sameVerifier, train, TRAINING_ATTEMPTS } from './verifier-training.js';

export interface RecordingListItem extends RecordingSummary {
  /** When retention in effect deletes it (null: after its upload is confirmed, for retention 0). */
  deleteAt: number | null;
  /** Waiting in the upload queue. */
  queued: boolean;
}

function notFound(recordingId: string): EarshotError {
  return new EarshotError('UNKNOWN_RECORDING', `no recording with id ${recordingId}`);
}

/** Refuses, as "no such recording", an id not filed under `ownerId`. Refusing on the clear column is safe; deciding is not. */
async function requireFiledUnder(tx: Tx, ownerId: string, recordingId: string): Promise<void> {
  if ((await tx.recordings.filedUnder(recordingId)) !== ownerId) throw notFound(recordingId);
}

export async function listRecordings(deps: AppDeps, ownerId: string): Promise<RecordingListItem[]> {
  const { owner, items } = await withIntegrityIncident(deps, 'recording-list', { ownerId }, () =>
    deps.uow.read(async (tx) => {
      const o = await requireOwner(tx, ownerId);
      const queued = new Set((await tx.outbox.due(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).filter((e) => e.ownerId === ownerId).map((e) => e.recordingId));
      return { owner: o, items: (await tx.recordings.summaries(ownerId)).map((r) => ({ ...r, queued: queued.has(r.id) })) };
    }),
  );
  const { retentionDays } = await deps.policy.inEffect(owner);
  return items.map((r) => ({ ...r, deleteAt: retentionDays === 0 ? null : r.createdAt + retentionDays * DAY_MS }));
}

/**
 * Marks (or unmarks) one of the owner's recordings as a false wake ("not meant for the speaker"). The mark is
 * sealed with the recording's other metadata; which way it was set is sealed in the audit entry too (`personal`),
 * so the clear columns say only that it changed. When the owner has a verifier for the recording's wake word, it is
 * retrained in the same unit of work with the recording's wake features as a negative example (or without them,
 * after an unflag): training runs before the write transaction, which then checks that nothing it trained on changed.
 */
export function flagRecording(deps: AppDeps, ownerId: string, recordingId: string, falseWake: boolean, origin: Origin): Promise<{ retrained: boolean }> {
  return withIntegrityIncident(deps, 'recording', { ownerId, recordingId }, async () => {
    const change = { recordingId, falseWake };
    for (let attempt = 0; attempt < TRAINING_ATTEMPTS; attempt++) {
      const plan = await deps.uow.read(async (tx) => {
        await requireOwner(tx, ownerId);
        await requireFiledUnder(tx, ownerId, recordingId);
        // Most owners have no verifier: then nothing else needs opening.
        const verifiers = await tx.verifiers.list(ownerId);
        if (verifiers.length === 0) return { wakeword: undefined, verifier: undefined };
        const wakeword = (await tx.recordings.summaries(ownerId)).find((r) => r.id === recordingId)!.wakeword;
        const verifier = verifiers.find((v) => v.wakeword === wakeword);
        if (!verifier) return { wakeword, verifier };
        const enrolment = (await tx.verifiers.enrolment(ownerId, wakeword))!;
        const flagged = await falseWakesOf(tx, ownerId, wakeword, change);
        return { wakeword, verifier, inputs: { enrolment, falseWakeIds: flagged.ids, falseWakes: flagged.features } };
      });
      const trained = plan.inputs && plan.verifier && plan.wakeword !== undefined ? await train(deps, plan.wakeword, plan.inputs, levelsOf(plan.verifier)) : undefined;
      const done = await deps.uow.run(async (tx) => {
        await requireOwner(tx, ownerId);
        await requireFiledUnder(tx, ownerId, recordingId);
        // Enrolled, removed or retrained by another process meanwhile, or other flags changed: plan again.
        const verifiers = await tx.verifiers.list(ownerId);
        if (plan.wakeword === undefined) {
          if (verifiers.length > 0) return false;
        } else {
          if (!sameVerifier(verifiers.find((v) => v.wakeword === plan.wakeword), plan.verifier)) return false;
          if (plan.inputs && !sameIds((await falseWakesOf(tx, ownerId, plan.wakeword, change)).ids, plan.inputs.falseWakeIds)) return false;
        }
        await tx.recordings.setFalseWake(ownerId, recordingId, falseWake);
        if (trained) await tx.verifiers.put(ownerId, trained);
        await tx.audit.append({
          type: 'recording.flagged',
          ownerId,
          recordingId,
          detail: { source: origin.source },
          personal: { falseWake, ...(trained ? { verifierRetrained: true } : {}) },
        });
        return true;
      });
      if (done) return { retrained: trained !== undefined };
    }
    throw inputsChanged();
  });
}

/**
 * Opens one of the owner's recordings with their key and hands it to `deliver` (a file, a player, an HTTP
 * response); `recording.played` is audited only when the delivery succeeded.
 */
export async function playRecording(
  deps: AppDeps,
  ownerId: string,
  recordingId: string,
  origin: Origin,
  deliver: (rec: Recording) => Promise<void>,
): Promise<Recording> {
  const rec = await withIntegrityIncident(deps, 'recording', { ownerId, recordingId }, () =>
    deps.uow.read(async (tx) => {
      await requireOwner(tx, ownerId);
      await requireFiledUnder(tx, ownerId, recordingId);
      return tx.recordings.open(recordingId, ownerId);
    }),
  );
  await deliver(rec);
  await deps.uow.run((tx) => tx.audit.append({ type: 'recording.played', ownerId, recordingId, detail: { source: origin.source } }));
  return rec;
}

/**
 * Deletes the owner's recordings; if any id is not theirs, nothing is deleted (UNKNOWN_RECORDING). Each must
 * also open with the owner's key first: a row moved onto this owner (the plain column says theirs, the sealed
 * data does not) is refused as INTEGRITY and reported, never deleted on the column's word. A verifier that learnt
 * from one of them (a flagged false wake) is retrained without it in the same unit of work.
 */
export function deleteRecordings(deps: AppDeps, ownerId: string, recordingIds: readonly string[], origin: Origin): Promise<string[]> {
  if (recordingIds.length === 0) return Promise.resolve([]);
  const gone = new Set(recordingIds);
  return withIntegrityIncident(deps, 'recording', { ownerId }, async () => {
    for (let attempt = 0; attempt < TRAINING_ATTEMPTS; attempt++) {
      await deps.uow.read(async (tx) => {
        await requireOwner(tx, ownerId);
        for (const id of recordingIds) await requireFiledUnder(tx, ownerId, id);
      });
      const plan = await planRetrainWithout(deps, ownerId, gone);
      const deleted = await deps.uow.run(async (tx) => {
        await requireOwner(tx, ownerId);
        for (const id of recordingIds) await requireFiledUnder(tx, ownerId, id);
        for (const id of recordingIds) await tx.recordings.open(id, ownerId);
        if (!(await applyRetrainPlan(tx, ownerId, plan, gone))) return undefined;
        const retrainedBy = await learntFrom(tx, ownerId, plan, gone);
        const ids = await tx.recordings.delete(ownerId, recordingIds);
        for (const id of ids) {
          await tx.audit.append({
            type: 'recording.deleted',
            ownerId,
            recordingId: id,
            detail: { reason: 'owner-request', source: origin.source },
            ...(retrainedBy.has(id) ? { personal: { verifierRetrained: true } } : {}),
          });
        }
        return ids;
      });
      if (deleted) return deleted;
    }
    throw inputsChanged();
  });
}

/** Which of the recordings going were training examples of a verifier the plan retrains. */
export async function learntFrom(tx: Tx, ownerId: string, plan: { words: { wakeword: string }[] }, gone: ReadonlySet<string>): Promise<Set<string>> {
  const out = new Set<string>();
  if (plan.words.length === 0) return out;
  for (const w of plan.words) for (const id of (await falseWakesOf(tx, ownerId, w.wakeword)).ids) if (gone.has(id)) out.add(id);
  return out;
}
