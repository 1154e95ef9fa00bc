/**
 * A thin promise wrapper over one `sqlite3` connection.
 *
 * Why one connection and a queue: node-sqlite3 runs statements of a connection in order, but a
 * transaction is several statements, and two async callers would interleave inside each other's
 * BEGIN…COMMIT. Every store operation therefore runs through `exclusive()`, a FIFO queue, so the
 * store has exactly one writer and readers never observe a half-done transaction.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { EarshotError } from '../core/index.js';

export type SqlValue = string | number | bigint | Buffer | null;
export type Row = Record<string, unknown>;

/** The statements a repository may use inside an exclusive section. */
export interface Sql {
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number; lastID: number }>;
  get<T = Row>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: SqlValue[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

/** Whether this process may create files in `dir` (SQLite needs to, for its journal, even to read a WAL database). */
async function writableDir(dir: string): Promise<boolean> {
  try {
    await fs.access(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Map an sqlite3 error to a typed one without leaking parameter values (they can be sealed blobs). */
export function mapSqliteError(e: unknown, what: string, file?: string): EarshotError {
  if (e instanceof EarshotError) return e;
  const code = (e as { code?: string } | null)?.code ?? '';
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_READONLY' && file !== undefined) {
    const dir = path.dirname(file);
    return new EarshotError(
      'STORE_IO',
      `the data directory ${dir} is read-only, and this command writes to it: make it writable for this user (e.g. remount it read-write, or chmod u+w ${dir} ${file}); commands that only read work as they are`,
      { cause: e },
    );
  }
  if (code === 'SQLITE_FULL' || /ENOSPC|disk is full/i.test(msg))
    return new EarshotError('DISK_FULL', `${what}: the disk is full; nothing was written`, { cause: e });
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
    return new EarshotError('STORE_CORRUPT', `${what}: the database file is corrupt or not an Earshot database (${code})`, { cause: e });
  if (code === 'SQLITE_IOERR' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY')
    return new EarshotError('STORE_IO', `${what}: ${msg}`, { cause: e });
  return new EarshotError('STORE_IO', `${what}: ${msg}`, { cause: e });
}

/**
 * SQLite reports a disk with no room left for its shared-memory index as a plain I/O error on open. When the
 * disk holding `dir` is (nearly) full, say so: it is the user's fix, and nothing stored was lost.
 */
export async function diskFullInstead(e: unknown, dir: string): Promise<unknown> {
  if (!(e instanceof EarshotError) || e.code !== 'STORE_IO') return e;
  let free: number;
  try {
    const s = await fs.statfs(dir);
    free = s.bavail * s.bsize;
  } catch {
    return e; // cannot tell: keep the original error
  }
  if (free >= 256 * 1024) return e;
  return new EarshotError('DISK_FULL', `the disk holding ${dir} is full (${free} bytes free): free some space and try again; nothing stored was lost`, {
    cause: e,
  });
}

export interface TransactionHooks {
  beforeCommit(sql: Sql): Promise<void>;
  afterCommit(): void;
  afterRollback(): Promise<void>;
}

export class SqliteDb implements Sql {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly hooks: TransactionHooks[] = [];
  private closed = false;

  private constructor(
    private readonly db: sqlite3.Database,
    readonly file: string,
  ) {}

  /**
   * Open (optionally create) a database file. Does not run any statement. A database in a directory that cannot
   * be written (a read-only mount, a copy without write permission) is opened read-only, so commands that only
   * read still work; a write then fails with an error naming the directory and the fix.
   */
  static async open(file: string, opts: { create?: boolean; readOnly?: boolean } = {}): Promise<SqliteDb> {
    const readOnlyDir = !opts.create && !(await writableDir(path.dirname(file)));
    const readOnly = opts.readOnly === true || readOnlyDir;
    const mode = readOnly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | (opts.create ? sqlite3.OPEN_CREATE : 0);
    // A WAL database can only be read where its -shm index can be created, unless it is opened as immutable:
    // right for a read-only copy, which nobody writes.
    const name = readOnlyDir ? `file:${encodeURI(file).replace(/\?/g, '%3F').replace(/#/g, '%23')}?immutable=1` : file;
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(name, readOnlyDir ? mode | sqlite3.OPEN_URI : mode, (err) => {
        if (err) reject(mapSqliteError(err, `cannot open database ${file}`, file));
        else resolve(new SqliteDb(db, file));
      });
    });
  }

  configureBusyTimeout(ms: number): void {
    this.db.configure('busyTimeout', ms);
  }

  run(sql: string, params: SqlValue[] = []): Promise<{ changes: number; lastID: number }> {
    const file = this.file;
    return new Promise((resolve, reject) => {
      this.db.run(sql, params, function (err) {
        if (err) reject(mapSqliteError(err, 'database write failed', file));
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  get<T = Row>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    const file = this.file;
    return new Promise((resolve, reject) => {
      this.db.get(sql, params, (err, row) => {
        if (err) reject(mapSqliteError(err, 'database query failed', file));
        else resolve(row as T | undefined);
      });
    });
  }

  all<T = Row>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    const file = this.file;
    return new Promise((resolve, reject) => {
      this.db.all(sql, params, (err, rows) => {
        if (err) reject(mapSqliteError(err, 'database query failed', file));
        else resolve(rows as T[]);
      });
    });
  }

  exec(sql: string): Promise<void> {
    const file = this.file;
    return new Promise((resolve, reject) => {
      this.db.exec(sql, (err) => {
        if (err) reject(mapSqliteError(err, 'database statement failed', file));
        else resolve();
      });
    });
  }

  /** Run `fn` alone: nothing else touches the connection until it settles. */
  exclusive<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new EarshotError('STORE_IO', 'the store is closed'));
    const result = this.queue.then(() => fn(this));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * `exclusive` wrapped in BEGIN IMMEDIATE … COMMIT; any throw rolls back. `afterRollback` runs after a
   * rollback, still alone on the connection (undo of work done outside this database, e.g. an audio blob).
   */
  transaction<T>(fn: (sql: Sql) => Promise<T>, opts: { afterRollback?: () => Promise<void> } = {}): Promise<T> {
    return this.exclusive(async (sql) => {
      await sql.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(sql);
        // Still under the write lock: what must be durable outside the database with this commit (the audit anchor).
        for (const h of this.hooks) await h.beforeCommit(sql);
        await sql.exec('COMMIT');
        for (const h of this.hooks) h.afterCommit();
        return out;
      } catch (e) {
        try {
          await sql.exec('ROLLBACK');
        } catch {
          // SQLite may already have rolled back (e.g. SQLITE_FULL aborts the transaction); the original error matters.
        }
        for (const h of this.hooks) await h.afterRollback();
        if (opts.afterRollback) await opts.afterRollback();
        throw e;
      }
    });
  }

  /** Hooks run by every transaction on this connection (the audit log keeps its external anchor with them). */
  addTransactionHooks(h: TransactionHooks): void {
    this.hooks.push(h);
  }

  /** Wait for queued work, then close. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await new Promise<void>((resolve, reject) => {
      this.db.close((err) => (err ? reject(mapSqliteError(err, 'closing the database failed')) : resolve()));
    });
  }
}
