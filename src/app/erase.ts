/**
 * Erasure is crypto-shredding: in one unit of work the owner's rows leave every table, their wrapped key and
 * profile are overwritten and deleted, and every remaining owner key is re-wrapped under a new device key
 * (runRekeyed), so a copy of the data taken before the erasure (a backup, a stale WAL) cannot open what was
 * erased. Then the owner's audio file is removed (after commit) and freed pages are returned. Audit entries stay
 * (the chain must verify) but their personal parts were sealed under the destroyed key and are now unreadable.
 */
import type { Tx } from '../core/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { requireOwner } from './owners.js';

export interface EraseResult {
  ownerId: string;
  recordings: number;
  consentEvents: number;
  /** Verifiers (one per enrolled wake word) destroyed with the owner. */
  verifiers: number;
}

/** Inside a rekeyed unit of work: everything of one owner. */
export async function eraseIn(tx: Tx, ownerId: string, reason: string, origin: Origin): Promise<EraseResult> {
  await requireOwner(tx, ownerId);
  await tx.outbox.removeOwner(ownerId);
  // The owner page: their browsers are signed out and their codes void with them, in this unit of work.
  const sessions = await tx.webSessions.removeOwner(ownerId);
  await tx.notices.removeOwner(ownerId);
  const consentEvents = await tx.consent.removeOwner(ownerId);
  // Their verifiers are derived from their voice: personal data, gone with them (and sealed under the key shredded below).
  const verifiers = await tx.verifiers.removeOwner(ownerId);
  const recordings = await tx.recordings.deleteOwner(ownerId);
  await tx.owners.remove(ownerId);
  await tx.audit.append({ type: 'owner.erased', ownerId, detail: { recordings, consentEvents, sessions, verifiers, reason, source: origin.source } });
  return { ownerId, recordings, consentEvents, verifiers };
}

/** Audits the device-key rotation a rekeyed unit of work performs (the last entry of that unit). */
export async function auditRotation(tx: Tx, rotation: { from: string; to: string }, reason: string, origin: Origin): Promise<number> {
  const owners = (await tx.owners.privacyAll()).length;
  await tx.audit.append({ type: 'key.rotated', detail: { from: rotation.from, to: rotation.to, owners, reason, source: origin.source } });
  return owners;
}

export async function eraseOwner(
  deps: AppDeps,
  ownerId: string,
  origin: Origin,
  opts: { vacuum?: 'incremental' | 'full' | 'none'; reason?: string; /** Once the key is destroyed and the rows deleted (committed). */ onShredded?: () => void } = {},
): Promise<EraseResult> {
  const result = await deps.uow.runRekeyed(async (tx, rotation) => {
    const r = await eraseIn(tx, ownerId, opts.reason ?? 'owner-request', origin);
    await auditRotation(tx, rotation, 'erasure', origin);
    return r;
  });
  opts.onShredded?.();
  const vacuum = opts.vacuum ?? 'incremental';
  if (vacuum !== 'none') await deps.maintenance.compact({ full: vacuum === 'full' });
  return result;
}
