/**
 * In-memory implementations of the store ports (src/core/ports.ts) for tests of privacy, fleet and uplink
 * logic. They follow the port contracts closely (append-only ledger, oldest-first history, due() ordering,
 * UNKNOWN_OWNER for unknown owners) so a test that passes here says something about the SQLite store too.
 */
import { EarshotError } from '../../src/core/errors.js';
import type { Clock } from '../../src/core/clock.js';
import type { ConsentLedgerRepo, OwnerPrivacy, OwnerPrivacyRepo } from '../../src/core/ports.js';
import type { ConsentEvent, Purpose } from '../../src/core/privacy-types.js';
// One in-memory implementation of the outbox, settings and audit ports serves every test and the uplink bench.
export {
  MemoryAudit as MemoryAuditSink,
  MemoryOutbox as MemoryOutboxRepo,
  MemorySettings as MemorySettingsRepo,
} from '../../src/uplink/testing/memory-ports.js';

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

