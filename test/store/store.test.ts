import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/index.js';
import { DEVICE, TEST, freshApp, makeCapture, openRecording, samePcm, tempDir, type TestApp } from './helpers.js';

describe('RecordingStore basics (through the application layer)', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp;
  // A clock that moves on by 1 ms per reading: owners get distinct creation times (list order) and consent
  // granted at one reading is active for a capture started at the next.
  const clock = { t: 1_700_000_000_000 };
  beforeEach(async () => {
    t = tempDir();
    h = await freshApp(t.dir, { clock: { now: () => clock.t++ } });
  });
  afterEach(async () => {
    await h.close().catch(() => undefined);
    t.cleanup();
  });

  const add = (name: string, opts: { retentionDays?: number } = {}) => h.app.addOwner({ name, ...opts, ...TEST });
  /** A capture the gate lets into the outbox: cloud-processing consent is active at capture time and now. */
  async function queuedCapture(ownerId: string, seed?: number): Promise<ReturnType<typeof makeCapture>> {
    await h.app.grantConsent(ownerId, 'cloud-processing', TEST);
    const cap = makeCapture({ ...(seed !== undefined ? { seed } : {}), startedAt: clock.t });
    const r = await h.app.storeCapture(ownerId, cap, { uplink: true });
    expect(r.queued).toBe(true);
    return cap;
  }

  it('stores a capture for an owner and opens it back byte-identical', async () => {
    const alice = await add('Alice');
    const cap = makeCapture({ seed: 7 });
    const saved = await h.app.storeCapture(alice, cap, { uplink: false });
    expect(saved.recording.ownerId).toBe(alice);
    expect(saved.queued).toBe(false);
    const rec = await openRecording(h.store, cap.id);
    expect(rec.ownerId).toBe(alice);
    expect(rec.deviceId).toBe(DEVICE);
    expect(rec.wakeword).toBe('hey_jarvis');
    expect(rec.score).toBeCloseTo(0.93);
    expect(samePcm(rec.pcm, cap.pcm)).toBe(true);
  });

  it('the first owner becomes active; use switches; unknown owner is refused', async () => {
    const a = await add('Alice');
    const b = await add('Bob');
    expect(await h.app.activeOwnerId()).toBe(a);
    await h.app.useOwner(b, TEST);
    expect(await h.app.activeOwnerId()).toBe(b);
    const list = await h.app.listOwners();
    expect(list.map((o) => [o.name, o.active])).toEqual([
      ['Alice', false],
      ['Bob', true],
    ]);
    await expect(h.app.useOwner('own-nope', TEST)).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    await expect(h.app.storeCapture('own-nope', makeCapture(), { uplink: false })).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
  });

  it('another owner cannot open a recording (as-owner open; the app answers as for an unknown id)', async () => {
    const a = await add('Alice');
    const b = await add('Bob');
    const cap = makeCapture();
    await h.app.storeCapture(a, cap, { uplink: false });
    // The store: opening as Bob (his key, associated data naming him) fails authentication.
    await expect(openRecording(h.store, cap.id, b)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect((await openRecording(h.store, cap.id, a)).ownerId).toBe(a);
    // The app: Bob asking to play Alice's recording is refused like an unknown id, and nothing is delivered.
    let delivered = 0;
    const deliver = async () => {
      delivered++;
    };
    await expect(h.app.playRecording(b, cap.id, TEST, deliver)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect(delivered).toBe(0);
    expect((await h.app.playRecording(a, cap.id, TEST, deliver)).ownerId).toBe(a);
    expect(delivered).toBe(1);
    // Refused before anything is opened: a request for another owner's recording is not an integrity incident
    // (the old store's openAs recorded one; the app answers it as UNKNOWN_RECORDING, by design).
    expect((await h.app.auditLog()).filter((e) => e.type === 'incident')).toEqual([]);
    const played = (await h.app.auditLog()).filter((e) => e.type === 'recording.played');
    expect(played.map((e) => [e.ownerId, e.recordingId])).toEqual([[a, cap.id]]);
  });

  it('erasure removes the owner, recordings and consent, and the audit chain still verifies', async () => {
    const a = await add('Alice');
    const b = await add('Bob');
    const ca = await queuedCapture(a, 1);
    const cb = await queuedCapture(b, 2);
    expect(await h.store.outbox.count()).toBe(2);
    const r = await h.app.eraseOwner(a, TEST);
    expect(r).toMatchObject({ recordings: 1, consentEvents: 1 });
    await expect(openRecording(h.store, ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect(samePcm((await openRecording(h.store, cb.id)).pcm, cb.pcm)).toBe(true);
    expect(await h.store.outbox.count()).toBe(1);
    expect(await h.store.uow.read((tx) => tx.consent.history(a))).toEqual([]);
    await expect(h.app.consentOf(a)).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    expect(await h.app.activeOwnerId()).toBeUndefined();
    expect(await h.app.stats()).toMatchObject({ owners: 1, recordings: 1, outbox: 1, activeOwnerId: null, schemaVersion: SCHEMA_VERSION });
    const report = await h.app.verifyAudit();
    expect(report.problems).toEqual([]);
    const aliceEntries = await h.app.auditLog({ ownerId: a });
    const added = aliceEntries.find((e) => e.type === 'owner.added');
    expect(added?.personal).toBe('redacted');
    const bobAdded = (await h.app.auditLog({ ownerId: b })).find((e) => e.type === 'owner.added');
    expect(bobAdded?.personal).toEqual({ name: 'Bob' });
  });

  it('confirming an upload with retention 0 deletes right away; retention N keeps it', async () => {
    const a = await add('Alice', { retentionDays: 0 });
    const b = await add('Bob', { retentionDays: 30 });
    const ca = await queuedCapture(a);
    const cb = await queuedCapture(b);
    await h.app.confirmUpload(ca.id, 5);
    await h.app.confirmUpload(cb.id, 5);
    await expect(openRecording(h.store, ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect((await h.app.listRecordings(b))[0]?.uploadedAt).toBe(5);
    expect(await h.store.outbox.count()).toBe(0);
  });

  it('duplicate recording ids and malformed captures are refused', async () => {
    const a = await add('Alice');
    const cap = makeCapture();
    await h.app.storeCapture(a, cap, { uplink: false });
    await expect(h.app.storeCapture(a, cap, { uplink: false })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(h.app.storeCapture(a, { ...cap, id: 'x y' }, { uplink: false })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
