/**
 * Notices for the owner's page: incidents filed under an owner, and device-wide incidents and refused fleet
 * documents (owner_id NULL) since the owner was added, with the owner's acknowledgements. A notice is an audit
 * entry, not a copy of one: only its clear, non-personal columns are read (type, time, the `detail` JSON).
 * Plain persistence over a Scope; the acknowledgement's audit entry is src/app's.
 */
import type { NoticeEntry, NoticeRepo } from '../core/index.js';
import type { Scope } from './scope.js';

const NOTICE_WHERE = `((a.type = 'incident' AND (a.owner_id = ? OR a.owner_id IS NULL)) OR (a.type = 'config.refused' AND a.owner_id IS NULL))
  AND a.at >= (SELECT created_at FROM owners WHERE id = ?)`;

export class SqliteNoticeRepo implements NoticeRepo {
  constructor(private readonly scope: Scope) {}

  async list(ownerId: string, opts: { seq?: number; limit?: number } = {}): Promise<NoticeEntry[]> {
    const { seq, limit = 200 } = opts;
    const rows = await this.scope.sql.all<{ seq: number; at: number; type: string; owner_id: string | null; detail: string | null; acked_at: number | null }>(
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

  async acknowledge(ownerId: string, seq: number, at: number): Promise<void> {
    await this.scope.sql.run('INSERT OR IGNORE INTO web_notice_acks (owner_id, audit_seq, acked_at) VALUES (?,?,?)', [ownerId, seq, at]);
  }

  async lastFleetOutcome(): Promise<{ at: number; type: string; detail: Record<string, unknown> | null } | undefined> {
    const r = await this.scope.sql.get<{ at: number; type: string; detail: string | null }>(
      "SELECT at, type, detail FROM audit WHERE type IN ('config.applied', 'config.refused') AND owner_id IS NULL ORDER BY seq DESC LIMIT 1",
    );
    return r ? { at: r.at, type: r.type, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null } : undefined;
  }

  async removeOwner(ownerId: string): Promise<void> {
    await this.scope.sql.run('DELETE FROM web_notice_acks WHERE owner_id = ?', [ownerId]);
  }
}
