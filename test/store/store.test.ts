import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingStore, SCHEMA_VERSION } from '../../src/store/index.js';
import { DEVICE, freshStore, makeCapture, samePcm, tempDir } from './helpers.js';

describe('RecordingStore basics', () => {
  let t: ReturnType<typeof tempDir>;
  let store: RecordingStore;
  beforeEach(async () => {
    t = tempDir();
    store = await freshStore(t.dir);
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    t.cleanup();
  });

  it('stores a capture for an owner and opens it back byte-identical', async () => {
    const alice = await store.owners.add('Alice');
    const cap = makeCapture({ seed: 7 });
    const saved = await store.saveCapture(alice, cap);
    expect(saved.ownerId).toBe(alice);
    const rec = await store.recordings.open(cap.id);
    expect(rec.ownerId).toBe(alice);
    expect(rec.deviceId).toBe(DEVICE);
    expect(rec.wakeword).toBe('hey_jarvis');
    expect(rec.score).toBeCloseTo(0.93);
    expect(samePcm(rec.pcm, cap.pcm)).toBe(true);
  });

  it('the first owner becomes active; use switches; unknown owner is refused', async () => {
    const a = await store.owners.add('Alice');
    const b = await store.owners.add('Bob');
    expect(await store.owners.activeOwnerId()).toBe(a);
    await store.owners.use(b);
    expect(await store.owners.activeOwnerId()).toBe(b);
    const list = await store.owners.list();
    expect(list.map((o) => [o.name, o.active])).toEqual([
      ['Alice', false],
      ['Bob', true],
    ]);
    await expect(store.owners.use('own-nope')).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    await expect(store.saveCapture('own-nope', makeCapture())).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
  });

  it('another owner cannot open a recording (openAs)', async () => {
    const a = await store.owners.add('Alice');
    const b = await store.owners.add('Bob');
    const cap = makeCapture();
    await store.saveCapture(a, cap);
    await expect(store.recordings.openAs(cap.id, b)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect((await store.recordings.openAs(cap.id, a)).ownerId).toBe(a);
    const incidents = (await store.audit.list()).filter((e) => e.type === 'incident');
    expect(incidents.length).toBe(1);
  });

  it('erasure removes the owner, recordings and consent, and the audit chain still verifies', async () => {
    const a = await store.owners.add('Alice');
    const b = await store.owners.add('Bob');
    const ca = makeCapture({ seed: 1 });
    const cb = makeCapture({ seed: 2 });
    await store.saveCapture(a, ca, { enqueue: true });
    await store.saveCapture(b, cb, { enqueue: true });
    await store.consent.append({ ownerId: a, purpose: 'cloud-processing', action: 'grant', at: 1, source: 'owner-cli', textVersion: 'v1' });
    const r = await store.eraseOwner(a);
    expect(r).toMatchObject({ recordings: 1, consentEvents: 1 });
    await expect(store.recordings.open(ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect(samePcm((await store.recordings.open(cb.id)).pcm, cb.pcm)).toBe(true);
    expect(await store.outbox.count()).toBe(1);
    expect(await store.consent.history(a)).toEqual([]);
    expect(await store.owners.activeOwnerId()).toBeUndefined();
    expect(await store.stats()).toMatchObject({ owners: 1, recordings: 1, outbox: 1, activeOwnerId: null, schemaVersion: SCHEMA_VERSION });
    const report = await store.audit.verify();
    expect(report.problems).toEqual([]);
    const aliceEntries = await store.audit.list({ ownerId: a });
    const added = aliceEntries.find((e) => e.type === 'owner.added');
    expect(added?.personal).toBe('redacted');
    const bobAdded = (await store.audit.list({ ownerId: b })).find((e) => e.type === 'owner.added');
    expect(bobAdded?.personal).toEqual({ name: 'Bob' });
  });

  it('markUploaded with retention 0 deletes right away; retention N keeps it', async () => {
    const a = await store.owners.add('Alice', { retentionDays: 0 });
    const b = await store.owners.add('Bob', { retentionDays: 30 });
    const ca = makeCapture();
    const cb = makeCapture();
    await store.saveCapture(a, ca, { enqueue: true });
    await store.saveCapture(b, cb, { enqueue: true });
    await store.recordings.markUploaded(ca.id, 5);
    await store.recordings.markUploaded(cb.id, 5);
    await expect(store.recordings.open(ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect((await store.recordings.list(b))[0]?.uploadedAt).toBe(5);
    expect(await store.outbox.count()).toBe(0);
  });

  it('duplicate recording ids and malformed captures are refused', async () => {
    const a = await store.owners.add('Alice');
    const cap = makeCapture();
    await store.saveCapture(a, cap);
    await expect(store.saveCapture(a, cap)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(store.saveCapture(a, { ...cap, id: 'x y' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
