/**
 * Test doubles for privacy, fleet and uplink logic: a settable clock, and the in-memory outbox, settings and
 * audit sink (the whole in-memory store is test/support/memory-store.ts).
 */
import type { Clock } from '../../src/core/clock.js';
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
