/**
 * Each owner's sealed audio lives in a database file of its own: `<dataDir>/audio/<ownerId>.db`.
 *
 * Why: erasing an owner from one shared database meant deleting hundreds of MB of blobs and then moving the
 * other owners' pages into the hole (incremental vacuum, ~2.2 s for 1,700 recordings in a 17,000-recording
 * store). With a file per owner, erasure removes one file and vacuums only the small metadata database.
 *
 * The vault holds only `(recording_id, sealed)` pairs; the blobs are sealed under the owner's data key with
 * associated data naming recording, owner and device, so a blob moved between files or rows does not open.
 *
 * There is no atomic commit across files, so the store keeps one order and the vault repairs the rest:
 *  - audio is written *before* its metadata row commits, while the caller holds the metadata database's
 *    write lock (a returned save therefore always has its audio);
 *  - audio is deleted *after* its row's deletion commits (a row never points at missing audio);
 *  - `reconcile` (run on open, under the same write lock) removes audio whose row does not exist and files
 *    of owners who do not exist: what a crash between the two steps leaves behind.
 */
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { EarshotError, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { SqliteDb } from './sqlite.js';

export const AUDIO_DIR_NAME = 'audio';
const FILE_SUFFIX = '.db';
const AUDIO_SCHEMA_VERSION = 1;
/** Owner ids are opaque `own-…` tokens; anything else must never become a path. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

interface OpenFile {
  db: SqliteDb;
  ino: number;
}

export interface AudioVaultOptions {
  synchronous: 'normal' | 'full';
  busyTimeoutMs: number;
  logger: Logger;
}

export class AudioVault {
  private readonly open = new Map<string, OpenFile>();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly opts: AudioVaultOptions,
  ) {}

  static dirIn(dataDir: string): string {
    return path.join(dataDir, AUDIO_DIR_NAME);
  }

  fileFor(ownerId: string): string {
    if (!SAFE_ID.test(ownerId)) throw new EarshotError('BAD_ARGUMENT', `not a valid owner id: ${JSON.stringify(ownerId.slice(0, 80))}`);
    return path.join(this.dir, ownerId + FILE_SUFFIX);
  }

  /** Store (or replace) a sealed blob. Creates the owner's file (mode 0600) on first use. */
  put(ownerId: string, recordingId: string, sealed: Buffer): Promise<void> {
    return this.putMany(ownerId, [{ recordingId, sealed }]);
  }

  /** Many blobs of one owner in one transaction (the schema-3 migration moves them in batches). */
  async putMany(ownerId: string, rows: { recordingId: string; sealed: Buffer }[]): Promise<void> {
    if (rows.length === 0) return;
    const db = (await this.conn(ownerId, true))!;
    await db.transaction(async (sql) => {
      for (const r of rows) await sql.run('INSERT OR REPLACE INTO audio (recording_id, sealed) VALUES (?, ?)', [r.recordingId, r.sealed]);
    });
  }

  /** The sealed blob, or undefined when the owner has no file or the file has no such recording. */
  async get(ownerId: string, recordingId: string): Promise<Buffer | undefined> {
    const db = await this.conn(ownerId, false);
    if (!db) return undefined;
    const row = await db.exclusive((sql) => sql.get<{ sealed: Buffer }>('SELECT sealed FROM audio WHERE recording_id = ?', [recordingId]));
    return row?.sealed;
  }

  /** Deletes blobs (secure_delete zeroes their pages). Missing ids are ignored: the row was already gone. */
  async delete(ownerId: string, recordingIds: readonly string[]): Promise<void> {
    if (recordingIds.length === 0) return;
    const db = await this.conn(ownerId, false);
    if (!db) return;
    await db.transaction(async (sql) => {
      for (const id of recordingIds) await sql.run('DELETE FROM audio WHERE recording_id = ?', [id]);
    });
  }

  /** Recording ids held for an owner. */
  async ids(ownerId: string): Promise<string[]> {
    const db = await this.conn(ownerId, false);
    if (!db) return [];
    return (await db.exclusive((sql) => sql.all<{ recording_id: string }>('SELECT recording_id FROM audio ORDER BY recording_id'))).map((r) => r.recording_id);
  }

  /** Owner ids that have a file. */
  async owners(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new EarshotError('STORE_IO', `cannot list ${this.dir}: ${errorMessage(e)}`, { cause: e });
    }
    return names
      .filter((n) => n.endsWith(FILE_SUFFIX))
      .map((n) => n.slice(0, -FILE_SUFFIX.length))
      .filter((id) => SAFE_ID.test(id))
      .sort();
  }

  /**
   * Erasure: close the owner's file and unlink it with its WAL and shared-memory files. The blobs were
   * sealed under a data key the caller has already destroyed (and whose wrapping device key was rotated).
   */
  async removeOwner(ownerId: string): Promise<void> {
    const file = this.fileFor(ownerId);
    const cached = this.open.get(ownerId);
    this.open.delete(ownerId);
    if (cached) await cached.db.close();
    for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
      try {
        await fs.unlink(f);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EarshotError('STORE_IO', `cannot remove ${f}: ${errorMessage(e)}`, { cause: e });
      }
    }
  }

  /**
   * What does not match the metadata: files of owners that no longer exist, and blobs without a row filed under
   * their file's owner. Nothing is changed here: the store decides, on authenticated evidence, what may go and
   * what is quarantined (recording-store.ts). The caller must hold the metadata write lock, so no save is
   * half-way (its blob written, its row not yet committed) while this runs.
   */
  async mismatches(rowsByOwner: Map<string, Set<string>>): Promise<{ files: string[]; blobs: { ownerId: string; recordingId: string }[] }> {
    const files: string[] = [];
    const blobs: { ownerId: string; recordingId: string }[] = [];
    for (const ownerId of await this.owners()) {
      const rows = rowsByOwner.get(ownerId);
      if (!rows) {
        files.push(ownerId);
        continue;
      }
      for (const id of await this.ids(ownerId)) if (!rows.has(id)) blobs.push({ ownerId, recordingId: id });
    }
    return { files, blobs };
  }

  /** Moves an owner's whole file (and its WAL) to `dest`, still sealed; the audio directory no longer has it. */
  async moveOwnerFile(ownerId: string, dest: string): Promise<void> {
    const file = this.fileFor(ownerId);
    const cached = this.open.get(ownerId);
    this.open.delete(ownerId);
    if (cached) await cached.db.close();
    // Closing checkpointed the WAL into the file; whatever is left moves with it.
    for (const [from, to] of [[file, dest], [`${file}-wal`, `${dest}-wal`]] as const) {
      try {
        await fs.rename(from, to);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EarshotError('STORE_IO', `cannot move ${from}: ${errorMessage(e)}`, { cause: e });
      }
    }
    await fs.rm(`${file}-shm`, { force: true });
  }

  /** Closes handles on files that another process erased, so their disk space is released. */
  async releaseStale(): Promise<void> {
    for (const ownerId of [...this.open.keys()]) await this.conn(ownerId, false);
  }

  /** `PRAGMA integrity_check` of every owner file: problems as text, empty when all are healthy. */
  async integrityProblems(): Promise<string[]> {
    const out: string[] = [];
    for (const ownerId of await this.owners()) {
      const db = await this.conn(ownerId, false);
      if (!db) continue;
      const rows = await db.exclusive((sql) => sql.all<{ integrity_check: string }>('PRAGMA integrity_check'));
      const text = rows.map((r) => r.integrity_check).join('; ');
      if (text !== 'ok') out.push(`${ownerId}: ${text}`);
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.open.values()];
    this.open.clear();
    for (const f of all) await f.db.close();
  }

  /**
   * The owner's connection, opened on first use and re-opened when the file was replaced or removed behind
   * our back (another process erased the owner): a handle on an unlinked file would keep its space in use.
   */
  private async conn(ownerId: string, create: boolean): Promise<SqliteDb | undefined> {
    if (this.closed) throw new EarshotError('STORE_IO', 'the store is closed');
    const file = this.fileFor(ownerId);
    const ino = inodeOf(file);
    const cached = this.open.get(ownerId);
    if (cached) {
      if (cached.ino === ino) return cached.db;
      this.open.delete(ownerId);
      await cached.db.close();
    }
    if (ino === undefined && !create) return undefined;
    if (ino === undefined) await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const db = await SqliteDb.open(file, { create: true });
    try {
      // Before anything is written: SQLite gives the WAL and shared-memory files the database file's mode.
      await fs.chmod(file, 0o600);
      db.configureBusyTimeout(this.opts.busyTimeoutMs);
      const version = (await db.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
      if (version > AUDIO_SCHEMA_VERSION) {
        throw new EarshotError('STORE_CORRUPT', `${file} has audio schema ${version}, newer than this Earshot supports (${AUDIO_SCHEMA_VERSION})`);
      }
      if (version === 0) {
        // Recordings are 30–300 KB blobs: bigger pages mean fewer overflow pages to write and free.
        await db.exec('PRAGMA page_size = 16384');
      }
      await db.exec('PRAGMA journal_mode = WAL');
      await db.exec('PRAGMA secure_delete = ON');
      // Keep the WAL from staying at its high-water mark (16 KiB pages × 1000) after each checkpoint.
      await db.exec('PRAGMA journal_size_limit = 4194304');
      await db.exec(`PRAGMA synchronous = ${this.opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      if (version === 0) {
        await db.transaction(async (sql) => {
          await sql.exec('CREATE TABLE IF NOT EXISTS audio (recording_id TEXT PRIMARY KEY, sealed BLOB NOT NULL)');
          await sql.exec(`PRAGMA user_version = ${AUDIO_SCHEMA_VERSION}`);
        });
      }
    } catch (e) {
      await db.close().catch((closeErr: unknown) => this.opts.logger.warn('closing an audio file after a failed open failed', { error: errorMessage(closeErr) }));
      throw e;
    }
    this.open.set(ownerId, { db, ino: inodeOf(file) ?? -1 });
    return db;
  }
}

function inodeOf(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EarshotError('STORE_IO', `cannot stat ${file}: ${errorMessage(e)}`, { cause: e });
  }
}
