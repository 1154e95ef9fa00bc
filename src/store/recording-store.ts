/**
 * The encrypted per-owner store: composition of the SQLite connection, keys, repositories and audit log.
 *
 * Opening order matters for "bad input leaves the database untouched": key file checks and the key-id /
 * key-check comparison happen before any write (journal mode, migrations), so a wrong or unsafe key file,
 * or a corrupt database, fails with a typed error and the file is not modified.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { AuditLog, GENESIS_HASH, type AnchorStore, type AuditAnchor, type ExternalAnchor, type PersonalSealer } from '../audit/index.js';
import { systemClock, type Clock } from '../core/index.js';
import { EarshotError, errorMessage } from '../core/index.js';
import { silentLogger, type Logger } from '../core/index.js';
import type { OutboxRepo, QuarantinedItem, SettingsRepo, StoreMaintenance, StoreStats } from '../core/index.js';
import { auditAnchorAad, auditPersonalAad, deviceKeyWrapAad, FileKeyStore, newKey, open, seal, type KeyEncryptionKey, type KeyStore } from '../crypto/index.js';
import { AudioVault } from './audio-vault.js';
import { sealLegacyConsent } from './consent-repo.js';
import { ExportStaging } from './export-staging.js';
import { AudioRepair } from './audio-repair.js';
import { Quarantine } from './quarantine.js';
import type { StoreContext } from './context.js';
import { META, getMetaBlob, getMetaText, setMeta } from './meta.js';
import { migrate, schemaVersion } from './migrate.js';
import { SqliteOutboxRepo } from './outbox-repo.js';
import { OwnerKeys } from './owner-keys.js';
import { SqliteSettingsRepo } from './settings-repo.js';
import { SqliteDb, diskFullInstead, type Sql } from './sqlite.js';
import { SqliteUnitOfWork } from './unit-of-work.js';

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
  /** 'normal' (default): safe against process crashes, may lose the last commits on power loss. */
  synchronous?: 'normal' | 'full';
  busyTimeoutMs?: number;
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

/**
 * The encrypted store: opens the database and the owners' audio files with the device key, runs migrations,
 * and owns the key lifecycle (the device-key rotation that erasure and `keys rotate` run inside their unit of
 * work). Everything that happens to personal data is a unit of work of the application layer (src/app).
 */
export class RecordingStore implements StoreMaintenance {
  readonly uow: SqliteUnitOfWork;
  /** The outbox and settings outside a unit of work, one statement at a time (uplink, fleet receiver, status). */
  readonly outbox: OutboxRepo;
  readonly settings: SettingsRepo;
  readonly audit: AuditLog;
  private readonly repair: AudioRepair;

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
  ) {
    const anchors: AnchorStore = {
      load: (sql) => this.loadAnchor(sql as Sql),
      save: (sql, a) => setMeta(sql as Sql, META.auditAnchor, seal(this.deviceDataKey, Buffer.from(JSON.stringify(a)), auditAnchorAad())),
    };
    const sealer: PersonalSealer = {
      sealPersonal: async (sql, ownerId, seq, plaintext) => {
        const k = await keys.find(sql as Sql, ownerId);
        return k ? { blob: seal(k.key, plaintext, auditPersonalAad(seq, ownerId, k.version)), keyVersion: k.version } : undefined;
      },
      openPersonal: async (sql, ownerId, seq, keyVersion, blob) => {
        const k = await keys.find(sql as Sql, ownerId);
        if (!k) return undefined;
        return open(k.key, blob, auditPersonalAad(seq, ownerId, keyVersion), `audit entry #${seq}`);
      },
    };
    // The head is also kept in the key store (outside this database), so a database copy put back is behind it.
    const slot = keyStore.state;
    const external: ExternalAnchor | undefined = slot ? { read: () => slot.readAuditAnchor(), write: (a) => slot.writeAuditAnchor(a) } : undefined;
    this.audit = new AuditLog(db, sealer, anchors, clock, external);
    const ctx: StoreContext = { vault, keys, clock, logger, deviceId, ...(slot ? { recordErasure: (id: string) => slot.recordErasure(id) } : {}) };
    this.uow = new SqliteUnitOfWork(db, ctx, this.audit, {
      get currentId() {
        return keys.kekId;
      },
      stage: () => keyStore.stageNext(),
      rewrapAll: (sql, next) => this.rewrapAll(sql, next),
      commit: async (next) => {
        keys.useKek(next);
        await keyStore.commitNext(next.id);
      },
      discard: () => keyStore.discardNext(),
    });
    this.repair = new AudioRepair(db, vault, Quarantine.in(dataDir), this.audit, clock, logger);
    const autocommit = { sql: autocommitSql(db) };
    this.outbox = new SqliteOutboxRepo(autocommit);
    this.settings = new SqliteSettingsRepo(autocommit);
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
      if (applied.includes(4) && version > 0) {
        const sealed = await db.transaction((sql) => sealLegacyConsent(sql, (ownerId) => keys.require(sql, ownerId)));
        logger.info('sealed the consent ledger written before schema 4', { rows: sealed });
      }
      const store = new RecordingStore(db, vault, keyStore, keys, deviceDataKey, opts.deviceId, opts.dataDir, clock, logger);
      if (finishRotation) logger.info('finished an interrupted key rotation', { kekId: finishRotation });
      await store.checkAuditTail();
      await store.reconcileAudio();
      await ExportStaging.in(opts.dataDir).removeStale(logger);
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

  /** The start-up repair (see audio-repair.ts). Runs on every open. */
  private reconcileAudio(): Promise<void> {
    return this.repair.reconcile();
  }

  /** What is in quarantine (earshot repair, earshot status). */
  quarantined(): Promise<QuarantinedItem[]> {
    return this.repair.list();
  }

  restoreQuarantined(id: string): Promise<{ restoredTo: string }> {
    return this.repair.restore(id);
  }

  discardQuarantined(id: string): Promise<QuarantinedItem> {
    return this.repair.discard(id);
  }

  /** Lets go of audio files another process erased (the daemon calls this periodically), releasing their space. */
  releaseErasedFiles(): Promise<void> {
    return this.vault.releaseStale();
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
   * Inside the rekeying unit of work: re-wrap every remaining data key (and the device data key) under the
   * staged KEK; recordings are untouched. Crash-safe: the new key is staged as a second file → this transaction
   * re-wraps and records the new key id → the key file is atomically replaced. On open, the key id the database
   * names decides which file is used.
   */
  private async rewrapAll(sql: Sql, next: KeyEncryptionKey): Promise<void> {
    const rows = await sql.all<{ id: string }>('SELECT id FROM owners ORDER BY id');
    for (const r of rows) {
      const k = await this.keys.require(sql, r.id);
      await sql.run('UPDATE owners SET wrapped_key = ? WHERE id = ?', [this.keys.rewrap(k, next), r.id]);
    }
    await setMeta(sql, META.deviceDataKey, next.wrap(this.deviceDataKey, deviceKeyWrapAad(next.id)));
    await setMeta(sql, META.kekId, next.id);
  }

  /** Non-personal counters for `earshot status`. */
  async stats(): Promise<StoreStats> {
    const quarantined = (await this.repair.list()).length;
    return this.db.exclusive(async (sql) => {
      const n = async (q: string) => (await sql.get<{ n: number }>(q))?.n ?? 0;
      return {
        owners: await n('SELECT count(*) AS n FROM owners'),
        recordings: await n('SELECT count(*) AS n FROM recordings'),
        outbox: await n('SELECT count(*) AS n FROM outbox'),
        auditEntries: (await this.loadAnchor(sql)).seq,
        schemaVersion: (await sql.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0,
        activeOwnerId: (await getMetaText(sql, META.activeOwner)) ?? null,
        quarantined,
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
      try {
        await this.audit.append({ type: 'incident', detail: { kind: 'audit-tail-mismatch' } });
      } catch (e) {
        this.logger.error('could not record an incident in the audit log', { error: errorMessage(e), kind: 'audit-tail-mismatch' });
      }
    }
    // A truncated tail is already reported above; the anchor check is for a whole database put back.
    const external = ok ? await this.audit.checkExternalAnchor() : 'none';
    if (external === 'adopted') this.logger.info('the key store now keeps the audit head (first open with an anchor slot)');
    if (external === 'recovered') this.logger.info('the last run was stopped between writing the audit anchor and its commit; the anchor is back at the committed head');
    if (external === 'rolled-back') {
      this.logger.warn('the audit log is behind the head kept in the key store: an older database was put back; run `earshot audit verify`');
      try {
        // Recorded once, not at every start (the anchor stays where it was, so every start finds it again).
        if (!(await this.audit.hasIncident('audit-rolled-back'))) await this.audit.append({ type: 'incident', detail: { kind: 'audit-rolled-back' } });
      } catch (e) {
        this.logger.error('could not record an incident in the audit log', { error: errorMessage(e), kind: 'audit-rolled-back' });
      }
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

/** Each statement alone on the connection, committed on its own (single-statement repositories outside a unit of work). */
function autocommitSql(db: SqliteDb): Sql {
  return {
    run: (q, p) => db.exclusive((sql) => sql.run(q, p)),
    get: (q, p) => db.exclusive((sql) => sql.get(q, p)),
    all: (q, p) => db.exclusive((sql) => sql.all(q, p)),
    exec: (q) => db.exclusive((sql) => sql.exec(q)),
  } as Sql;
}
