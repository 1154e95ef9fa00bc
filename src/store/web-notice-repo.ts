/**
 * What the owner's page reads besides the repositories: notices (incidents in the audit log that concern an
 * owner, with the owner's acknowledgements), the owner's own upload queue and the last fleet outcome.
 *
 * A notice is an audit entry, not a copy of one: incidents filed under the owner, and device-wide incidents
 * and refused fleet documents (owner_id NULL) since the owner was added. Only the clear, non-personal columns
 * are read (type, time, the `detail` JSON); acknowledgements are rows of their own that go with the owner.
 */
import type { StoreContext } from './context.js';
import type { Sql } from './sqlite.js';

export interface NoticeEntry {
  seq: number;
  at: number;
  type: string;
  /** True when the entry is filed under the owner; false for a device-wide one. */
  own: boolean;
  detail: Record<string, unknown> | null;
  ackedAt: number | null;
}

const NOTICE_WHERE = `((a.type = 'incident' AND (a.owner_id = ? OR a.owner_id IS NULL)) OR (a.type = 'config.refused' AND a.owner_id IS NULL))
  AND a.at >= (SELECT created_at FROM owners WHERE id = ?)`;

export class WebNoticeRepo {
  constructor(private readonly ctx: StoreContext) {}

  /** Newest first; an unknown owner has none. */
  list(ownerId: string, limit = 200): Promise<NoticeEntry[]> {
    return this.ctx.db.exclusive(async (sql) => this.query(sql, ownerId, undefined, limit));
  }

  /** Acknowledges one of the owner's notices; false when `seq` is not one of them (or already acknowledged). */
  acknowledge(ownerId: string, seq: number, source: string): Promise<boolean> {
    return this.ctx.db.transaction(async (sql) => {
      const [n] = await this.query(sql, ownerId, seq, 1);
      if (!n || n.ackedAt !== null) return false;
      await sql.run('INSERT INTO web_notice_acks (owner_id, audit_seq, acked_at) VALUES (?,?,?)', [ownerId, seq, this.ctx.clock.now()]);
      await this.ctx.audit.appendIn(sql, { type: 'notice.acknowledged', ownerId, detail: { notice: seq, source } });
      return true;
    });
  }

  /** How many of the owner's recordings wait for upload (other owners' queue is not shown to them). */
  queuedFor(ownerId: string): Promise<number> {
    return this.ctx.db.exclusive(async (sql) => (await sql.get<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE owner_id = ?', [ownerId]))?.n ?? 0);
  }

  /** The most recent fleet document outcome on this device (device-wide audit entry), or undefined. */
  lastFleetOutcome(): Promise<{ at: number; type: string; detail: Record<string, unknown> | null } | undefined> {
    return this.ctx.db.exclusive(async (sql) => {
      const r = await sql.get<{ at: number; type: string; detail: string | null }>(
        "SELECT at, type, detail FROM audit WHERE type IN ('config.applied', 'config.refused') AND owner_id IS NULL ORDER BY seq DESC LIMIT 1",
      );
      return r ? { at: r.at, type: r.type, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null } : undefined;
    });
  }

  private async query(sql: Sql, ownerId: string, seq: number | undefined, limit: number): Promise<NoticeEntry[]> {
    const rows = await sql.all<{ seq: number; at: number; type: string; owner_id: string | null; detail: string | null; acked_at: number | null }>(
      `SELECT a.seq, a.at, a.type, a.owner_id, a.detail, k.acked_at FROM audit a
         LEFT JOIN web_notice_acks k ON k.owner_id = ? AND k.audit_seq = a.seq
       WHERE ${NOTICE_WHERE} ${seq !== undefined ? 'AND a.seq = ?' : ''}
       ORDER BY a.seq DESC LIMIT ?`,
      [ownerId, ownerId, ownerId, ...(seq !== undefined ? [seq] : []), limit],
    );
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      type: r.type,
      own: r.owner_id === ownerId,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
      ackedAt: r.acked_at,
    }));
  }
}
