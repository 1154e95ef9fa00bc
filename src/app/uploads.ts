/**
 * What the uplink asks of the application layer: open a queued recording (authenticated), decide whether it may
 * leave now, and confirm an upload. Confirming is the one place `recording.uploaded` is audited; retention 0
 * (after the fleet's cap) deletes the recording in the same unit of work.
 */
import type { RecordingReader, UploadDecision, UploadGate } from '../core/ports.js';
import type { Recording } from '../core/recording.js';
import { uploadDecision } from '../privacy/index.js';
import type { AppDeps } from './app-deps.js';
import { withIntegrityIncident } from './incidents.js';

export function openForUpload(deps: AppDeps, recordingId: string): Promise<Recording> {
  return withIntegrityIncident(deps, 'recording', { recordingId }, () => deps.uow.read((tx) => tx.recordings.open(recordingId)));
}

export async function checkUpload(deps: AppDeps, entry: { ownerId: string; capturedAt: number }, now: number): Promise<UploadDecision> {
  const rules = await deps.policy.rules();
  return deps.uow.read(async (tx) => {
    const owner = await tx.owners.privacy(entry.ownerId);
    const consent = owner ? await tx.consent.history(entry.ownerId, 'cloud-processing') : [];
    return uploadDecision(rules, owner, consent, entry.capturedAt, now);
  });
}

export async function confirmUpload(deps: AppDeps, recordingId: string, at: number): Promise<void> {
  const rules = await deps.policy.rules();
  await deps.uow.run(async (tx) => {
    const ownerId = await tx.recordings.filedUnder(recordingId);
    await tx.recordings.markUploaded(recordingId, at);
    await tx.outbox.remove(recordingId);
    await tx.audit.append({ type: 'recording.uploaded', ownerId: ownerId ?? undefined, recordingId });
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
