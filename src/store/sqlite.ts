/**
 * A thin promise wrapper over one `sqlite3` connection.
 *
 * Why one connection and a queue: node-sqlite3 runs statements of a connection in order, but a
 * transaction is several statements, and two async callers would interleave inside each other's
 * BEGIN…COMMIT. Every store operation therefore runs through `exclusive()`, a FIFO queue, so the
 * store has exactly one writer and readers never observe a half-done transaction.
 */
import { promises as fs } from 'node:fs';
import sqlite3 from 'sqlite3';
import { EarshotError } from '../core/errors.js';

export type SqlValue = string | number | bigint | Buffer | null;
export type Row = Record<string, unknown>;

/** The statements a repository may use inside an exclusive section. */
export interface Sql {
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number; lastID: number }>;
  get<T = Row>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: SqlValue[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

/** Map an sqlite3 error to a typed one without leaking parameter values (they can be sealed blobs). */
export function mapSqliteError(e: unknown, what: string): EarshotError {
  if (e instanceof EarshotError) return e;
  const code = (e as { code?: string } | null)?.code ?? '';
  const msg = e instanceof Error ? e.message : String(e);
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

  /** Open (optionally create) a database file. Does not run any statement. */
  static open(file: string, opts: { create?: boolean; readOnly?: boolean } = {}): Promise<SqliteDb> {
    const mode = opts.readOnly
      ? sqlite3.OPEN_READONLY
      : sqlite3.OPEN_READWRITE | (opts.create ? sqlite3.OPEN_CREATE : 0);
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(file, mode, (err) => {
        if (err) reject(mapSqliteError(err, `cannot open database ${file}`));
        else resolve(new SqliteDb(db, file));
      });
    });
  }

  configureBusyTimeout(ms: number): void {
    this.db.configure('busyTimeout', ms);
  }

  run(sql: string, params: SqlValue[] = []): Promise<{ changes: number; lastID: number }> {
    return new Promise((resolve, reject) => {
      this.db.run(sql, params, function (err) {
        if (err) reject(mapSqliteError(err, 'database write failed'));
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  get<T = Row>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.db.get(sql, params, (err, row) => {
        if (err) reject(mapSqliteError(err, 'database read failed'));
        else resolve(row as T | undefined);
      });
    });
  }

  all<T = Row>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.db.all(sql, params, (err, rows) => {
        if (err) reject(mapSqliteError(err, 'database read failed'));
        else resolve(rows as T[]);
      });
    });
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.exec(sql, (err) => {
        if (err) reject(mapSqliteError(err, 'database statement failed'));
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
