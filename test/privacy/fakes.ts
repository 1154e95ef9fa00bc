/**
 * In-memory implementations of the store ports (src/core/ports.ts) for tests of privacy, fleet and uplink
 * logic. They follow the port contracts closely (append-only ledger, oldest-first history, due() ordering,
 * UNKNOWN_OWNER for unknown owners) so a test that passes here says something about the SQLite store too.
 */
import { EarshotError } from '../../src/core/errors.js';
import type { Clock } from '../../src/core/clock.js';
import type {
  ConsentLedgerRepo,
  OutboxRepo,
  OwnerPrivacy,
  OwnerPrivacyRepo,
  SettingsRepo,
} from '../../src/core/ports.js';
import type { AuditEventInput, AuditSink, ConsentEvent, OutboxEntry, Purpose } from '../../src/core/privacy-types.js';

export class FakeClock implements Clock {
  constructor(public t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

export class MemorySettingsRepo implements SettingsRepo {
  readonly values = new Map<string, string>();
  /** Set to make the next set() fail, as a full disk would. */
  failNextSet: Error | undefined;
  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    if (this.failNextSet) {
      const e = this.failNextSet;
      this.failNextSet = undefined;
      throw e;
    }
    this.values.set(key, value);
  }
}

export class MemoryAuditSink implements AuditSink {
  readonly events: AuditEventInput[] = [];
  async append(event: AuditEventInput): Promise<void> {
    this.events.push(structuredClone(event));
  }
  ofType(type: AuditEventInput['type']): AuditEventInput[] {
    return this.events.filter((e) => e.type === type);
  }
}

export class MemoryConsentLedgerRepo implements ConsentLedgerRepo {
  private readonly rows: ConsentEvent[] = [];
  async append(event: ConsentEvent): Promise<void> {
    this.rows.push(Object.freeze({ ...event }));
  }
  async history(ownerId: string, purpose?: Purpose): Promise<ConsentEvent[]> {
    return this.rows.filter((r) => r.ownerId === ownerId && (purpose === undefined || r.purpose === purpose));
  }
  /** Every row, for assertions. */
  all(): readonly ConsentEvent[] {
    return this.rows;
  }
}

export class MemoryOwnerPrivacyRepo implements OwnerPrivacyRepo {
  private readonly owners = new Map<string, OwnerPrivacy>();
  private active: string | undefined;
  addOwner(ownerId: string, privacy: Partial<Omit<OwnerPrivacy, 'ownerId'>> = {}, opts: { activate?: boolean } = {}): void {
    this.owners.set(ownerId, { ownerId, localOnly: privacy.localOnly ?? false, retentionDays: privacy.retentionDays ?? 30 });
    if (opts.activate ?? this.active === undefined) this.active = ownerId;
  }
  private get(ownerId: string): OwnerPrivacy {
    const o = this.owners.get(ownerId);
    if (!o) throw new EarshotError('UNKNOWN_OWNER', `unknown owner ${ownerId}`);
    return o;
  }
  async getPrivacy(ownerId: string): Promise<OwnerPrivacy> {
    return { ...this.get(ownerId) };
  }
  async setLocalOnly(ownerId: string, on: boolean): Promise<void> {
    this.get(ownerId).localOnly = on;
  }
  async setRetentionDays(ownerId: string, days: number): Promise<void> {
    this.get(ownerId).retentionDays = days;
  }
  async activeOwnerId(): Promise<string | undefined> {
    return this.active;
  }
}

export class MemoryOutboxRepo implements OutboxRepo {
  readonly entries = new Map<string, OutboxEntry>();
  async enqueue(entry: { recordingId: string; ownerId: string; capturedAt: number; enqueuedAt: number }): Promise<void> {
    if (this.entries.has(entry.recordingId)) return;
    this.entries.set(entry.recordingId, { ...entry, attempts: 0, nextAttemptAt: entry.enqueuedAt, lastError: null });
  }
  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    return [...this.entries.values()]
      .filter((e) => e.nextAttemptAt <= now)
      .sort((a, b) => a.capturedAt - b.capturedAt || a.recordingId.localeCompare(b.recordingId))
      .slice(0, limit);
  }
  async recordFailure(recordingId: string, error: string, nextAttemptAt: number): Promise<void> {
    const e = this.entries.get(recordingId);
    if (!e) return;
    this.entries.set(recordingId, { ...e, attempts: e.attempts + 1, lastError: error, nextAttemptAt });
  }
  async remove(recordingId: string): Promise<void> {
    this.entries.delete(recordingId);
  }
  async removeOwner(ownerId: string): Promise<number> {
    let n = 0;
    for (const [id, e] of this.entries) {
      if (e.ownerId === ownerId) {
        this.entries.delete(id);
        n++;
      }
    }
    return n;
  }
  async count(): Promise<number> {
    return this.entries.size;
  }
}
