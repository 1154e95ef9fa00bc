/**
 * The encrypted per-owner store: composition of the SQLite connection, keys, repositories and audit log.
 *
 * Opening order matters for "bad input leaves the database untouched": key file checks and the key-id /
 * key-check comparison happen before any write (journal mode, migrations), so a wrong or unsafe key file,
 * or a corrupt database, fails with a typed error and the file is not modified.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { AuditLog, type AnchorStore, type PersonalSealer } from '../audit/audit-log.js';
import { GENESIS_HASH, type AuditAnchor } from '../audit/chain.js';
import { systemClock, type Clock } from '../core/clock.js';
import { EarshotError, errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Capture } from '../core/recording.js';
import { auditAnchorAad, auditPersonalAad, deviceKeyWrapAad } from '../crypto/aad.js';
import { newKey, open, seal } from '../crypto/aead.js';
import { FileKeyStore } from '../crypto/file-key-store.js';
import type { KeyEncryptionKey, KeyStore } from '../crypto/key-store.js';
import { AudioVault } from './audio-vault.js';
import { SqliteConsentRepo } from './consent-repo.js';
import type { StoreContext } from './context.js';
import { META, getMetaBlob, getMetaText, setMeta } from './meta.js';
import { migrate, schemaVersion } from './migrate.js';
import { SqliteOutboxRepo } from './outbox-repo.js';
import { OwnerKeys } from './owner-keys.js';
import { OwnerRepo } from './owner-repo.js';
import { RecordingRepo, type RecordingSummary } from './recording-repo.js';
import { SqliteSettingsRepo } from './settings-repo.js';
import { SqliteDb, diskFullInstead, type Sql } from './sqlite.js';
import { WebNoticeRepo } from './web-notice-repo.js';
import { WebSessionRepo } from './web-session-repo.js';

export const DB_FILE_NAME = 'earshot.db';

export interface StoreOptions {
  dataDir: string;
  /** Written into every recording's associated data. */
  deviceId: string;
  /** Defaults to the key file `<dataDir>/device.key`. */
  keyStore?: KeyStore;
  clock?: Clock;
  logger?: Logger;
  /** Create the database when missing (only `initDataDir` should). */
  create?: boolean;
  /** Privacy defaults for new owners (config.privacy). */
  defaults?: { retentionDays?: number; localOnly?: boolean };
  /** 'normal' (default): safe against process crashes, may lose the last commits on power loss. */
  synchronous?: 'normal' | 'full';
  busyTimeoutMs?: number;
}

export interface EraseResult {
  ownerId: string;
  recordings: number;
  consentEvents: number;
}

/** Creates the data directory (0700), the key file (0600) and the database. Idempotent for an existing setup. */
export async function initDataDir(
  dataDir: string,
  opts: { deviceId: string; keyStore?: FileKeyStore; logger?: Logger; clock?: Clock },
): Promise<{ created: boolean; dbFile: string; keyFile: string }> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyStore = opts.keyStore ?? FileKeyStore.inDataDir(dataDir);
  const dbFile = path.join(dataDir, DB_FILE_NAME);
  const hadKey = await keyStore.exists();
  const hadDb = existsSync(dbFile);
  if (hadDb && !hadKey) {
    throw new EarshotError('KEY_FILE_MISSING', `${dbFile} exists but its key file ${keyStore.location} is missing; restore the key file (a new key cannot open it)`);
  }
  if (!hadKey) await keyStore.create();
  const store = await RecordingStore.open({ dataDir, deviceId: opts.deviceId, keyStore, create: true, logger: opts.logger, clock: opts.clock });
  await store.close();
  // SQLite creates the WAL and shared-memory files with the database file's mode.
  await fs.chmod(dbFile, 0o600);
  return { created: !hadKey || !hadDb, dbFile, keyFile: keyStore.location };
}

export class RecordingStore {
  readonly consent: SqliteConsentRepo;
  readonly outbox: SqliteOutboxRepo;
  readonly settings: SqliteSettingsRepo;
  readonly owners: OwnerRepo;
  readonly recordings: RecordingRepo;
  readonly audit: AuditLog;
  /** The owner's page (src/web): pairing codes, sessions, notices. */
  readonly webSessions: WebSessionRepo;
  readonly webNotices: WebNoticeRepo;
  private readonly ctx: StoreContext;

  private constructor(
    private readonly db: SqliteDb,
    private readonly vault: AudioVault,
    private readonly keyStore: KeyStore,
    private readonly keys: OwnerKeys,
    private deviceDataKey: Buffer,
    readonly deviceId: string,
    readonly dataDir: string,
    clock: Clock,
    private readonly logger: Logger,
    defaults: { retentionDays: number; localOnly: boolean },
  ) {
    const anchors: AnchorStore = {
      load: (sql) => this.loadAnchor(sql),
      save: (sql, a) => setMeta(sql, META.auditAnchor, seal(this.deviceDataKey, Buffer.from(JSON.stringify(a)), auditAnchorAad())),
    };
    const sealer: PersonalSealer = {
      sealPersonal: async (sql, ownerId, seq, plaintext) => {
        const k = await keys.find(sql, ownerId);
        return k ? { blob: seal(k.key, plaintext, auditPersonalAad(seq, ownerId, k.version)), keyVersion: k.version } : undefined;
      },
      openPersonal: async (sql, ownerId, seq, keyVersion, blob) => {
        const k = await keys.find(sql, ownerId);
        if (!k) return undefined;
        return open(k.key, blob, auditPersonalAad(seq, ownerId, keyVersion), `audit entry #${seq}`);
      },
    };
    this.audit = new AuditLog(db, sealer, anchors, clock);
    this.ctx = {
      db,
      vault,
      keys,
      audit: this.audit,
      clock,
      logger,
      deviceId,
      defaults,
      incident: (detail, ownerId, recordingId) => this.recordIncident(detail, ownerId, recordingId),
    };
    this.consent = new SqliteConsentRepo(this.ctx);
    this.outbox = new SqliteOutboxRepo(db);
    this.settings = new SqliteSettingsRepo(db);
    this.owners = new OwnerRepo(this.ctx);
    this.recordings = new RecordingRepo(this.ctx);
    this.webSessions = new WebSessionRepo(this.ctx);
    this.webNotices = new WebNoticeRepo(this.ctx);
  }

  static async open(opts: StoreOptions): Promise<RecordingStore> {
    const logger = opts.logger ?? silentLogger;
    const clock = opts.clock ?? systemClock;
    const dbFile = path.join(opts.dataDir, DB_FILE_NAME);
    if (!opts.create && !existsSync(dbFile)) {
      throw new EarshotError('NOT_INITIALISED', `no database at ${dbFile}; run \`earshot init\` (or pass --data-dir)`);
    }
    if (typeof opts.deviceId !== 'string' || opts.deviceId === '') throw new EarshotError('BAD_ARGUMENT', 'deviceId is required');
    const keyStore = opts.keyStore ?? FileKeyStore.inDataDir(opts.dataDir);
    const loaded = await keyStore.load();

    const db = await SqliteDb.open(dbFile, { create: opts.create ?? false });
    const vault = new AudioVault(AudioVault.dirIn(opts.dataDir), {
      synchronous: opts.synchronous ?? 'normal',
      busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
      logger,
    });
    try {
      db.configureBusyTimeout(opts.busyTimeoutMs ?? 5000);
      // Read-only probing first: the key must fit before anything is written.
      const version = await schemaVersion(db);
      let kek: KeyEncryptionKey = loaded.current;
      let finishRotation: string | undefined;
      let discardPending = loaded.next !== undefined;
      let deviceDataKey: Buffer | undefined;
      if (version > 0) {
        const expected = await getMetaText(db, META.kekId);
        if (expected === undefined) throw new EarshotError('STORE_CORRUPT', `${dbFile} has no key id; it was not created by earshot init`);
        if (loaded.current.id === expected) {
          kek = loaded.current;
        } else if (loaded.next && loaded.next.id === expected) {
          // Crash after the re-wrap committed but before the key file was swapped: finish the rotation.
          kek = loaded.next;
          finishRotation = expected;
          discardPending = false;
        } else {
          throw new EarshotError(
            'WRONG_KEY',
            `the key file ${keyStore.location} (key ${loaded.current.id}) does not belong to this database (it needs key ${expected})`,
          );
        }
        const wrapped = await getMetaBlob(db, META.deviceDataKey);
        if (!wrapped) throw new EarshotError('STORE_CORRUPT', `${dbFile} has no device data key`);
        try {
          deviceDataKey = kek.unwrap(wrapped, deviceKeyWrapAad(kek.id));
        } catch (e) {
          throw new EarshotError('WRONG_KEY', `the key file ${keyStore.location} has the right id but the wrong key material`, { cause: e });
        }
      }

      // Incremental auto-vacuum must be chosen before the first table exists; it lets erasure give freed pages
      // back in time proportional to what was freed rather than to the whole database (see compact()).
      if (version === 0) {
        await db.exec('PRAGMA auto_vacuum = INCREMENTAL');
        // Recordings are 30–300 KB blobs: bigger pages mean fewer overflow pages to write, free and move.
        await db.exec('PRAGMA page_size = 16384');
      }
      await db.exec('PRAGMA journal_mode = WAL');
      await db.exec('PRAGMA foreign_keys = ON');
      await db.exec('PRAGMA secure_delete = ON');
      await db.exec(`PRAGMA synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      const applied = await migrate(db, undefined, undefined, { vault });
      // Moving the audio out (schema 3) left the old blobs' pages free: give them back now, once.
      if (applied.includes(3)) await RecordingStore.compactDb(db, false);

      if (deviceDataKey === undefined) {
        // A new database: record which KEK it uses, its device data key and the empty audit chain.
        deviceDataKey = newKey();
        const ddk = deviceDataKey;
        await db.transaction(async (sql) => {
          await setMeta(sql, META.kekId, kek.id);
          await setMeta(sql, META.deviceDataKey, kek.wrap(ddk, deviceKeyWrapAad(kek.id)));
          await setMeta(sql, META.createdAt, String(clock.now()));
          await setMeta(sql, META.auditAnchor, seal(ddk, Buffer.from(JSON.stringify({ seq: 0, head: GENESIS_HASH })), auditAnchorAad()));
        });
      }
      if (finishRotation) await keyStore.commitNext(finishRotation);
      else if (discardPending) await keyStore.discardNext();

      const keys = new OwnerKeys(kek, (expectedId) => RecordingStore.reloadKek(keyStore, expectedId));
      const store = new RecordingStore(db, vault, keyStore, keys, deviceDataKey, opts.deviceId, opts.dataDir, clock, logger, {
        retentionDays: opts.defaults?.retentionDays ?? 30,
        localOnly: opts.defaults?.localOnly ?? false,
      });
      if (finishRotation) logger.info('finished an interrupted key rotation', { kekId: finishRotation });
      await store.checkAuditTail();
      await store.reconcileAudio();
      return store;
    } catch (e) {
      await vault.close().catch((closeErr: unknown) => logger.warn('closing the audio files after a failed open failed', { error: errorMessage(closeErr) }));
      await db.close().catch((closeErr: unknown) => logger.warn('closing the database after a failed open failed', { error: errorMessage(closeErr) }));
      throw await diskFullInstead(e, opts.dataDir);
    }
  }

  /** Another process (earshot keys rotate) switched the KEK while we were running. */
  private static async reloadKek(keyStore: KeyStore, expectedId: string): Promise<KeyEncryptionKey> {
    const loaded = await keyStore.load();
    if (loaded.current.id === expectedId) return loaded.current;
    if (loaded.next?.id === expectedId) return loaded.next;
    throw new EarshotError('WRONG_KEY', `the database now needs key ${expectedId}, which ${keyStore.location} does not hold`);
  }

  /** Store a capture for `ownerId` (the owner active when it was captured). Optionally queue it for upload. */
  saveCapture(ownerId: string, capture: Capture, opts: { enqueue?: boolean } = {}): Promise<RecordingSummary> {
    return this.recordings.save(ownerId, capture, opts);
  }

  /**
   * Removes audio that has no recording row and files of owners that do not exist (what a crash between an
   * audio step and its metadata commit leaves; see audio-vault.ts). Holds the metadata write lock, so no
   * other process's save is between its audio write and its row's commit. Runs on every open.
   */
  private async reconcileAudio(): Promise<void> {
    const removed = await this.db.transaction(async (sql) => {
      const rowsByOwner = new Map<string, Set<string>>();
      for (const o of await sql.all<{ id: string }>('SELECT id FROM owners')) rowsByOwner.set(o.id, new Set());
      for (const r of await sql.all<{ id: string; owner_id: string }>('SELECT id, owner_id FROM recordings')) rowsByOwner.get(r.owner_id)?.add(r.id);
      return this.vault.reconcile(rowsByOwner);
    });
    if (removed.filesRemoved > 0 || removed.blobsRemoved > 0) {
      this.logger.info('removed audio left behind by an interrupted delete or erasure', { ...removed });
    }
  }

  /** Lets go of audio files another process erased (the daemon calls this periodically), releasing their space. */
  releaseErasedFiles(): Promise<void> {
    return this.vault.releaseStale();
  }

  /**
   * Crypto-shredding: destroy the owner's wrapped key, delete their rows (recordings, consent, outbox), and in
   * the same transaction re-wrap every remaining data key under a *new* device key, destroying the old one.
   * That last step is what makes a copy of the database taken before the erasure (a backup, a stale WAL)
   * useless: its wrapped key for this owner needs a device key that no longer exists. Then the owner's audio
   * file is removed, and the metadata database's WAL is checkpointed and vacuumed so the freed pages leave
   * the files too. Audit entries stay (the chain must verify) but their personal parts were sealed under the
   * destroyed key and are now unreadable.
   */
  async eraseOwner(
    ownerId: string,
    opts: { vacuum?: 'incremental' | 'full' | 'none'; reason?: string; /** Where the request came from, recorded in the audit entry. */ source?: string; /** Called once the key is destroyed and the rows deleted (committed). */ onShredded?: () => void } = {},
  ): Promise<EraseResult> {
    const vacuum = opts.vacuum ?? 'incremental';
    const { result } = await this.rekey('erasure', (sql) => this.eraseIn(sql, ownerId, opts.reason ?? 'owner-request', opts.source));
    opts.onShredded?.();
    // If this fails (or the process dies first), the next open's reconcile removes the file: its owner is gone.
    await this.vault.removeOwner(ownerId);
    if (vacuum !== 'none') await this.compact({ full: vacuum === 'full' });
    return result;
  }

  private async eraseIn(sql: Sql, ownerId: string, reason: string, source?: string): Promise<EraseResult> {
    await this.owners.requireRow(sql, ownerId);
    const recordings = (await sql.get<{ n: number }>('SELECT count(*) AS n FROM recordings WHERE owner_id = ?', [ownerId]))?.n ?? 0;
    const consentEvents = (await sql.get<{ n: number }>('SELECT count(*) AS n FROM consent WHERE owner_id = ?', [ownerId]))?.n ?? 0;
    // Overwrite first: with secure_delete the old page content is zeroed, and the key is gone before any row is.
    await sql.run('UPDATE owners SET wrapped_key = zeroblob(length(wrapped_key)), sealed_profile = zeroblob(length(sealed_profile)) WHERE id = ?', [ownerId]);
    await sql.run('DELETE FROM outbox WHERE owner_id = ?', [ownerId]);
    await sql.run('DELETE FROM consent WHERE owner_id = ?', [ownerId]);
    await sql.run('DELETE FROM recordings WHERE owner_id = ?', [ownerId]);
    await sql.run('DELETE FROM owners WHERE id = ?', [ownerId]);
    await this.owners.clearActiveIf(sql, ownerId);
    await this.audit.appendIn(sql, { type: 'owner.erased', ownerId, detail: { recordings, consentEvents, reason, ...(source !== undefined ? { source } : {}) } });
    return { ownerId, recordings, consentEvents };
  }

  /**
   * Ownership transfer (device sold or handed on): shreds every existing owner (with a device-key rotation,
   * as in eraseOwner), then adds the new owner and makes them active. Export first
   * (privacy/erasure transferDevice) if the previous owners asked.
   */
  async transferTo(newOwnerName: string, opts: { retentionDays?: number; localOnly?: boolean } = {}): Promise<{ ownerId: string; erased: EraseResult[] }> {
    const { result: erased } = await this.rekey('ownership-transfer', async (sql) => {
      const ids = (await sql.all<{ id: string }>('SELECT id FROM owners ORDER BY created_at, id')).map((r) => r.id);
      const out: EraseResult[] = [];
      for (const id of ids) out.push(await this.eraseIn(sql, id, 'ownership-transfer'));
      await this.audit.appendIn(sql, { type: 'owner.transferred', detail: { erasedOwners: ids.length } });
      return out;
    });
    for (const e of erased) await this.vault.removeOwner(e.ownerId);
    await this.compact();
    const ownerId = await this.owners.add(newOwnerName, opts);
    await this.owners.use(ownerId);
    return { ownerId, erased };
  }

  /**
   * Checkpoint the WAL (truncating it) and vacuum, so deleted pages leave both files. secure_delete has
   * already zeroed the deleted content; with incremental auto-vacuum (every database created by this code)
   * the freed pages are returned with `incremental_vacuum`, whose cost follows the size of what was deleted;
   * `full: true` (or a database without auto-vacuum) runs a full VACUUM, which rewrites the whole file.
   */
  async compact(opts: { full?: boolean } = {}): Promise<void> {
    await RecordingStore.compactDb(this.db, opts.full ?? false);
  }

  private static compactDb(db: SqliteDb, full: boolean): Promise<void> {
    return db.exclusive(async (sql) => {
      await sql.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      const mode = (await sql.get<{ auto_vacuum: number }>('PRAGMA auto_vacuum'))?.auto_vacuum ?? 0;
      if (full || mode !== 2) await sql.exec('VACUUM');
      else await sql.all('PRAGMA incremental_vacuum');
      await sql.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    });
  }

  /**
   * Re-wrap every data key (and the device data key) under a new KEK; recordings are untouched.
   * Crash-safe: new key staged as a second file → one transaction re-wraps and records the new key id →
   * the key file is atomically replaced. On open, the key id the database names decides which file is used.
   */
  async rotateKeys(): Promise<{ from: string; to: string; owners: number }> {
    const r = await this.rekey('rotation', async () => undefined);
    return { from: r.from, to: r.to, owners: r.owners };
  }

  /** Runs `change` and a KEK rotation in one transaction (see rotateKeys for the crash-safety protocol). */
  private async rekey<T>(reason: string, change: (sql: Sql) => Promise<T>): Promise<{ result: T; from: string; to: string; owners: number }> {
    const from = this.keys.kekId;
    const next = await this.keyStore.stageNext();
    let out: { result: T; owners: number };
    try {
      out = await this.db.transaction(async (sql) => {
        const result = await change(sql);
        const rows = await sql.all<{ id: string }>('SELECT id FROM owners ORDER BY id');
        for (const r of rows) {
          const k = await this.keys.require(sql, r.id);
          await sql.run('UPDATE owners SET wrapped_key = ? WHERE id = ?', [this.keys.rewrap(k, next), r.id]);
        }
        await setMeta(sql, META.deviceDataKey, next.wrap(this.deviceDataKey, deviceKeyWrapAad(next.id)));
        await setMeta(sql, META.kekId, next.id);
        await this.audit.appendIn(sql, { type: 'key.rotated', detail: { from, to: next.id, owners: rows.length, reason } });
        return { result, owners: rows.length };
      });
    } catch (e) {
      // The database still names the old key: drop the staged one (a crash here is handled on open instead).
      await this.keyStore.discardNext();
      throw e;
    }
    this.keys.useKek(next);
    await this.keyStore.commitNext(next.id);
    return { result: out.result, from, to: next.id, owners: out.owners };
  }

  /** Non-personal counters for `earshot status`. */
  stats(): Promise<{ owners: number; recordings: number; outbox: number; auditEntries: number; schemaVersion: number; activeOwnerId: string | null }> {
    return this.db.exclusive(async (sql) => {
      const n = async (q: string) => (await sql.get<{ n: number }>(q))?.n ?? 0;
      return {
        owners: await n('SELECT count(*) AS n FROM owners'),
        recordings: await n('SELECT count(*) AS n FROM recordings'),
        outbox: await n('SELECT count(*) AS n FROM outbox'),
        auditEntries: (await this.loadAnchor(sql)).seq,
        schemaVersion: (await sql.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0,
        activeOwnerId: (await getMetaText(sql, META.activeOwner)) ?? null,
      };
    });
  }

  /**
   * `PRAGMA integrity_check` of the metadata database and every owner's audio file ('ok' when all are
   * healthy). Reads every file whole: not for every start on big stores.
   */
  async integrityCheck(): Promise<string> {
    const main = await this.db.exclusive(async (sql) => {
      const rows = await sql.all<{ integrity_check: string }>('PRAGMA integrity_check');
      return rows.map((r) => r.integrity_check).join('; ');
    });
    const audio = await this.vault.integrityProblems();
    if (main === 'ok' && audio.length === 0) return 'ok';
    return [...(main === 'ok' ? [] : [main]), ...audio.map((p) => `audio ${p}`)].join('; ');
  }

  /**
   * On open: if the audit table's tail does not match the sealed head (entries removed or forged), record an
   * incident and keep going. The next entry chains from the sealed head, so the gap stays visible to verify.
   */
  private async checkAuditTail(): Promise<void> {
    let ok: boolean;
    try {
      ok = await this.audit.tailMatchesHead();
    } catch (e) {
      if (!(e instanceof EarshotError && e.code === 'INTEGRITY')) throw e;
      ok = false;
    }
    if (!ok) {
      this.logger.warn('the audit log does not end at its sealed head: entries were removed or added; run `earshot audit verify`');
      await this.recordIncident({ kind: 'audit-tail-mismatch' });
    }
  }

  async recordIncident(detail: Record<string, string | number | boolean | null>, ownerId?: string, recordingId?: string): Promise<void> {
    try {
      await this.audit.append({
        type: 'incident',
        ...(ownerId !== undefined ? { ownerId } : {}),
        ...(recordingId !== undefined ? { recordingId } : {}),
        detail,
      });
    } catch (e) {
      this.logger.error('could not record an incident in the audit log', { error: errorMessage(e), kind: detail['kind'] ?? null });
    }
  }

  get databaseFile(): string {
    return this.db.file;
  }

  async close(): Promise<void> {
    await this.db.close();
    await this.vault.close();
    this.deviceDataKey.fill(0);
  }

  private async loadAnchor(sql: Sql): Promise<AuditAnchor> {
    const blob = await getMetaBlob(sql, META.auditAnchor);
    if (!blob) throw new EarshotError('INTEGRITY', 'the sealed audit head is missing');
    const a = JSON.parse(open(this.deviceDataKey, blob, auditAnchorAad(), 'sealed audit head').toString('utf8')) as AuditAnchor;
    return a;
  }
}
