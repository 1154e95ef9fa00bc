import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { DAY_MS, isExpired, retentionRule } from '../../src/privacy/retention/policy.js';
import { retentionTargetOf, startRetentionSweeper, sweepRetention } from '../../src/privacy/retention/sweeper.js';
import type { RecordingStore } from '../../src/store/index.js';
import { freshStore, makeCapture, tempDir } from './helpers.js';

describe('retention policy (pure)', () => {
  it('N days expires what was captured more than N days ago; 0 expires only uploaded recordings', () => {
    const now = 100 * DAY_MS;
    const r30 = retentionRule(30, now);
    expect(isExpired(r30, { createdAt: now - 31 * DAY_MS, uploadedAt: null })).toBe(true);
    expect(isExpired(r30, { createdAt: now - 29 * DAY_MS, uploadedAt: 5 })).toBe(false);
    const r0 = retentionRule(0, now);
    expect(isExpired(r0, { createdAt: now - 365 * DAY_MS, uploadedAt: null })).toBe(false);
    expect(isExpired(r0, { createdAt: now, uploadedAt: now })).toBe(true);
  });
});

describe('retention sweeper against the store', () => {
  let t: ReturnType<typeof tempDir>;
  let store: RecordingStore;
  const clock = { t: 1_800_000_000_000 };
  beforeEach(async () => {
    t = tempDir();
    store = await freshStore(t.dir, clock);
  });
  afterEach(async () => {
    await store.close();
    t.cleanup();
  });

  it('deletes per owner by their own retention and audits the counts', async () => {
    const a = await store.owners.add('Alice', { retentionDays: 30 });
    const b = await store.owners.add('Bob', { retentionDays: 7 });
    const z = await store.owners.add('Zero', { retentionDays: 0 });
    const now = clock.t;
    const old40 = makeCapture({ startedAt: now - 40 * DAY_MS });
    const old10a = makeCapture({ startedAt: now - 10 * DAY_MS });
    const old10b = makeCapture({ startedAt: now - 10 * DAY_MS });
    const fresh = makeCapture({ startedAt: now - DAY_MS });
    const zUp = makeCapture({ startedAt: now - DAY_MS });
    const zNot = makeCapture({ startedAt: now - 90 * DAY_MS });
    await store.saveCapture(a, old40);
    await store.saveCapture(a, old10a);
    await store.saveCapture(b, old10b);
    await store.saveCapture(b, fresh);
    await store.saveCapture(z, zUp);
    await store.saveCapture(z, zNot);
    // An upload confirmation for retention 0 deletes at once; the sweeper catches any that were left over.
    await store.recordings.markUploaded(zUp.id, now);

    const res = await sweepRetention(retentionTargetOf(store), now);
    expect(Object.fromEntries(res.map((r) => [r.ownerId, r.deleted]))).toEqual({ [a]: 1, [b]: 1, [z]: 0 });
    expect(await store.recordings.ids(a)).toEqual([old10a.id]);
    expect(await store.recordings.ids(b)).toEqual([fresh.id]);
    expect(await store.recordings.ids(z)).toEqual([zNot.id]); // never uploaded: kept
    const swept = (await store.audit.list()).filter((e) => e.type === 'retention.swept');
    expect(Object.fromEntries(swept.map((e) => [e.ownerId, e.detail?.['deleted']]))).toEqual({ [a]: 1, [b]: 1 });
    expect((await sweepRetention(retentionTargetOf(store), now)).every((r) => r.deleted === 0)).toBe(true);
  });

  it('an owner changing their retention is on the audit log, and the sweeper then applies the new value', async () => {
    const a = await store.owners.add('Alice', { retentionDays: 30 });
    await store.saveCapture(a, makeCapture({ startedAt: clock.t - 10 * DAY_MS }));
    expect((await sweepRetention(retentionTargetOf(store), clock.t))[0]?.deleted).toBe(0);
    await store.owners.setRetentionDays(a, 7);
    const changed = (await store.audit.list()).filter((e) => e.type === 'retention.changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ ownerId: a });
    expect((await sweepRetention(retentionTargetOf(store), clock.t))[0]?.deleted).toBe(1);
  });

  it('startRetentionSweeper sweeps at start and again every interval', async () => {
    const a = await store.owners.add('Alice', { retentionDays: 1 });
    await store.saveCapture(a, makeCapture({ startedAt: clock.t - 2 * DAY_MS }));
    const sweeper = startRetentionSweeper(retentionTargetOf(store), { clock: { now: () => clock.t }, logger: silentLogger, intervalMs: 30 });
    try {
      expect((await sweeper.firstSweep)[0]?.deleted).toBe(1);
      const later = makeCapture({ startedAt: clock.t });
      await store.saveCapture(a, later);
      clock.t += 2 * DAY_MS;
      await new Promise((r) => setTimeout(r, 150));
      expect(await store.recordings.ids(a)).toEqual([]);
    } finally {
      sweeper.stop();
    }
  });
});
