/**
 * The append-only audit log in SQLite: chains every entry (see chain.ts), seals the personal part under the
 * owner's data key, and keeps the latest (seq, head) sealed under the device key so truncation shows.
 *
 * Appends chain from the sealed anchor, not from the table's last row: if someone deletes the tail, the next
 * entry still points at the real head and the gap stays visible to `verify` forever.
 */
import type { AuditEventInput, AuditSink } from '../core/privacy-types.js';
import { EarshotError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';

/** The statements the log runs (the store's SQLite connection provides them; audit/ does not import store/). */
export interface Sql {
  get<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T | undefined>;
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<{ changes: number; lastID: number }>;
}

/** The connection: one caller at a time, and transactions. */
export interface SqliteDb {
  exclusive<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
}
import {
  GENESIS_HASH,
  canonicalEntry,
  canonicalJson,
  chainHash,
  verifyChain,
  type AuditAnchor,
  type AuditRow,
  type AuditVerifyReport,
} from './chain.js';

/** Seals/opens the personal part with the owner's data key (implemented by the store's keyring). */
export interface PersonalSealer {
  /** undefined when the owner has no key (unknown or erased): the personal part is then dropped. */
  sealPersonal(sql: Sql, ownerId: string, seq: number, plaintext: Buffer): Promise<{ blob: Buffer; keyVersion: number } | undefined>;
  /** undefined when the key is gone (the entry is redacted). Throws INTEGRITY when the blob was tampered with. */
  openPersonal(sql: Sql, ownerId: string, seq: number, keyVersion: number, blob: Buffer): Promise<Buffer | undefined>;
}

/** Where the sealed head lives (the store keeps it in its meta table, sealed under the device data key). */
export interface AnchorStore {
  load(sql: Sql): Promise<AuditAnchor>;
  save(sql: Sql, anchor: AuditAnchor): Promise<void>;
}

export interface AuditEntryView {
  seq: number;
  at: number;
  type: string;
  ownerId: string | null;
  recordingId: string | null;
  detail: Record<string, unknown> | null;
  /** Opened personal part; 'redacted' when the owner's key was shredded, 'unreadable' when it fails authentication. */
  personal: Record<string, unknown> | 'redacted' | 'unreadable' | null;
  hash: string;
}

interface DbAuditRow {
  seq: number;
  at: number;
  type: string;
  owner_id: string | null;
  recording_id: string | null;
  detail: string | null;
  personal: Buffer | null;
  key_version: number | null;
  prev_hash: string;
  hash: string;
}

function toRow(r: DbAuditRow): AuditRow {
  return {
    seq: r.seq,
    at: r.at,
    type: r.type,
    ownerId: r.owner_id,
    recordingId: r.recording_id,
    detail: r.detail,
    personal: r.personal,
    keyVersion: r.key_version,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export class AuditLog implements AuditSink {
  constructor(
    private readonly db: SqliteDb,
    private readonly sealer: PersonalSealer,
    private readonly anchors: AnchorStore,
    private readonly clock: Clock,
  ) {}

  append(event: AuditEventInput): Promise<void> {
    return this.db.transaction(async (sql) => {
      await this.appendIn(sql, event);
    });
  }

  /** Append inside the caller's transaction, so the entry commits (or rolls back) with the change it records. */
  async appendIn(sql: Sql, event: AuditEventInput): Promise<AuditAnchor> {
    const anchor = await this.anchors.load(sql);
    const seq = anchor.seq + 1;
    const detail: Record<string, unknown> = { ...(event.detail ?? {}) };
    let personal: Buffer | null = null;
    let keyVersion: number | null = null;
    if (event.personal && Object.keys(event.personal).length > 0) {
      const sealed = event.ownerId
        ? await this.sealer.sealPersonal(sql, event.ownerId, seq, Buffer.from(canonicalJson(event.personal), 'utf8'))
        : undefined;
      if (sealed) {
        personal = sealed.blob;
        keyVersion = sealed.keyVersion;
      } else {
        // No key to seal under: personal data is never written in clear, so it is dropped.
        detail['personalDropped'] = true;
      }
    }
    const row: Omit<AuditRow, 'hash' | 'prevHash'> = {
      seq,
      at: this.clock.now(),
      type: event.type,
      ownerId: event.ownerId ?? null,
      recordingId: event.recordingId ?? null,
      detail: Object.keys(detail).length > 0 ? canonicalJson(detail) : null,
      personal,
      keyVersion,
    };
    const prevHash = anchor.seq === 0 ? GENESIS_HASH : anchor.head;
    const hash = chainHash(prevHash, canonicalEntry(row));
    // INSERT (not INSERT OR REPLACE): a forged row squatting on this seq makes the append fail loudly.
    await sql.run(
      'INSERT INTO audit (seq, at, type, owner_id, recording_id, detail, personal, key_version, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)',
      [row.seq, row.at, row.type, row.ownerId, row.recordingId, row.detail, row.personal, row.keyVersion, prevHash, hash],
    );
    const next = { seq, head: hash };
    await this.anchors.save(sql, next);
    return next;
  }

  /** The sealed head: publish it off-device to detect a rollback of the whole database. */
  head(): Promise<AuditAnchor> {
    return this.db.exclusive((sql) => this.anchors.load(sql));
  }

  async verify(): Promise<AuditVerifyReport> {
    return this.db.exclusive(async (sql) => {
      const rows = await sql.all<DbAuditRow>('SELECT * FROM audit ORDER BY seq');
      let anchor: AuditAnchor | null;
      try {
        anchor = await this.anchors.load(sql);
      } catch (e) {
        if (e instanceof EarshotError && e.code === 'INTEGRITY') anchor = null;
        else throw e;
      }
      const report = verifyChain(rows.map(toRow), anchor);
      if (anchor === null) {
        report.problems.push({ kind: 'head-mismatch', seq: report.lastSeq, message: 'the sealed head is missing or was modified' });
        report.ok = false;
      }
      return report;
    });
  }

  /** verify(), but a broken chain is an EarshotError('AUDIT_BROKEN') naming the first problem. */
  async verifyOrThrow(): Promise<AuditVerifyReport> {
    const r = await this.verify();
    if (!r.ok) {
      const first = r.problems[0]!;
      throw new EarshotError('AUDIT_BROKEN', `audit log check failed (${r.problems.length} problem(s)); first: ${first.message}`, {
        details: { problems: r.problems.length, firstKind: first.kind, firstSeq: first.seq },
      });
    }
    return r;
  }

  /**
   * Cheap start-up check (one row, not the whole chain): does the table's last entry match the sealed head?
   * Catches truncation or a forged tail without reading every entry; `verify` finds everything else.
   */
  async tailMatchesHead(): Promise<boolean> {
    return this.db.exclusive(async (sql) => {
      const anchor = await this.anchors.load(sql);
      const last = await sql.get<{ seq: number; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
      if (!last) return anchor.seq === 0;
      return last.seq === anchor.seq && last.hash === anchor.head;
    });
  }

  /** Entries, oldest first, personal parts opened where the owner's key still exists. */
  async list(opts: { ownerId?: string; limit?: number } = {}): Promise<AuditEntryView[]> {
    return this.db.exclusive(async (sql) => {
      const limit = opts.limit ?? -1;
      const rows = opts.ownerId
        ? await sql.all<DbAuditRow>('SELECT * FROM audit WHERE owner_id = ? ORDER BY seq LIMIT ?', [opts.ownerId, limit])
        : await sql.all<DbAuditRow>('SELECT * FROM audit ORDER BY seq LIMIT ?', [limit]);
      const out: AuditEntryView[] = [];
      for (const r of rows) {
        let personal: AuditEntryView['personal'] = null;
        if (r.personal && r.owner_id && r.key_version !== null) {
          try {
            const opened = await this.sealer.openPersonal(sql, r.owner_id, r.seq, r.key_version, r.personal);
            personal = opened ? (JSON.parse(opened.toString('utf8')) as Record<string, unknown>) : 'redacted';
          } catch (e) {
            // A tampered key or entry must not hide the rest of the log; verify() and incidents report it.
            if (!(e instanceof EarshotError && e.code === 'INTEGRITY')) throw e;
            personal = 'unreadable';
          }
        }
        out.push({
          seq: r.seq,
          at: r.at,
          type: r.type,
          ownerId: r.owner_id,
          recordingId: r.recording_id,
          detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
          personal,
          hash: r.hash,
        });
      }
      return out;
    });
  }
}
