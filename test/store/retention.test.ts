import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, retentionRule } from '../../src/privacy/index.js';
import { TEST, freshApp, makeCapture, tempDir, type TestApp } from './helpers.js';

describe('retention policy (pure)', () => {
  it('N days is "captured before now − N days"; 0 is "only uploaded recordings"', () => {
    const now = 100 * DAY_MS;
    expect(retentionRule(30, now)).toEqual({ createdBefore: now - 30 * DAY_MS });
    expect(retentionRule(7, now)).toEqual({ createdBefore: now - 7 * DAY_MS });
    expect(retentionRule(0, now)).toEqual({ uploadedOnly: true });
  });
});

describe('retention sweep against the store (application layer)', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp;
  const clock = { t: 1_800_000_000_000 };
  beforeEach(async () => {
    t = tempDir();
    clock.t = 1_800_000_000_000;
    h = await freshApp(t.dir, { clock: { now: () => clock.t } });
  });
  afterEach(async () => {
    await h.close();
    t.cleanup();
  });

  const add = (name: string, retentionDays: number) => h.app.addOwner({ name, retentionDays, ...TEST });
  const save = (ownerId: string, c: ReturnType<typeof makeCapture>) => h.app.storeCapture(ownerId, c, { uplink: false });
  const ids = (ownerId: string) => h.store.uow.read((tx) => tx.recordings.ids(ownerId));

  it('N days expires what was captured more than N days ago; 0 expires only uploaded recordings', async () => {
    const now = clock.t;
    const n = await add('Thirty', 30);
    const z = await add('Zero', 0);
    const old31 = makeCapture({ startedAt: now - 31 * DAY_MS });
    const up29 = makeCapture({ startedAt: now - 29 * DAY_MS });
    const notUp365 = makeCapture({ startedAt: now - 365 * DAY_MS });
    const upNow = makeCapture({ startedAt: now });
    await save(n, old31);
    await save(n, up29);
    await save(z, notUp365);
    await save(z, upNow);
    await h.app.confirmUpload(up29.id, 5);
    // Retention 0 deletes on upload confirmation; to see the sweep's own rule, upload while at 30 days, then set 0.
    await h.app.setRetention(z, 30, TEST);
    await h.app.confirmUpload(upNow.id, now);
    await h.app.setRetention(z, 0, TEST);
    expect(await ids(z)).toEqual([notUp365.id, upNow.id]);

    const res = await h.app.sweepRetention(TEST);
    expect(Object.fromEntries(res.map((r) => [r.ownerId, [r.retentionDays, r.deleted]]))).toEqual({ [n]: [30, 1], [z]: [0, 1] });
    expect(await ids(n)).toEqual([up29.id]); // 29 days old, uploaded: kept
    expect(await ids(z)).toEqual([notUp365.id]); // a year old but never uploaded: kept
  });

  it('deletes per owner by their own retention and audits the counts', async () => {
    const a = await add('Alice', 30);
    const b = await add('Bob', 7);
    const z = await add('Zero', 0);
    const now = clock.t;
    const old40 = makeCapture({ startedAt: now - 40 * DAY_MS });
    const old10a = makeCapture({ startedAt: now - 10 * DAY_MS });
    const old10b = makeCapture({ startedAt: now - 10 * DAY_MS });
    const fresh = makeCapture({ startedAt: now - DAY_MS });
    const zUp = makeCapture({ startedAt: now - DAY_MS });
    const zNot = makeCapture({ startedAt: now - 90 * DAY_MS });
    await save(a, old40);
    await save(a, old10a);
    await save(b, old10b);
    await save(b, fresh);
    await save(z, zUp);
    await save(z, zNot);
    // An upload confirmation for retention 0 deletes at once; the sweeper catches any that were left over.
    await h.app.confirmUpload(zUp.id, now);
    expect(await ids(z)).toEqual([zNot.id]);

    const res = await h.app.sweepRetention(TEST);
    expect(Object.fromEntries(res.map((r) => [r.ownerId, r.deleted]))).toEqual({ [a]: 1, [b]: 1, [z]: 0 });
    expect(await ids(a)).toEqual([old10a.id]);
    expect(await ids(b)).toEqual([fresh.id]);
    expect(await ids(z)).toEqual([zNot.id]); // never uploaded: kept
    const swept = (await h.app.auditLog()).filter((e) => e.type === 'retention.swept');
    expect(Object.fromEntries(swept.map((e) => [e.ownerId, e.detail?.['deleted']]))).toEqual({ [a]: 1, [b]: 1 });
    expect(swept.map((e) => e.detail?.['source'])).toEqual(['test', 'test']);
    expect((await h.app.sweepRetention(TEST)).every((r) => r.deleted === 0)).toBe(true);
  });

  it('an owner changing their retention is on the audit log, and the sweeper then applies the new value', async () => {
    const a = await add('Alice', 30);
    await save(a, makeCapture({ startedAt: clock.t - 10 * DAY_MS }));
    expect((await h.app.sweepRetention(TEST))[0]?.deleted).toBe(0);
    await h.app.setRetention(a, 7, TEST);
    const changed = (await h.app.auditLog()).filter((e) => e.type === 'retention.changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ ownerId: a, detail: { retentionDays: 7, source: 'test' } });
    expect((await h.app.sweepRetention(TEST))[0]?.deleted).toBe(1);
  });

  it('each sweep applies the rule as of its own time: what was kept expires at a later sweep', async () => {
    // The daemon sweeps at start and hourly (src/daemon/run-daemon.ts); every sweep is this call with the clock's time.
    const a = await add('Alice', 1);
    await save(a, makeCapture({ startedAt: clock.t - 2 * DAY_MS }));
    expect((await h.app.sweepRetention(TEST))[0]?.deleted).toBe(1);
    const later = makeCapture({ startedAt: clock.t });
    await save(a, later);
    expect((await h.app.sweepRetention(TEST))[0]?.deleted).toBe(0);
    expect(await ids(a)).toEqual([later.id]);
    clock.t += 2 * DAY_MS;
    expect((await h.app.sweepRetention(TEST))[0]?.deleted).toBe(1);
    expect(await ids(a)).toEqual([]);
  });
});
