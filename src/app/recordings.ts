/**
 * An owner reviewing their recordings: list, play, delete. Each acts for exactly one owner: another owner's
 * recording answers exactly like one that never existed (UNKNOWN_RECORDING), and is never opened, named in an
 * incident or counted.
 */
import { EarshotError } from '../core/errors.js';
import type { RecordingSummary, Tx } from '../core/ports.js';
import type { Recording } from '../core/recording.js';
import { DAY_MS } from '../privacy/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { withIntegrityIncident } from './incidents.js';
import { requireOwner } from './owners.js';

export interface RecordingListItem extends RecordingSummary {
  /** When retention in effect deletes it (null: after its upload is confirmed, for retention 0). */
  deleteAt: number | null;
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
      return { owner: o, items: await tx.recordings.summaries(ownerId) };
    }),
  );
  const { retentionDays } = await deps.policy.inEffect(owner);
  return items.map((r) => ({ ...r, deleteAt: retentionDays === 0 ? null : r.createdAt + retentionDays * DAY_MS }));
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

/** Deletes the owner's recordings; if any id is not theirs, nothing is deleted (UNKNOWN_RECORDING). */
export function deleteRecordings(deps: AppDeps, ownerId: string, recordingIds: readonly string[], origin: Origin): Promise<string[]> {
  if (recordingIds.length === 0) return Promise.resolve([]);
  return deps.uow.run(async (tx) => {
    await requireOwner(tx, ownerId);
    for (const id of recordingIds) await requireFiledUnder(tx, ownerId, id);
    const deleted = await tx.recordings.delete(ownerId, recordingIds);
    for (const id of deleted) {
      await tx.audit.append({ type: 'recording.deleted', ownerId, recordingId: id, detail: { reason: 'owner-request', source: origin.source } });
    }
    return deleted;
  });
}
