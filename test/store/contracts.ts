/**
 * Shared contract suites for the ports in src/core/ports.ts. Any implementation (the SQLite store here, an
 * in-memory fake in the uplink/privacy tests) must pass the same suite:
 *
 *   import { outboxContract } from '../store/contracts.js';
 *   outboxContract('in-memory outbox', async () => ({ repo: new MemoryOutbox(), addOwner, addRecording, cleanup }));
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConsentLedgerRepo, OutboxRepo, OwnerPrivacyRepo, RecordingReader, SettingsRepo } from '../../src/core/ports.js';
import type { AuditSink } from '../../src/core/privacy-types.js';

export interface Fixture<R> {
  repo: R;
  /** Create an owner known to the implementation; returns its id. */
  addOwner(): Promise<string>;
  /** Create a recording of `ownerId` captured at `capturedAt`; returns its id. */
  addRecording(ownerId: string, capturedAt: number): Promise<string>;
  cleanup(): Promise<void>;
}

function useFixture<R>(factory: () => Promise<Fixture<R>>): () => Fixture<R> {
  let f: Fixture<R> | undefined;
  beforeEach(async () => {
    f = await factory();
  });
  afterEach(async () => {
    await f?.cleanup();
    f = undefined;
  });
  return () => f!;
}

export function consentLedgerContract(name: string, factory: () => Promise<Fixture<ConsentLedgerRepo>>): void {
  describe(`ConsentLedgerRepo contract: ${name}`, () => {
    const fx = useFixture(factory);
    it('appends and returns history oldest first, filtered by purpose', async () => {
      const { repo, addOwner } = fx();
      const o = await addOwner();
      const other = await addOwner();
      await repo.append({ ownerId: o, purpose: 'cloud-processing', action: 'grant', at: 10, source: 'owner-cli', textVersion: 'v1' });
      await repo.append({ ownerId: o, purpose: 'quality-improvement', action: 'grant', at: 20, source: 'local-page', textVersion: 'v1' });
      await repo.append({ ownerId: o, purpose: 'cloud-processing', action: 'revoke', at: 30, source: 'owner-cli', textVersion: 'v2' });
      await repo.append({ ownerId: other, purpose: 'cloud-processing', action: 'grant', at: 15, source: 'owner-cli', textVersion: 'v1' });
      expect((await repo.history(o)).map((e) => [e.purpose, e.action, e.at])).toEqual([
        ['cloud-processing', 'grant', 10],
        ['quality-improvement', 'grant', 20],
        ['cloud-processing', 'revoke', 30],
      ]);
      expect((await repo.history(o, 'cloud-processing')).map((e) => e.action)).toEqual(['grant', 'revoke']);
      expect((await repo.history(o, 'cloud-processing'))[1]).toEqual({
        ownerId: o,
        purpose: 'cloud-processing',
        action: 'revoke',
        at: 30,
        source: 'owner-cli',
        textVersion: 'v2',
      });
      expect((await repo.history(other)).length).toBe(1);
    });
    it('has no history for an owner without events', async () => {
      const { repo, addOwner } = fx();
      expect(await repo.history(await addOwner())).toEqual([]);
    });
  });
}

export function outboxContract(name: string, factory: () => Promise<Fixture<OutboxRepo>>): void {
  describe(`OutboxRepo contract: ${name}`, () => {
    const fx = useFixture(factory);
    it('due() returns entries whose time has come, oldest capture first, limited', async () => {
      const { repo, addOwner, addRecording } = fx();
      const o = await addOwner();
      const r1 = await addRecording(o, 300);
      const r2 = await addRecording(o, 100);
      const r3 = await addRecording(o, 200);
      for (const [id, at] of [[r1, 300], [r2, 100], [r3, 200]] as const) {
        await repo.enqueue({ recordingId: id, ownerId: o, capturedAt: at, enqueuedAt: 1000 });
      }
      expect(await repo.count()).toBe(3);
      expect((await repo.due(1000, 10)).map((e) => e.recordingId)).toEqual([r2, r3, r1]);
      expect((await repo.due(1000, 2)).map((e) => e.recordingId)).toEqual([r2, r3]);
      expect(await repo.due(999, 10)).toEqual([]);
      const first = (await repo.due(1000, 1))[0]!;
      expect(first).toEqual({ recordingId: r2, ownerId: o, capturedAt: 100, enqueuedAt: 1000, attempts: 0, nextAttemptAt: 1000, lastError: null });
    });
    it('recordFailure counts attempts and postpones; remove and removeOwner delete', async () => {
      const { repo, addOwner, addRecording } = fx();
      const a = await addOwner();
      const b = await addOwner();
      const ra = await addRecording(a, 1);
      const ra2 = await addRecording(a, 2);
      const rb = await addRecording(b, 3);
      await repo.enqueue({ recordingId: ra, ownerId: a, capturedAt: 1, enqueuedAt: 10 });
      await repo.enqueue({ recordingId: ra2, ownerId: a, capturedAt: 2, enqueuedAt: 10 });
      await repo.enqueue({ recordingId: rb, ownerId: b, capturedAt: 3, enqueuedAt: 10 });
      await repo.recordFailure(ra, 'reason 0x87', 5000);
      expect((await repo.due(4999, 10)).map((e) => e.recordingId)).toEqual([ra2, rb]);
      const later = (await repo.due(5000, 10)).find((e) => e.recordingId === ra)!;
      expect(later).toMatchObject({ attempts: 1, lastError: 'reason 0x87', nextAttemptAt: 5000 });
      await repo.remove(rb);
      expect(await repo.count()).toBe(2);
      expect(await repo.removeOwner(a)).toBe(2);
      expect(await repo.count()).toBe(0);
    });
    it('nextAttemptAfter(now) is the earliest retry time later than now (undefined when none)', async () => {
      const { repo, addOwner, addRecording } = fx();
      const o = await addOwner();
      expect(await repo.nextAttemptAfter(0)).toBeUndefined();
      const r1 = await addRecording(o, 1);
      const r2 = await addRecording(o, 2);
      await repo.enqueue({ recordingId: r1, ownerId: o, capturedAt: 1, enqueuedAt: 10 });
      await repo.enqueue({ recordingId: r2, ownerId: o, capturedAt: 2, enqueuedAt: 10 });
      expect(await repo.nextAttemptAfter(10)).toBeUndefined(); // both due now: no timer needed
      expect(await repo.nextAttemptAfter(5)).toBe(10);
      await repo.recordFailure(r1, 'x', 9000);
      await repo.recordFailure(r2, 'x', 7000);
      expect(await repo.nextAttemptAfter(10)).toBe(7000);
      expect(await repo.nextAttemptAfter(7000)).toBe(9000);
      expect(await repo.nextAttemptAfter(9000)).toBeUndefined();
    });
    it('enqueueing the same recording twice keeps one entry (idempotent)', async () => {
      const { repo, addOwner, addRecording } = fx();
      const o = await addOwner();
      const r = await addRecording(o, 1);
      await repo.enqueue({ recordingId: r, ownerId: o, capturedAt: 1, enqueuedAt: 10 });
      await repo.enqueue({ recordingId: r, ownerId: o, capturedAt: 1, enqueuedAt: 20 });
      expect(await repo.count()).toBe(1);
    });
  });
}

export function settingsContract(name: string, factory: () => Promise<Fixture<SettingsRepo>>): void {
  describe(`SettingsRepo contract: ${name}`, () => {
    const fx = useFixture(factory);
    it('get of a missing key is undefined; set overwrites', async () => {
      const { repo } = fx();
      expect(await repo.get('fleet.version.device')).toBeUndefined();
      await repo.set('fleet.version.device', '3');
      await repo.set('fleet.version.device', '4');
      expect(await repo.get('fleet.version.device')).toBe('4');
    });
  });
}

export function ownerPrivacyContract(name: string, factory: () => Promise<Fixture<OwnerPrivacyRepo>>): void {
  describe(`OwnerPrivacyRepo contract: ${name}`, () => {
    const fx = useFixture(factory);
    it('local-only and retention are per owner and persist', async () => {
      const { repo, addOwner } = fx();
      const a = await addOwner();
      const b = await addOwner();
      await repo.setLocalOnly(a, true);
      await repo.setRetentionDays(a, 0);
      expect(await repo.getPrivacy(a)).toEqual({ ownerId: a, localOnly: true, retentionDays: 0 });
      expect((await repo.getPrivacy(b)).localOnly).toBe(false);
      await repo.setLocalOnly(a, false);
      expect((await repo.getPrivacy(a)).localOnly).toBe(false);
    });
    it('unknown owners are UNKNOWN_OWNER; an active owner exists once owners do', async () => {
      const { repo, addOwner } = fx();
      await expect(repo.getPrivacy('own-unknown')).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
      await expect(repo.setLocalOnly('own-unknown', true)).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
      const a = await addOwner();
      expect(await repo.activeOwnerId()).toBe(a);
    });
  });
}

export function recordingReaderContract(name: string, factory: () => Promise<Fixture<RecordingReader & { ownerPrivacy: OwnerPrivacyRepo }>>): void {
  describe(`RecordingReader contract: ${name}`, () => {
    const fx = useFixture(factory);
    it('open returns the recording tagged with its owner; unknown ids are UNKNOWN_RECORDING', async () => {
      const { repo, addOwner, addRecording } = fx();
      const o = await addOwner();
      const id = await addRecording(o, 1234);
      const rec = await repo.open(id);
      expect(rec).toMatchObject({ id, ownerId: o, startedAt: 1234 });
      expect(rec.pcm).toBeInstanceOf(Int16Array);
      await expect(repo.open('no-such-recording')).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    });
    it('markUploaded deletes at retention 0 and keeps otherwise', async () => {
      const { repo, addOwner, addRecording } = fx();
      const keep = await addOwner();
      const zero = await addOwner();
      await repo.ownerPrivacy.setRetentionDays(zero, 0);
      const r1 = await addRecording(keep, 1);
      const r2 = await addRecording(zero, 2);
      await repo.markUploaded(r1, 10);
      await repo.markUploaded(r2, 10);
      expect((await repo.open(r1)).id).toBe(r1);
      await expect(repo.open(r2)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    });
  });
}

export function auditSinkContract(
  name: string,
  factory: () => Promise<Fixture<AuditSink & { entries(): Promise<{ type: string; ownerId: string | null; detail: unknown }[]> }>>,
): void {
  describe(`AuditSink contract: ${name}`, () => {
    const fx = useFixture(factory);
    it('appends events in order with their clear detail', async () => {
      const { repo, addOwner } = fx();
      const o = await addOwner();
      await repo.append({ type: 'config.applied', detail: { version: 3 } });
      await repo.append({ type: 'consent.changed', ownerId: o, detail: { purpose: 'cloud-processing', action: 'grant' }, personal: { note: 'x' } });
      const tail = (await repo.entries()).slice(-2);
      expect(tail.map((e) => e.type)).toEqual(['config.applied', 'consent.changed']);
      expect(tail[1]).toMatchObject({ ownerId: o, detail: { purpose: 'cloud-processing', action: 'grant' } });
    });
  });
}
