/**
 * Every operation on personal data, on both stores: each writes its audit entry once, in one shape, and applies
 * the one privacy policy (the fleet's retention cap included) whoever calls it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/ports.js';
import { DAY_MS } from '../../src/privacy/index.js';
import { makeCapture, samePcm } from '../store/helpers.js';
import { appHarness, onEveryStore, type AppHarness } from './harness.js';

onEveryStore('operations', (kind) => {
  let h: AppHarness;
  let alice: string;
  let bob: string;
  const cli = { source: 'owner-cli' };
  beforeEach(async () => {
    h = await appHarness(kind);
    alice = await h.app.addOwner({ name: 'Alice', ...cli });
    bob = await h.app.addOwner({ name: 'Bob', ...cli });
  });
  afterEach(() => h.close());

  /** Audit entries appended by `fn`. */
  async function appendedBy(fn: () => Promise<unknown>): Promise<AuditEntry[]> {
    const before = (await h.app.auditHead()).seq;
    await fn();
    return (await h.app.auditLog()).filter((e) => e.seq > before);
  }
  const types = (entries: AuditEntry[]) => entries.map((e) => e.type);

  it('adding owners: the first becomes active; each addition is audited once', async () => {
    const added = await appendedBy(() => h.app.addOwner({ name: 'Carol', ...cli }));
    expect(types(added)).toEqual(['owner.added']);
    expect(added[0]).toMatchObject({ detail: { retentionDays: 30, localOnly: false, source: 'owner-cli' }, personal: { name: 'Carol' } });
    expect(await h.app.activeOwnerId()).toBe(alice);
    expect(types(await appendedBy(() => h.app.useOwner(bob, cli)))).toEqual(['owner.activated']);
    expect(await h.app.activeOwnerId()).toBe(bob);
  });

  it('storing a capture is one unit: sealed row, one recording.created, queued only when allowed', async () => {
    const c = makeCapture({ seed: 1, startedAt: h.clock.now() });
    const e = await appendedBy(() => h.app.storeCapture(alice, c, { uplink: true }));
    expect(types(e)).toEqual(['recording.created']);
    expect(e[0]).toMatchObject({ ownerId: alice, recordingId: c.id });
    expect(await h.read((tx) => tx.outbox.count())).toBe(0);
    const rec = await h.read((tx) => tx.recordings.open(c.id, alice));
    expect(samePcm(rec.pcm, c.pcm)).toBe(true);
  });

  it('confirming an upload is audited exactly once; retention 0 (or a fleet cap of 0) deletes it in the same unit', async () => {
    await h.app.grantConsent(alice, 'cloud-processing', cli);
    const keep = makeCapture({ seed: 1, startedAt: h.clock.advance(10) });
    await h.app.storeCapture(alice, keep, { uplink: true });
    const e = await appendedBy(() => h.app.confirmUpload(keep.id, h.clock.advance(10)));
    expect(types(e)).toEqual(['recording.uploaded']);
    expect(await h.read((tx) => tx.outbox.count())).toBe(0);
    expect((await h.app.listRecordings(alice)).map((r) => r.uploadedAt)).toEqual([h.clock.now()]);

    await h.app.setRetention(alice, 0, cli);
    const gone = makeCapture({ seed: 2, startedAt: h.clock.advance(10) });
    await h.app.storeCapture(alice, gone, { uplink: true });
    expect(types(await appendedBy(() => h.app.confirmUpload(gone.id, h.clock.advance(10))))).toEqual(['recording.uploaded', 'recording.deleted']);
    await expect(h.read((tx) => tx.recordings.open(gone.id))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });

    // The owner keeps 30 days; a fleet cap of 0 is what applies.
    await h.app.setRetention(alice, 30, cli);
    h.fleet.privacy = { maxRetentionDays: 0 };
    const capped = makeCapture({ seed: 3, startedAt: h.clock.advance(10) });
    await h.app.storeCapture(alice, capped, { uplink: true });
    expect(types(await appendedBy(() => h.app.confirmUpload(capped.id, h.clock.advance(10))))).toEqual(['recording.uploaded', 'recording.deleted']);
  });

  it("the retention sweep applies the fleet's cap over the owner's choice, whoever runs it", async () => {
    const old = makeCapture({ seed: 1, startedAt: h.clock.now() - 10 * DAY_MS });
    const fresh = makeCapture({ seed: 2, startedAt: h.clock.now() - DAY_MS });
    await h.app.storeCapture(alice, old, { uplink: false });
    await h.app.storeCapture(alice, fresh, { uplink: false });
    await h.app.storeCapture(bob, makeCapture({ seed: 3, startedAt: h.clock.now() - 10 * DAY_MS }), { uplink: false });
    expect(types(await appendedBy(() => h.app.sweepRetention(cli)))).toEqual([]);
    h.fleet.privacy = { maxRetentionDays: 7 };
    const swept = await appendedBy(async () => expect(await h.app.sweepRetention(cli)).toEqual(expect.arrayContaining([{ ownerId: alice, retentionDays: 7, deleted: 1 }, { ownerId: bob, retentionDays: 7, deleted: 1 }])));
    expect(swept.map((e) => [e.type, e.ownerId, e.detail?.['deleted']]).sort()).toEqual([['retention.swept', alice, 1], ['retention.swept', bob, 1]].sort());
    expect((await h.app.listRecordings(alice)).map((r) => r.id)).toEqual([fresh.id]);
    // Listing says when retention in effect deletes it.
    expect((await h.app.listRecordings(alice))[0]!.deleteAt).toBe(fresh.startedAt + 7 * DAY_MS);
  });

  it("playing is audited only once the recording was delivered; another owner's id answers like one that never existed", async () => {
    const c = makeCapture({ seed: 1 });
    await h.app.storeCapture(alice, c, { uplink: false });
    const failed = await appendedBy(() =>
      expect(
        h.app.playRecording(alice, c.id, cli, async () => {
          throw new Error('EEXIST');
        }),
      ).rejects.toThrow('EEXIST'),
    );
    expect(types(failed)).toEqual([]);
    let got: Int16Array | undefined;
    const played = await appendedBy(() => h.app.playRecording(alice, c.id, cli, async (r) => void (got = r.pcm)));
    expect(types(played)).toEqual(['recording.played']);
    expect(samePcm(got!, c.pcm)).toBe(true);
    const foreign = await appendedBy(async () => {
      await expect(h.app.playRecording(bob, c.id, cli, async () => undefined)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING', message: `no recording with id ${c.id}` });
      await expect(h.app.playRecording(bob, 'never-existed', cli, async () => undefined)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING', message: 'no recording with id never-existed' });
    });
    // No incident naming Alice's recording under Bob, nothing at all.
    expect(foreign).toEqual([]);
  });

  it("deleting: the owner's own recordings, each audited once; if any id is not theirs nothing is deleted", async () => {
    const a1 = makeCapture({ seed: 1 });
    const a2 = makeCapture({ seed: 2 });
    const b1 = makeCapture({ seed: 3 });
    for (const [o, c] of [[alice, a1], [alice, a2], [bob, b1]] as const) await h.app.storeCapture(o, c, { uplink: false });
    const refused = await appendedBy(() => expect(h.app.deleteRecordings(alice, [a1.id, b1.id], cli)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' }));
    expect(refused).toEqual([]);
    expect((await h.app.listRecordings(alice)).length).toBe(2);
    const e = await appendedBy(() => h.app.deleteRecordings(alice, [a1.id, a2.id], { source: 'owner-page' }));
    expect(e.map((x) => [x.type, x.recordingId, x.detail?.['source']])).toEqual([
      ['recording.deleted', a1.id, 'owner-page'],
      ['recording.deleted', a2.id, 'owner-page'],
    ]);
    expect((await h.app.listRecordings(bob)).map((r) => r.id)).toEqual([b1.id]);
  });

  it('erasure shreds one owner in one rekeyed unit: owner.erased then key.rotated, nothing of them left', async () => {
    await h.app.grantConsent(bob, 'cloud-processing', cli);
    await h.app.storeCapture(bob, makeCapture({ seed: 1, startedAt: h.clock.advance(5) }), { uplink: true });
    await h.app.storeCapture(alice, makeCapture({ seed: 2 }), { uplink: false });
    await h.app.useOwner(bob, cli);
    const e = await appendedBy(() => h.app.eraseOwner(bob, cli));
    expect(types(e)).toEqual(['owner.erased', 'key.rotated']);
    expect(e[0]).toMatchObject({ ownerId: bob, detail: { recordings: 1, consentEvents: 1, reason: 'owner-request', source: 'owner-cli' } });
    expect(e[1]).toMatchObject({ detail: { owners: 1, reason: 'erasure' } });
    expect((await h.app.listOwners()).map((o) => o.id)).toEqual([alice]);
    expect(await h.app.activeOwnerId()).toBeUndefined();
    expect(await h.read((tx) => tx.outbox.count())).toBe(0);
    expect(await h.read((tx) => tx.consent.history(bob))).toEqual([]);
    expect((await h.app.auditLog({ ownerId: bob })).filter((x) => x.personal !== null).every((x) => x.personal === 'redacted')).toBe(true);
    await expect(h.app.eraseOwner(bob, cli)).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
  });

  it('transfer exports and shreds every owner, then adds the new one; key rotation is audited once', async () => {
    await h.app.storeCapture(alice, makeCapture({ seed: 1 }), { uplink: false });
    const dir = mkdtempSync(path.join(tmpdir(), 'earshot-transfer-'));
    try {
      let result: Awaited<ReturnType<typeof h.app.transferDevice>> | undefined;
      const e = await appendedBy(async () => (result = await h.app.transferDevice({ newOwnerName: 'Dana', exportDir: dir, ...cli })));
      expect(types(e)).toEqual(['export.created', 'export.created', 'owner.erased', 'owner.erased', 'owner.transferred', 'key.rotated', 'owner.added', 'owner.activated', 'owner.activated']);
      expect(result!.exports.map((x) => x.recordings).sort()).toEqual([0, 1]);
      expect(readFileSync(path.join(dir, `${alice}.tar`)).length).toBeGreaterThan(0);
      expect((await h.app.listOwners()).map((o) => [o.name, o.active])).toEqual([['Dana', true]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const rotated = await appendedBy(() => h.app.rotateKeys(cli));
    expect(rotated.map((x) => [x.type, x.detail?.['reason'], x.detail?.['owners']])).toEqual([['key.rotated', 'rotation', 1]]);
  });

  it('an export holds only the requester, and is audited once with its hash', async () => {
    const a = makeCapture({ seed: 1 });
    await h.app.storeCapture(alice, a, { uplink: false });
    await h.app.storeCapture(bob, makeCapture({ seed: 2 }), { uplink: false });
    const dir = mkdtempSync(path.join(tmpdir(), 'earshot-export-'));
    try {
      const out = path.join(dir, 'alice');
      let sha = '';
      const e = await appendedBy(async () => (sha = (await h.app.exportOwner({ ownerId: alice, out, ...cli })).sha256));
      expect(e.map((x) => [x.type, x.ownerId, x.detail?.['sha256']])).toEqual([['export.created', alice, sha]]);
      const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { owner: { id: string; name: string }; recordings: { id: string }[] };
      expect(manifest.owner).toMatchObject({ id: alice, name: 'Alice' });
      expect(manifest.recordings.map((r) => r.id)).toEqual([a.id]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
