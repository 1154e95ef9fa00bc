/**
 * Backups that do not undo erasure.
 *
 * `createBackup` snapshots the metadata database and every owner's audio file (VACUUM INTO, while a write
 * lock on the metadata database keeps deletions out of the way), re-wraps the snapshot's keys under a fresh
 * *backup key* that exists nowhere else, and writes one file encrypted under a key derived from a passphrase
 * (scrypt → AES-256-GCM, the export bundle cipher). The backup never contains the device key, in any form:
 * without the passphrase it opens nothing, and it does not depend on the device's key file (a new device can
 * restore it).
 *
 * `restoreBackup` decrypts it into a 0700 staging directory inside the data directory, re-applies every
 * erasure the device's key store lists (owner ids only) to the staged copy *before* it replaces anything,
 * re-wraps it under the device key, swaps it in, moves the key store's audit anchor to the restored head and
 * records `backup.restored` (with the head it replaced) in the audit log.
 *
 * What it cannot do: whoever holds a backup *and* its passphrase can read, outside Earshot, every owner that
 * existed when it was taken — including owners erased later. Restoring through Earshot re-applies the
 * erasures; destroying old backups (or their passphrase) is the only way to erase from them. (README.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../core/index.js';
import { EarshotError, errorMessage } from '../core/index.js';
import { silentLogger, type Logger } from '../core/index.js';
import { DEVICE_ID_FILE, type DeviceConfig } from '../config/index.js';
import { MemoryKek, MemoryKeyStore, type KeyEncryptionKey, type KeyStore } from '../crypto/index.js';
import { openApp } from '../open-app.js';
import { decryptBundleFile, EncryptingSink, TarWriter, type ByteSink } from '../privacy/index.js';
import { AUDIO_DIR_NAME, DB_FILE_NAME, ExportStaging, RecordingStore, SqliteDb } from '../store/index.js';
import { kekIdOf, rewrapDatabase } from './rewrap.js';
import { readTar } from './tar-read.js';

export const BACKUP_FORMAT = 'earshot-backup';
export const BACKUP_FORMAT_VERSION = 1;
const MANIFEST = 'manifest.json';
const SAFE_AUDIO = /^audio\/[A-Za-z0-9_-]{1,64}\.db$/;

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_FORMAT_VERSION;
  createdAt: string;
  deviceId: string;
  /** The audit head of the snapshot (seq, hash). */
  auditHead: { seq: number; hash: string };
  /** The key the snapshot's keys are wrapped under; only ever inside the passphrase-encrypted file. */
  backupKey: { id: string; key: string };
  files: { path: string; bytes: number; sha256: string }[];
}

export interface BackupResult {
  out: string;
  bytes: number;
  owners: number;
  auditHead: { seq: number; hash: string };
}

export interface RestoreResult {
  owners: number;
  /** Owners present in the backup that were erased after it was taken: erased again before anything else saw them. */
  erasedAgain: string[];
  auditHead: { seq: number; hash: string };
  /** The head the restore replaced (from the key store), if any. */
  replacedHead: { seq: number; hash: string } | null;
}

interface StoreFiles {
  /** The device config (its dataDir is the data directory; restore opens the application layer on a staged copy). */
  config: DeviceConfig;
  dataDir: string;
  deviceId: string;
  keyStore: KeyStore;
  clock: Clock;
  logger?: Logger;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * A private 0700 directory for one backup or restore: the store's staging area (same file system, so renames
 * are atomic; only the service user can read it), whose leftovers after a kill are removed at the next start —
 * a decrypted backup must never outlive the command that decrypted it.
 */
async function stagingDir(dataDir: string): Promise<string> {
  return ExportStaging.in(dataDir).create();
}

async function deviceKek(keyStore: KeyStore, dbFile: string): Promise<KeyEncryptionKey> {
  const wanted = await kekIdOf(dbFile);
  const loaded = await keyStore.load();
  if (loaded.current.id === wanted) return loaded.current;
  if (loaded.next?.id === wanted) {
    throw new EarshotError('STORE_IO', 'a key rotation is unfinished; run any earshot command (e.g. earshot status) to finish it, then retry');
  }
  throw new EarshotError('WRONG_KEY', `the key file ${keyStore.location} does not belong to ${dbFile}`);
}

async function lastAuditHead(dbFile: string): Promise<{ seq: number; hash: string }> {
  const db = await SqliteDb.open(dbFile);
  try {
    const row = await db.get<{ seq: number; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    return row ? { seq: row.seq, hash: row.hash } : { seq: 0, hash: '0'.repeat(64) };
  } finally {
    await db.close();
  }
}

class FileSink implements ByteSink {
  bytes = 0;
  constructor(private readonly fh: fs.FileHandle) {}
  async write(chunk: Buffer): Promise<void> {
    await this.fh.write(chunk);
    this.bytes += chunk.length;
  }
}

/** Snapshot, re-wrap under a fresh backup key, encrypt under the passphrase. The output appears only when complete. */
export async function createBackup(s: StoreFiles, opts: { out: string; passphrase: string }): Promise<BackupResult> {
  if (await exists(opts.out)) throw new EarshotError('BAD_ARGUMENT', `${opts.out} already exists; choose a new output path`);
  const dbFile = path.join(s.dataDir, DB_FILE_NAME);
  if (!existsSync(dbFile)) throw new EarshotError('NOT_INITIALISED', `no database at ${dbFile}; nothing to back up`);
  const staging = await stagingDir(s.dataDir);
  const tmpOut = `${opts.out}.partial-${randomBytes(6).toString('hex')}`;
  let wroteTmp = false;
  try {
    const from = await deviceKek(s.keyStore, dbFile);
    await snapshot(s.dataDir, staging);
    const snapDb = path.join(staging, DB_FILE_NAME);
    const backupKek = MemoryKek.generate('backup');
    const { owners } = await rewrapDatabase(snapDb, from, backupKek);
    const auditHead = await lastAuditHead(snapDb);

    const files: { path: string; data: Buffer }[] = [{ path: DB_FILE_NAME, data: await fs.readFile(snapDb) }];
    const audioDir = path.join(staging, AUDIO_DIR_NAME);
    for (const f of (await exists(audioDir)) ? (await fs.readdir(audioDir)).sort() : []) {
      files.push({ path: `${AUDIO_DIR_NAME}/${f}`, data: await fs.readFile(path.join(audioDir, f)) });
    }
    const idFile = path.join(s.dataDir, DEVICE_ID_FILE);
    if (await exists(idFile)) files.push({ path: DEVICE_ID_FILE, data: await fs.readFile(idFile) });
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      createdAt: new Date(s.clock.now()).toISOString(),
      deviceId: s.deviceId,
      auditHead,
      backupKey: { id: backupKek.id, key: backupKek.exportKey().toString('base64') },
      files: files.map((f) => ({ path: f.path, bytes: f.data.length, sha256: sha256(f.data) })),
    };

    const fh = await fs.open(tmpOut, 'wx', 0o600);
    wroteTmp = true;
    let bytes: number;
    try {
      const sink = new FileSink(fh);
      const enc = await EncryptingSink.start(sink, opts.passphrase);
      const tar = new TarWriter(enc, s.clock.now());
      await tar.addFile(MANIFEST, Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'));
      for (const f of files) await tar.addFile(f.path, f.data);
      await tar.finish();
      await enc.finish();
      await fh.sync();
      bytes = sink.bytes;
    } finally {
      await fh.close();
    }
    await fs.rename(tmpOut, opts.out);
    wroteTmp = false;
    return { out: opts.out, bytes, owners, auditHead };
  } finally {
    if (wroteTmp) await fs.rm(tmpOut, { force: true });
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/**
 * Consistent copies of the metadata database and the audio files. Under a short write lock on the metadata
 * database (no recording row can be committed or deleted meanwhile) the metadata is copied and a read
 * snapshot is opened on every audio file; the lock is then released and the audio is copied from those
 * snapshots while the daemon keeps recording. Every row in the copy has its audio (audio written for a row
 * not yet committed is an orphan the next open removes). Measured: README, Backups.
 */
async function snapshot(dataDir: string, staging: string): Promise<void> {
  const dbFile = path.join(dataDir, DB_FILE_NAME);
  const audioDir = path.join(dataDir, AUDIO_DIR_NAME);
  const names = (await exists(audioDir)) ? (await fs.readdir(audioDir)).filter((n) => /^[A-Za-z0-9_-]{1,64}\.db$/.test(n)).sort() : [];
  const readers: { name: string; db: SqliteDb }[] = [];
  try {
    const lock = await SqliteDb.open(dbFile);
    lock.configureBusyTimeout(10_000);
    try {
      await lock.exec('BEGIN IMMEDIATE');
      try {
        await vacuumInto(dbFile, path.join(staging, DB_FILE_NAME));
        for (const n of names) {
          const db = await SqliteDb.open(path.join(audioDir, n));
          readers.push({ name: n, db });
          db.configureBusyTimeout(10_000);
          await db.exec('BEGIN');
          await db.get('SELECT count(*) AS n FROM audio'); // the read snapshot starts here
        }
      } finally {
        await lock.exec('ROLLBACK');
      }
    } finally {
      await lock.close();
    }
    if (readers.length > 0) await fs.mkdir(path.join(staging, AUDIO_DIR_NAME), { mode: 0o700 });
    for (const r of readers) await copyAudio(r.db, path.join(staging, AUDIO_DIR_NAME, r.name));
  } finally {
    for (const r of readers) await r.db.close();
  }
}

/**
 * Rows of an audio file's read snapshot into a new file with the audio vault's schema (version 1; the
 * restore opens it through AudioVault, which checks the version), in batches.
 */
async function copyAudio(from: SqliteDb, to: string): Promise<void> {
  const out = await SqliteDb.open(to, { create: true });
  try {
    await out.exec('PRAGMA page_size = 16384');
    await out.exec('PRAGMA secure_delete = ON');
    await out.transaction(async (sql) => {
      await sql.exec('CREATE TABLE audio (recording_id TEXT PRIMARY KEY, sealed BLOB NOT NULL)');
      await sql.exec('PRAGMA user_version = 1');
      let after = '';
      for (;;) {
        const rows = await from.all<{ recording_id: string; sealed: Buffer }>('SELECT recording_id, sealed FROM audio WHERE recording_id > ? ORDER BY recording_id LIMIT 64', [after]);
        if (rows.length === 0) break;
        for (const r of rows) await sql.run('INSERT INTO audio (recording_id, sealed) VALUES (?, ?)', [r.recording_id, r.sealed]);
        after = rows[rows.length - 1]!.recording_id;
      }
    });
  } finally {
    await out.close();
  }
  await fs.chmod(to, 0o600);
}

async function vacuumInto(file: string, to: string): Promise<void> {
  const db = await SqliteDb.open(file);
  db.configureBusyTimeout(10_000);
  try {
    await db.run('VACUUM INTO ?', [to]);
  } finally {
    await db.close();
  }
  await fs.chmod(to, 0o600);
}

function parseManifest(data: Buffer | undefined, what: string): BackupManifest {
  let m: Partial<BackupManifest>;
  try {
    m = JSON.parse(data?.toString('utf8') ?? '') as Partial<BackupManifest>;
  } catch {
    throw new EarshotError('INTEGRITY', `${what}: no readable manifest`);
  }
  if (m.format !== BACKUP_FORMAT || m.version !== BACKUP_FORMAT_VERSION) {
    throw new EarshotError('BAD_ARGUMENT', `${what} is not an Earshot backup (format ${String(m.format)} version ${String(m.version)})`);
  }
  if (!m.backupKey || typeof m.backupKey.id !== 'string' || typeof m.backupKey.key !== 'string' || !Array.isArray(m.files) || !m.auditHead || typeof m.deviceId !== 'string') {
    throw new EarshotError('INTEGRITY', `${what}: malformed manifest`);
  }
  return m as BackupManifest;
}

/**
 * Replace this device's data with a backup, re-applying every erasure recorded in the device's key store.
 * The device must be initialised (its key file exists); stop the daemon first.
 */
export async function restoreBackup(s: StoreFiles, opts: { in: string; passphrase: string }): Promise<RestoreResult> {
  const log = s.logger ?? silentLogger;
  const slot = s.keyStore.state;
  if (!slot) throw new EarshotError('BAD_ARGUMENT', `the key store ${s.keyStore.location} keeps no erasure list; restore needs one`);
  const staging = await stagingDir(s.dataDir);
  /** Between the first and the last rename of the swap, staging holds the only copy of one side: never removed then. */
  let swapping = false;
  let replacedDir: string | undefined;
  try {
    const tarFile = path.join(staging, 'backup.tar');
    await decryptBundleFile(opts.in, tarFile, opts.passphrase);
    const entries = readTar(await fs.readFile(tarFile), opts.in);
    await fs.rm(tarFile, { force: true });
    const byPath = new Map(entries.map((e) => [e.path, e.data] as const));
    const manifest = parseManifest(byPath.get(MANIFEST), opts.in);
    for (const f of manifest.files) {
      if (f.path !== DB_FILE_NAME && f.path !== DEVICE_ID_FILE && !SAFE_AUDIO.test(f.path)) throw new EarshotError('INTEGRITY', `${opts.in}: unexpected file ${f.path}`);
      const data = byPath.get(f.path);
      if (!data || data.length !== f.bytes || sha256(data) !== f.sha256) throw new EarshotError('INTEGRITY', `${opts.in}: ${f.path} does not match the manifest`);
    }
    if (!manifest.files.some((f) => f.path === DB_FILE_NAME)) throw new EarshotError('INTEGRITY', `${opts.in}: no database in the backup`);

    // 1. Stage the backup as a data directory of its own, under its backup key.
    const stagedData = path.join(staging, 'data');
    await fs.mkdir(path.join(stagedData, AUDIO_DIR_NAME), { recursive: true, mode: 0o700 });
    for (const f of manifest.files) {
      if (f.path === DEVICE_ID_FILE) continue;
      await fs.writeFile(path.join(stagedData, f.path), byPath.get(f.path)!, { mode: 0o600, flag: 'wx' });
    }
    const backupKeys = new MemoryKeyStore(new MemoryKek(manifest.backupKey.id, Buffer.from(manifest.backupKey.key, 'base64')), 'backup key');

    // 2. Re-apply erasures to the staged copy, before it replaces anything.
    const erased = new Set(await slot.erasedOwners());
    const erasedAgain: string[] = [];
    const staged = await openApp({
      config: { ...s.config, dataDir: stagedData },
      deviceId: s.deviceId,
      clock: s.clock,
      logger: log,
      store: { keyStore: backupKeys },
    });
    let owners: number;
    try {
      for (const o of await staged.app.listOwners()) {
        if (!erased.has(o.id)) continue;
        await staged.app.eraseOwner(o.id, { source: 'restore' }, { reason: 'erased-after-backup', vacuum: 'full' });
        erasedAgain.push(o.id);
      }
      // A browser signed out after the backup (a lost phone) must not come back with it: every owner pairs again.
      await staged.app.endSessions({ all: true }, 'restored-from-backup', { source: 'restore' });
      owners = (await staged.app.stats()).owners;
    } finally {
      await staged.close();
    }

    // 3. Under the device key, then in place of the current data.
    const stagedDb = path.join(stagedData, DB_FILE_NAME);
    const liveDb = path.join(s.dataDir, DB_FILE_NAME);
    const to = existsSync(liveDb) ? await deviceKek(s.keyStore, liveDb) : (await s.keyStore.load()).current;
    await rewrapDatabase(stagedDb, backupKeys.currentKek, to);
    const head = await lastAuditHead(stagedDb);
    // The replaced data waits outside the staging area (which a restart empties) until the swap is complete.
    const replaced = path.join(s.dataDir, `.restore-replaced-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(replaced, { mode: 0o700 });
    replacedDir = replaced;
    swapping = true;
    for (const f of [DB_FILE_NAME, `${DB_FILE_NAME}-wal`, `${DB_FILE_NAME}-shm`, AUDIO_DIR_NAME]) {
      if (await exists(path.join(s.dataDir, f))) await fs.rename(path.join(s.dataDir, f), path.join(replaced, f));
    }
    for (const f of [DB_FILE_NAME, `${DB_FILE_NAME}-wal`, `${DB_FILE_NAME}-shm`, AUDIO_DIR_NAME]) {
      if (await exists(path.join(stagedData, f))) await fs.rename(path.join(stagedData, f), path.join(s.dataDir, f));
    }
    const idData = byPath.get(DEVICE_ID_FILE);
    swapping = false;
    if (idData && !(await exists(path.join(s.dataDir, DEVICE_ID_FILE)))) await fs.writeFile(path.join(s.dataDir, DEVICE_ID_FILE), idData, { mode: 0o600 });

    // 4. The restored log is now the history: the anchor moves to its head, and the replacement is recorded.
    const previous = (await slot.readAuditAnchor()) ?? null;
    await slot.writeAuditAnchor({ seq: head.seq, head: head.hash });
    const live = await RecordingStore.open({ dataDir: s.dataDir, deviceId: s.deviceId, keyStore: s.keyStore, clock: s.clock, logger: log });
    try {
      await live.audit.append({
        type: 'backup.restored',
        detail: {
          backupCreatedAt: manifest.createdAt,
          backupHeadSeq: manifest.auditHead.seq,
          replacedHeadSeq: previous?.seq ?? null,
          replacedHead: previous?.head ?? null,
          erasedAgain: erasedAgain.length,
        },
      });
      const h = await live.audit.publicHead();
      return { owners, erasedAgain, auditHead: h, replacedHead: previous ? { seq: previous.seq, hash: previous.head } : null };
    } finally {
      await live.close();
    }
  } catch (e) {
    if (swapping) {
      throw new EarshotError('STORE_IO', `restore failed while swapping files (${errorMessage(e)}); the previous data is in ${replacedDir} and the backup's in ${path.join(staging, 'data')}: move one set back into ${s.dataDir}`, { cause: e });
    }
    throw e;
  } finally {
    if (!swapping) {
      await fs.rm(staging, { recursive: true, force: true });
      if (replacedDir) await fs.rm(replacedDir, { recursive: true, force: true });
    }
  }
}
