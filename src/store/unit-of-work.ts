/**
 * The SQLite unit of work: one transaction of the metadata database in which every repository and the audit
 * log share the connection. What happens outside the database (an owner's audio file) follows the outcome:
 * `onRollback` undoes audio written for rows that did not commit, `onCommit` removes audio whose rows are gone.
 */
import type { AuditLog } from '../audit/index.js';
import { errorMessage } from '../core/index.js';
import type { Tx, UnitOfWork } from '../core/index.js';
import type { KeyEncryptionKey } from '../crypto/index.js';
import { SqliteConsentRepo } from './consent-repo.js';
import type { StoreContext } from './context.js';
import { SqliteOutboxRepo } from './outbox-repo.js';
import { SqliteOwnerRepo } from './owner-repo.js';
import { SqliteRecordingRepo } from './recording-repo.js';
import type { Scope } from './scope.js';
import { SqliteSettingsRepo } from './settings-repo.js';
import type { Sql, SqliteDb } from './sqlite.js';
import { SqliteVerifierRepo } from './verifier-repo.js';
import { SqliteNoticeRepo } from './web-notice-repo.js';
import { SqliteWebSessionRepo } from './web-session-repo.js';

/** The device-key rotation that erasure and `keys rotate` run inside their transaction (see RecordingStore). */
export interface Rekeying {
  /** Stages the next device key (a crash before commit leaves the old one in force). */
  stage(): Promise<KeyEncryptionKey>;
  /** Inside the transaction: re-wrap every owner key and the device data key under `next`. */
  rewrapAll(sql: Sql, next: KeyEncryptionKey): Promise<void>;
  /** After commit: the staged key becomes the key file. */
  commit(next: KeyEncryptionKey): Promise<void>;
  /** After rollback: the staged key is dropped. */
  discard(): Promise<void>;
  readonly currentId: string;
}

export class SqliteUnitOfWork implements UnitOfWork {
  constructor(
    private readonly db: SqliteDb,
    private readonly ctx: StoreContext,
    private readonly audit: AuditLog,
    private readonly rekeying: Rekeying,
  ) {}

  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transaction((tx) => fn(tx));
  }

  async runRekeyed<T>(fn: (tx: Tx, rotation: { from: string; to: string }) => Promise<T>): Promise<T> {
    const from = this.rekeying.currentId;
    const next = await this.rekeying.stage();
    let result: T;
    try {
      result = await this.transaction(async (tx, scope) => {
        const out = await fn(tx, { from, to: next.id });
        await this.rekeying.rewrapAll(scope.sql, next);
        return out;
      });
    } catch (e) {
      // The database still names the old key: drop the staged one (a crash here is handled on open instead).
      await this.rekeying.discard();
      throw e;
    }
    await this.rekeying.commit(next);
    return result;
  }

  /** Repositories over a read without a write lock (works on a read-only data directory). */
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.exclusive((sql) => {
      const refuse = (): never => {
        throw new Error('a read-only unit of work cannot schedule work after commit');
      };
      return fn(this.txOf({ sql, onCommit: refuse, onRollback: refuse }));
    });
  }

  private async transaction<T>(fn: (tx: Tx, scope: Scope) => Promise<T>): Promise<T> {
    const commits: (() => Promise<void>)[] = [];
    const rollbacks: (() => Promise<void>)[] = [];
    const result = await this.db.transaction(
      (sql) => {
        const scope: Scope = { sql, onCommit: (f) => commits.push(f), onRollback: (f) => rollbacks.push(f) };
        return fn(this.txOf(scope), scope);
      },
      {
        afterRollback: async () => {
          for (const f of rollbacks.reverse()) await f();
        },
      },
    );
    for (const f of commits) {
      try {
        await f();
      } catch (e) {
        // The unit of work committed; what is left outside the database is repaired by the next open's reconcile.
        this.ctx.logger.error('clean-up after a commit failed; it is repaired at the next start', { error: errorMessage(e) });
      }
    }
    return result;
  }

  private txOf(scope: Scope): Tx {
    return {
      owners: new SqliteOwnerRepo(scope, this.ctx),
      recordings: new SqliteRecordingRepo(scope, this.ctx),
      consent: new SqliteConsentRepo(scope, this.ctx),
      outbox: new SqliteOutboxRepo(scope),
      settings: new SqliteSettingsRepo(scope),
      webSessions: new SqliteWebSessionRepo(scope, this.ctx),
      notices: new SqliteNoticeRepo(scope),
      verifiers: new SqliteVerifierRepo(scope, this.ctx),
      audit: {
        append: async (e) => {
          await this.audit.appendIn(scope.sql, e);
        },
      },
    };
  }
}
