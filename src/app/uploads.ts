/**
 * What the uplink asks of the application layer: open a queued recording (authenticated), decide whether it may
 * leave now, and confirm an upload. Confirming is the one place `recording.uploaded` is audited; retention 0
 * (after the fleet's cap) deletes the recording in the same unit of work.
 */
import type { RecordingReader, UploadDecision, UploadGate } from '../core/index.js';
import { EarshotError, isEarshotError } from '../core/index.js';
import type { Recording } from '../core/index.js';
import { uploadDecision } from '../privacy/index.js';
import type { AppDeps } from './app-deps.js';
import { recordIncident, withIntegrityIncident } from './incidents.js';

/**
 * Opens a queued recording with its owner's key. The queue entry's owner and capture time are plain columns: they
 * must be the ones bound into the recording's sealed data, or the entry is a forgery (it would make the gate ask
 * about the wrong owner's consent). A forged entry is removed, recorded as an incident, and nothing is sent.
 */
export async function openForUpload(deps: AppDeps, recordingId: string): Promise<Recording> {
  const { rec, entry } = await withIntegrityIncident(deps, 'recording', { recordingId }, () =>
    deps.uow.read(async (tx) => ({ rec: await tx.recordings.open(recordingId), entry: await tx.outbox.entry(recordingId) })),
  );
  if (entry && (entry.ownerId !== rec.ownerId || entry.capturedAt !== rec.startedAt)) {
    await deps.uow.run((tx) => tx.outbox.remove(recordingId));
    await recordIncident(deps, { kind: 'forged-upload-entry', reason: 'the queue entry names another owner or capture time than the recording' }, rec.ownerId, recordingId);
    throw new EarshotError('INTEGRITY', `the upload queue entry of recording ${recordingId} does not match the recording; removed`, { details: { recordingId } });
  }
  return rec;
}

/**
 * The gate, on authenticated facts: the owner's privacy choices and their sealed consent ledger. A ledger that
 * does not verify is never acted on: nothing is sent, and it is recorded as an incident.
 */
export async function checkUpload(deps: AppDeps, entry: { ownerId: string; capturedAt: number }, now: number): Promise<UploadDecision> {
  const rules = await deps.policy.rules();
  try {
    return await deps.uow.read(async (tx) => {
      const owner = await tx.owners.privacy(entry.ownerId);
      const consent = owner ? await tx.consent.history(entry.ownerId, 'cloud-processing') : [];
      return uploadDecision(rules, owner, consent, entry.capturedAt, now);
    });
  } catch (e) {
    if (!isEarshotError(e, 'INTEGRITY')) throw e;
    await recordIncident(deps, { kind: 'integrity', what: 'consent-ledger', reason: e.message }, entry.ownerId);
    return { allowed: false, reason: 'no-consent' };
  }
}

export async function confirmUpload(deps: AppDeps, recordingId: string, at: number): Promise<void> {
  const rules = await deps.policy.rules();
  await deps.uow.run(async (tx) => {
    const ownerId = await tx.recordings.filedUnder(recordingId);
    await tx.recordings.markUploaded(recordingId, at);
    await tx.outbox.remove(recordingId);
    await tx.audit.append({ type: 'recording.uploaded', ...(ownerId !== undefined ? { ownerId } : {}), recordingId });
    const owner = ownerId !== undefined ? await tx.owners.privacy(ownerId) : undefined;
    if (owner && rules.inEffect(owner).retentionDays === 0) {
      await tx.recordings.delete(owner.ownerId, [recordingId]);
      await tx.audit.append({ type: 'recording.deleted', ownerId: owner.ownerId, recordingId, detail: { reason: 'retention-0-after-upload' } });
    }
  });
}

/** The uplink's ports, served by the application layer. */
export function uplinkPorts(deps: AppDeps): { recordings: RecordingReader; gate: UploadGate } {
  return {
    recordings: { open: (id) => openForUpload(deps, id), markUploaded: (id, at) => confirmUpload(deps, id, at) },
    gate: { check: (entry, now) => checkUpload(deps, entry, now) },
  };
}
