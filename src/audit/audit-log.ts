/**
 * The append-only audit log in SQLite: chains every entry (see chain.ts), seals the personal part under the
 * owner's data key, and keeps the latest (seq, head) sealed under the device key so truncation shows — and,
 * when the key store offers a slot, also outside the database (the key file), so a database copy put back
 * (a rollback) is behind it and fails `verify`.
 *
 * Appends chain from the sealed anchor, not from the table's last row: if someone deletes the tail, the next
 * entry still points at the real head and the gap stays visible to `verify` forever.
 */
import type { AuditEntry } from '../core/index.js';
import type { AuditEventInput, AuditSink } from '../core/index.js';
import { EarshotError } from '../core/index.js';
import type { Clock } from '../core/index.js';

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
  /** Run by every transaction: `beforeCommit` still under the write lock, after the body succeeded. */
  addTransactionHooks(h: { beforeCommit(sql: Sql): Promise<void>; afterCommit(): void; afterRollback(): Promise<void> }): void;
}
import {
  GENESIS_HASH,
  canonicalEntry,
  canonicalJson,
  chainHash,
  checkOutsideHeads,
  verifyChain,
  type AuditAnchor,
  type AuditRow,
  type AuditVerifyReport,
  type ExpectedHead,
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

/**
 * The head kept outside the database (the key store's slot, see crypto/key-store DeviceStateSlot), which a
 * database copy cannot bring back. Written before the COMMIT of every transaction that appended entries.
 */
/** An anchor as the key store keeps it: the head, and the head it extends (see writeExternal). */
export type ExternalHead = AuditAnchor & { base?: AuditAnchor };

export interface ExternalAnchor {
  read(): Promise<ExternalHead | undefined>;
  write(anchor: ExternalHead): Promise<void>;
}

/** What the open-time check found about the external anchor. */
export type ExternalAnchorState = 'none' | 'ok' | 'adopted' | 'recovered' | 'rolled-back';

/** An entry as read back (the port's type: the log is what implements AuditQueries). */
export type AuditEntryView = AuditEntry;

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
  /** The head appended in the current transaction, to be written to the external anchor before COMMIT. */
  private pending: AuditAnchor | undefined;
  /** The sealed head before this transaction's first append: the history the new entries extend. */
  private base: AuditAnchor | undefined;
  /** What the external anchor held before this transaction wrote it (restored if the COMMIT fails). */
  private replaced: { previous: AuditAnchor | undefined } | undefined;

  constructor(
    private readonly db: SqliteDb,
    private readonly sealer: PersonalSealer,
    private readonly anchors: AnchorStore,
    private readonly clock: Clock,
    private readonly external?: ExternalAnchor,
  ) {
    if (external) {
      db.addTransactionHooks({
        beforeCommit: (sql) => this.writeExternal(sql),
        afterCommit: () => {
          this.pending = undefined;
          this.base = undefined;
          this.replaced = undefined;
        },
        afterRollback: async () => {
          const r = this.replaced;
          this.pending = undefined;
          this.base = undefined;
          this.replaced = undefined;
          if (r?.previous) await external.write(r.previous);
        },
      });
    }
  }

  /**
   * Once per transaction, still under the database write lock (so processes take turns): move the external
   * anchor to the new head — but only forwards along the same history. On a database that is behind the
   * anchor or on another history, the anchor is left where it is, so the evidence of the rollback stays
   * (every `audit verify` fails) while the device keeps working.
   */
  private async writeExternal(sql: Sql): Promise<void> {
    const next = this.pending;
    if (!next || !this.external) return;
    const stored = await this.external.read();
    if (stored && stored.seq > 0) {
      if (next.seq <= stored.seq) return;
      const extendsStored = this.base !== undefined && this.base.seq === stored.seq && this.base.head === stored.head;
      if (!extendsStored) {
        // The anchor lagged (e.g. adopted late): the history still contains it?
        const row = await sql.get<{ hash: string }>('SELECT hash FROM audit WHERE seq = ?', [stored.seq]);
        if (row?.hash !== stored.head) return;
      }
    }
    // With the head it extends: a process killed between this write and the COMMIT leaves the database exactly
    // there, which the next open tells apart from a rollback (checkExternalAnchor).
    await this.external.write(this.base ? { ...next, base: { seq: this.base.seq, head: this.base.head } } : next);
    this.replaced = { previous: stored };
  }

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
    if (this.pending === undefined) this.base = anchor;
    this.pending = next;
    return next;
  }

  /** The sealed head: publish it off-device to detect a rollback of the whole database. */
  head(): Promise<AuditAnchor> {
    return this.db.exclusive((sql) => this.anchors.load(sql));
  }

  /** Whether an incident of this kind (detail exactly `{kind}`) is already in the log: recorded once, not at every start. */
  async hasIncident(kind: string): Promise<boolean> {
    const row = await this.db.exclusive((sql) => sql.get<{ n: number }>("SELECT count(*) AS n FROM audit WHERE type = 'incident' AND detail = ?", [canonicalJson({ kind })]));
    return (row?.n ?? 0) > 0;
  }

  /** The head to publish off-device (device status, `audit head`): sequence number and hash, nothing personal. */
  async publicHead(): Promise<{ seq: number; hash: string }> {
    const h = await this.head();
    return { seq: h.seq, hash: h.head };
  }

  /**
   * Open-time check against the external anchor. A key store without one (created before it existed) adopts
   * the database's head when the log ends at its sealed head ('adopted'); 'rolled-back' when the log does not
   * reach or contain the anchor.
   */
  async checkExternalAnchor(): Promise<ExternalAnchorState> {
    if (!this.external) return 'none';
    const ext = await this.external.read();
    if (ext === undefined) {
      if (!(await this.tailMatchesHead())) return 'none';
      await this.external.write(await this.head());
      return 'adopted';
    }
    const rows = await this.db.exclusive((sql) => sql.all<{ seq: number; hash: string }>('SELECT seq, hash FROM audit WHERE seq >= ? ORDER BY seq', [ext.seq]));
    const last = rows.at(-1)?.seq ?? 0;
    if (ext.seq > 0 && (last < ext.seq || rows[0]?.seq !== ext.seq || rows[0]?.hash !== ext.head)) {
      // Killed between writing the anchor and committing: the database ends exactly at the head the anchor
      // extends. That transaction never happened; the anchor goes back to it (at most the one transaction in
      // flight can be told apart this way, so a rollback of anything older is still found).
      const base = ext.base;
      if (base && (await this.head()).seq === base.seq && (await this.head()).head === base.head && (await this.tailMatchesHead())) {
        await this.external.write({ seq: base.seq, head: base.head });
        return 'recovered';
      }
      return 'rolled-back';
    }
    return 'ok';
  }

  /**
   * Full check: the chain, its sealed head, the external anchor in the key store (the log must reach and
   * contain it), and optionally a head published elsewhere (`audit verify --head HASH[:SEQ]`). Runs under the
   * database write lock, so no other process is between writing the external anchor and its COMMIT.
   */
  async verify(opts: { publishedHead?: ExpectedHead } = {}): Promise<AuditVerifyReport> {
    return this.db.transaction(async (sql) => {
      // No other connection has written since this one last verified the whole chain (SQLite's data_version is
      // unchanged): what was verified then is unchanged, and only what this connection appended since is hashed.
      // Any other writer (another process, or a raw edit through SQLite) makes it a full verification again.
      const dataVersion = (await sql.get<{ data_version: number }>('PRAGMA data_version'))?.data_version ?? -1;
      const prefix = this.verifiedPrefix?.dataVersion === dataVersion ? this.verifiedPrefix : undefined;
      const rows = prefix
        ? await sql.all<DbAuditRow>('SELECT * FROM audit WHERE seq > ? ORDER BY seq', [prefix.seq])
        : await sql.all<DbAuditRow>('SELECT * FROM audit ORDER BY seq');
      let anchor: AuditAnchor | null;
      try {
        anchor = await this.anchors.load(sql);
      } catch (e) {
        if (e instanceof EarshotError && e.code === 'INTEGRITY') anchor = null;
        else throw e;
      }
      const report = verifyChain(rows.map(toRow), anchor, prefix);
      if (anchor === null) {
        report.problems.push({ kind: 'head-mismatch', seq: report.lastSeq, message: 'the sealed head is missing or was modified' });
        report.ok = false;
      }
      const external = this.external ? ((await this.external.read()) ?? null) : null;
      if (this.external) report.externalAnchor = external;
      const heads = prefix ? await sql.all<{ seq: number; hash: string }>('SELECT seq, hash FROM audit ORDER BY seq') : rows;
      const outside = checkOutsideHeads(heads, external, opts.publishedHead);
      if (outside.length > 0) {
        report.problems.push(...outside);
        report.ok = false;
      }
      this.verifiedPrefix = report.ok ? { dataVersion, seq: report.lastSeq, hash: report.head, entries: report.entries } : undefined;
      return report;
    });
  }

  /** The chain this connection last verified whole, and SQLite's data_version then (see verify). */
  private verifiedPrefix: { dataVersion: number; seq: number; hash: string; entries: number } | undefined;

  /** verify(), but a broken chain is an EarshotError('AUDIT_BROKEN') naming the first problem. */
  async verifyOrThrow(opts: { publishedHead?: ExpectedHead } = {}): Promise<AuditVerifyReport> {
    const r = await this.verify(opts);
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
