/** Recordings waiting for upload: opaque ids and times only; rows vanish with their recording or owner. */
import { EarshotError } from '../core/index.js';
import type { OutboxRepo } from '../core/index.js';
import type { OutboxEntry } from '../core/index.js';
import type { Scope } from './scope.js';
import type { Sql } from './sqlite.js';

interface OutboxRow {
  recording_id: string;
  owner_id: string;
  captured_at: number;
  enqueued_at: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

function toEntry(r: OutboxRow): OutboxEntry {
  return {
    recordingId: r.recording_id,
    ownerId: r.owner_id,
    capturedAt: r.captured_at,
    enqueuedAt: r.enqueued_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
  };
}

async function enqueueIn(
  sql: Sql,
  entry: { recordingId: string; ownerId: string; capturedAt: number; enqueuedAt: number },
): Promise<void> {
  const rec = await sql.get<{ owner_id: string }>('SELECT owner_id FROM recordings WHERE id = ?', [entry.recordingId]);
  if (!rec) throw new EarshotError('UNKNOWN_RECORDING', `no recording with id ${entry.recordingId}`);
  if (rec.owner_id !== entry.ownerId) {
    throw new EarshotError('INTEGRITY', `recording ${entry.recordingId} does not belong to owner ${entry.ownerId}`);
  }
  await sql.run(
    `INSERT INTO outbox (recording_id, owner_id, captured_at, enqueued_at, attempts, next_attempt_at, last_error)
     VALUES (?,?,?,?,0,?,NULL) ON CONFLICT(recording_id) DO NOTHING`,
    [entry.recordingId, entry.ownerId, entry.capturedAt, entry.enqueuedAt, entry.enqueuedAt],
  );
}

export class SqliteOutboxRepo implements OutboxRepo {
  constructor(private readonly scope: Pick<Scope, 'sql'>) {}

  private get sql(): Sql {
    return this.scope.sql;
  }

  enqueue(entry: { recordingId: string; ownerId: string; capturedAt: number; enqueuedAt: number }): Promise<void> {
    return enqueueIn(this.sql, entry);
  }

  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = await this.sql.all<OutboxRow>('SELECT * FROM outbox WHERE next_attempt_at <= ? ORDER BY captured_at, recording_id LIMIT ?', [now, limit]);
    return rows.map(toEntry);
  }

  async entry(recordingId: string): Promise<OutboxEntry | undefined> {
    const r = await this.sql.get<OutboxRow>('SELECT * FROM outbox WHERE recording_id = ?', [recordingId]);
    return r && toEntry(r);
  }

  async nextAttemptAfter(now: number): Promise<number | undefined> {
    // min() over the outbox_due index: one index seek, not a scan.
    return (await this.sql.get<{ t: number | null }>('SELECT min(next_attempt_at) AS t FROM outbox WHERE next_attempt_at > ?', [now]))?.t ?? undefined;
  }

  async recordFailure(recordingId: string, error: string, nextAttemptAt: number): Promise<void> {
    await this.sql.run('UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE recording_id = ?', [
      error.slice(0, 500),
      nextAttemptAt,
      recordingId,
    ]);
  }

  async remove(recordingId: string): Promise<void> {
    await this.sql.run('DELETE FROM outbox WHERE recording_id = ?', [recordingId]);
  }

  async removeOwner(ownerId: string): Promise<number> {
    return (await this.sql.run('DELETE FROM outbox WHERE owner_id = ?', [ownerId])).changes;
  }

  async count(): Promise<number> {
    return (await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM outbox'))?.n ?? 0;
  }
}
