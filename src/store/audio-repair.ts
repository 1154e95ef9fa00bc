/**
 * The start-up repair of the two halves of the store — the metadata database and each owner's audio file — which
 * are kept consistent without a shared transaction (audio-vault.ts), and the quarantine it fills instead of
 * deleting on a hunch.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { AuditLog } from '../audit/index.js';
import { EarshotError, type Clock, type Logger, type QuarantinedItem } from '../core/index.js';
import type { AudioVault } from './audio-vault.js';
import type { Quarantine } from './quarantine.js';
import type { Sql, SqliteDb } from './sqlite.js';

export class AudioRepair {
  constructor(
    private readonly db: SqliteDb,
    private readonly vault: AudioVault,
    private readonly quarantine: Quarantine,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Repairs what a crash between an audio step and its metadata commit left (see audio-vault.ts), on evidence
   * only: audio is deleted when the hash-chained audit log shows its row never committed (no `recording.created`)
   * or its deletion committed (`recording.deleted`, a retention sweep naming it), and an owner's file when the
   * log shows that owner's erasure. Anything else that does not match — a row re-pointed to another owner, two
   * owners' files swapped, a log that does not verify — is moved to quarantine, still sealed, and reported as an
   * incident; `earshot repair` resolves it. Holds the metadata write lock while it decides and acts, so no other
   * process's save is between its audio write and its row's commit. Runs on every open; the log is read only
   * when something does not match.
   */
  async reconcile(): Promise<void> {
    const rows = async (sql: Sql) => {
      const rowsByOwner = new Map<string, Set<string>>();
      const ownerOf = new Map<string, string>();
      for (const o of await sql.all<{ id: string }>('SELECT id FROM owners')) rowsByOwner.set(o.id, new Set());
      for (const r of await sql.all<{ id: string; owner_id: string }>('SELECT id, owner_id FROM recordings')) {
        rowsByOwner.get(r.owner_id)?.add(r.id);
        ownerOf.set(r.id, r.owner_id);
      }
      return { rowsByOwner, ownerOf };
    };
    const first = await this.db.transaction(async (sql) => this.vault.mismatches((await rows(sql)).rowsByOwner));
    if (first.files.length === 0 && first.blobs.length === 0) return;
    // Evidence, read outside the lock (verification reads the whole log); the mismatches are taken again under it.
    const chain = await this.audit.verify();
    const erased = new Set<string>();
    const created = new Set<string>();
    const deleted = new Set<string>();
    for (const e of await this.audit.list()) {
      if (e.type === 'owner.erased' && e.ownerId) erased.add(e.ownerId);
      if (e.type === 'recording.created' && e.recordingId) created.add(e.recordingId);
      if (e.type === 'recording.deleted' && e.recordingId) deleted.add(e.recordingId);
      const swept = e.type === 'retention.swept' ? e.detail?.['recordingIds'] : undefined;
      if (typeof swept === 'string') for (const id of swept.split(',')) deleted.add(id);
    }
    const now = this.clock.now();
    const outcome = await this.db.transaction(async (sql) => {
      const { rowsByOwner, ownerOf } = await rows(sql);
      const found = await this.vault.mismatches(rowsByOwner);
      const done = { filesRemoved: 0, blobsRemoved: 0, quarantined: [] as QuarantinedItem[] };
      for (const ownerId of found.files) {
        if (chain.ok && erased.has(ownerId)) {
          await this.vault.removeOwner(ownerId);
          done.filesRemoved++;
        } else {
          const reason = chain.ok ? 'the file of an owner who does not exist, whose erasure the audit log does not show' : 'the audit log does not verify';
          done.quarantined.push(await this.quarantine.addOwnerFile({ ownerId, reason, at: now }, (dest) => this.vault.moveOwnerFile(ownerId, dest)));
        }
      }
      const toDelete = new Map<string, string[]>();
      for (const b of found.blobs) {
        const elsewhere = ownerOf.get(b.recordingId);
        const orphan = chain.ok && elsewhere === undefined && (!created.has(b.recordingId) || deleted.has(b.recordingId));
        if (orphan) {
          toDelete.set(b.ownerId, [...(toDelete.get(b.ownerId) ?? []), b.recordingId]);
          continue;
        }
        const sealed = await this.vault.get(b.ownerId, b.recordingId);
        if (!sealed) continue;
        const reason =
          elsewhere !== undefined
            ? "its recording's row is filed under another owner"
            : chain.ok
              ? 'its recording was stored, and the audit log shows no deletion of it'
              : 'the audit log does not verify';
        done.quarantined.push(await this.quarantine.addBlob({ ownerId: b.ownerId, recordingId: b.recordingId, sealed, reason, at: now }));
        await this.vault.delete(b.ownerId, [b.recordingId]);
      }
      for (const [ownerId, ids] of toDelete) {
        await this.vault.delete(ownerId, ids);
        done.blobsRemoved += ids.length;
      }
      for (const q of done.quarantined) {
        await this.audit.appendIn(sql, { type: 'incident', ...(q.recordingId ? { recordingId: q.recordingId } : {}), detail: { kind: 'quarantined', item: q.id, what: q.kind, reason: q.reason } });
      }
      return done;
    });
    if (outcome.filesRemoved > 0 || outcome.blobsRemoved > 0) {
      this.logger.info('removed audio left behind by an interrupted delete or erasure', { filesRemoved: outcome.filesRemoved, blobsRemoved: outcome.blobsRemoved });
    }
    if (outcome.quarantined.length > 0) {
      this.logger.warn('audio that does not match the metadata was moved to quarantine, not deleted: see `earshot repair`', { items: outcome.quarantined.length });
    }
  }

  /** What is in quarantine (earshot repair, earshot status). */
  list(): Promise<QuarantinedItem[]> {
    return this.quarantine.list();
  }

  /**
   * Puts a quarantined item back where the metadata now says it belongs: a blob into the file of the owner whose
   * row names its recording (it opens only if it really is theirs), an owner's file back if that owner exists
   * and has no file. Refused (BAD_ARGUMENT) when there is nowhere to put it.
   */
  async restore(id: string): Promise<{ restoredTo: string }> {
    const item = await this.quarantine.get(id);
    return this.db.transaction(async (sql) => {
      if (item.kind === 'blob') {
        const owner = (await sql.get<{ owner_id: string }>('SELECT owner_id FROM recordings WHERE id = ?', [item.recordingId]))?.owner_id;
        if (owner === undefined) throw new EarshotError('BAD_ARGUMENT', `no recording row names ${item.recordingId}: nothing to restore it to (discard it instead)`);
        await this.vault.put(owner, item.recordingId!, await fs.readFile(this.quarantine.blobPath(id)));
        await this.quarantine.remove(id);
        return { restoredTo: owner };
      }
      const owner = item.foundInOwnerFile;
      const exists = await sql.get('SELECT 1 AS x FROM owners WHERE id = ?', [owner]);
      if (!exists) throw new EarshotError('BAD_ARGUMENT', `owner ${owner} does not exist: nothing to restore the file to (discard it instead)`);
      if ((await this.vault.owners()).includes(owner)) throw new EarshotError('BAD_ARGUMENT', `owner ${owner} has an audio file again; move the quarantined file by hand if it is the right one`);
      await fs.mkdir(this.vault.dir, { recursive: true, mode: 0o700 });
      await fs.rename(this.quarantine.filePath(id), path.join(this.vault.dir, `${owner}.db`));
      await fs.rename(`${this.quarantine.filePath(id)}-wal`, path.join(this.vault.dir, `${owner}.db-wal`)).catch(() => undefined);
      await this.quarantine.remove(id);
      return { restoredTo: owner };
    });
  }

  /** Deletes a quarantined item for good. */
  async discard(id: string): Promise<QuarantinedItem> {
    const item = await this.quarantine.get(id);
    await this.quarantine.remove(id);
    return item;
  }
}
