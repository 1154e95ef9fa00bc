/**
 * The owner page's operations on both stores: pairing, sessions, notices and the false-wake flag, each one unit
 * of work that audits once with its source; another owner's ids answer like ids that never existed; erasure and
 * transfer end the owner's sessions in the erasing unit of work.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/ports.js';
import { makeCapture } from '../store/helpers.js';
import { appHarness, onEveryStore, type AppHarness } from './harness.js';

onEveryStore('owner page operations', (kind) => {
  let h: AppHarness;
  let alice: string;
  let bob: string;
  const page = { source: 'owner-page' };
  const cli = { source: 'owner-cli' };
  beforeEach(async () => {
    h = await appHarness(kind);
    alice = await h.app.addOwner({ name: 'Alice', ...cli });
    bob = await h.app.addOwner({ name: 'Bob', ...cli });
  });
  afterEach(() => h.close());

  async function appendedBy(fn: () => Promise<unknown>): Promise<AuditEntry[]> {
    const before = (await h.app.auditHead()).seq;
    await fn();
    return (await h.app.auditLog()).filter((e) => e.seq > before);
  }
  const types = (entries: AuditEntry[]) => entries.map((e) => e.type);
  const pairAs = async (ownerId: string, n: number) => {
    const codeHash = `code-${n}`;
    await h.app.createPairing({ ownerId, codeHash, expiresAt: h.clock.now() + 600_000, ...cli });
    return h.app.redeemPairing(codeHash, { idHash: `id-${n}`, ref: `ses-00000000000${n}`, browser: 'Chrome on Android' }, page);
  };

  it('a pairing code starts one session for its owner, once; each step audited once with its source', async () => {
    const created = await appendedBy(() => h.app.createPairing({ ownerId: alice, codeHash: 'c1', expiresAt: h.clock.now() + 600_000, ...cli }));
    expect(created.map((e) => [e.type, e.ownerId, e.detail?.['source']])).toEqual([['web.pairing-created', alice, 'owner-cli']]);
    await expect(h.app.createPairing({ ownerId: 'own-0000000000000000', codeHash: 'c2', expiresAt: 1, ...cli })).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    const started = await appendedBy(async () => {
      expect(await h.app.redeemPairing('c1', { idHash: 'i1', ref: 'ses-000000000001', browser: 'Firefox on Linux' }, page)).toEqual({ status: 'ok', ownerId: alice });
    });
    expect(started.map((e) => [e.type, e.ownerId, e.detail?.['session'], e.detail?.['source']])).toEqual([['web.session-started', alice, 'ses-000000000001', 'owner-page']]);
    const again = await appendedBy(async () => {
      expect(await h.app.redeemPairing('c1', { idHash: 'i2', ref: 'ses-000000000002', browser: 'x' }, page)).toEqual({ status: 'used' });
      expect(await h.app.redeemPairing('nope', { idHash: 'i3', ref: 'ses-000000000003', browser: 'x' }, page)).toEqual({ status: 'unknown' });
    });
    expect(again).toEqual([]);
    await h.app.createPairing({ ownerId: bob, codeHash: 'c3', expiresAt: h.clock.now() + 1000, ...cli });
    h.clock.advance(1000);
    expect(await h.app.redeemPairing('c3', { idHash: 'i4', ref: 'ses-000000000004', browser: 'x' }, page)).toEqual({ status: 'expired' });
    expect(await h.app.listSessions()).toEqual([{ ref: 'ses-000000000001', ownerId: alice, createdAt: expect.any(Number), lastSeenAt: expect.any(Number), browser: 'Firefox on Linux' }]);
  });

  it('resume does not audit and moves last-seen forward; ending is audited once per session, and only the named ones', async () => {
    await pairAs(alice, 1);
    await pairAs(alice, 2);
    await pairAs(bob, 3);
    const t0 = h.clock.now();
    h.clock.advance(5000);
    const resumed = await appendedBy(async () => {
      expect(await h.app.resumeSession('id-1', { touchAt: h.clock.now() })).toMatchObject({ ownerId: alice, ref: 'ses-000000000001', lastSeenAt: t0 });
      expect(await h.app.resumeSession('id-unknown')).toBeUndefined();
    });
    expect(resumed).toEqual([]);
    expect((await h.app.resumeSession('id-1'))?.lastSeenAt).toBe(t0 + 5000);
    // Another owner's session named with Alice's id: nothing ends.
    expect(await appendedBy(async () => expect(await h.app.endSessions({ ref: 'ses-000000000003', ownerId: alice }, 'revoked', page)).toBe(0))).toEqual([]);
    const ended = await appendedBy(async () => expect(await h.app.endSessions({ idleBefore: t0 + 1 }, 'idle-expired', page)).toBe(2));
    expect(ended.map((e) => [e.type, e.ownerId, e.detail?.['session'], e.detail?.['reason']])).toEqual([
      ['web.session-ended', alice, 'ses-000000000002', 'idle-expired'],
      ['web.session-ended', bob, 'ses-000000000003', 'idle-expired'],
    ]);
    expect((await h.app.listSessions()).map((s) => s.ref)).toEqual(['ses-000000000001']);
  });

  it("erasing Alice ends her sessions and voids her codes in the erasing unit of work; Bob's stay; a transfer ends every session", async () => {
    await pairAs(alice, 1);
    await pairAs(alice, 2);
    await pairAs(bob, 3);
    await h.app.createPairing({ ownerId: alice, codeHash: 'pending', expiresAt: h.clock.now() + 600_000, ...cli });
    const erased = await appendedBy(() => h.app.eraseOwner(alice, page));
    expect(types(erased)).toEqual(['owner.erased', 'key.rotated']);
    expect(erased[0]!.detail).toMatchObject({ sessions: 2, source: 'owner-page' });
    expect(await h.app.resumeSession('id-1')).toBeUndefined();
    expect(await h.app.listSessions(alice)).toEqual([]);
    expect(await h.read((tx) => tx.webSessions.pairing('pending'))).toBeUndefined();
    expect((await h.app.listSessions()).map((s) => s.ownerId)).toEqual([bob]);
    await h.app.transferDevice({ newOwnerName: 'Carol', ...cli });
    expect(await h.app.listSessions()).toEqual([]);
    expect(await h.app.resumeSession('id-3')).toBeUndefined();
  });

  it("flagRecording: sealed mark shown in the list, audited once (direction in the sealed part); another owner's id is UNKNOWN_RECORDING and changes nothing", async () => {
    const mine = (await h.app.storeCapture(alice, makeCapture({ seed: 1, startedAt: h.clock.now() }), { uplink: false })).recording.id;
    const bobs = (await h.app.storeCapture(bob, makeCapture({ seed: 2, startedAt: h.clock.now() }), { uplink: false })).recording.id;
    const flagged = await appendedBy(() => h.app.flagRecording(alice, mine, true, page));
    expect(flagged.map((e) => [e.type, e.ownerId, e.recordingId, e.detail, e.personal])).toEqual([['recording.flagged', alice, mine, { source: 'owner-page' }, { falseWake: true }]]);
    expect((await h.app.listRecordings(alice)).map((r) => [r.id, r.falseWake])).toEqual([[mine, true]]);
    for (const id of [bobs, 'no-such-recording']) {
      const refused = await appendedBy(() => expect(h.app.flagRecording(alice, id, true, page)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING', message: `no recording with id ${id}` }));
      expect(refused).toEqual([]); // no audit entry, no incident
    }
    expect((await h.app.listRecordings(bob)).map((r) => r.falseWake)).toEqual([false]);
    // The access-request bundle carries the mark (docs/export-format.md).
    const second = (await h.app.storeCapture(alice, makeCapture({ seed: 3, startedAt: h.clock.now() + 1 }), { uplink: false })).recording.id;
    const dir = mkdtempSync(path.join(tmpdir(), 'earshot-flag-export-'));
    try {
      await h.app.exportOwner({ ownerId: alice, out: path.join(dir, 'bundle'), ...page });
      const manifest = JSON.parse(readFileSync(path.join(dir, 'bundle', 'manifest.json'), 'utf8')) as { recordings: { id: string; falseWake: boolean }[] };
      expect(manifest.recordings.map((r) => [r.id, r.falseWake])).toEqual([[mine, true], [second, false]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await h.app.flagRecording(alice, mine, false, page);
    expect((await h.app.listRecordings(alice)).map((r) => r.falseWake)).toEqual([false, false]);
  });

  it("notices: the owner's incidents and device-wide ones, never another owner's; acknowledged once, audited once", async () => {
    await h.app.recordIncident({ kind: 'export-aborted' }, alice);
    await h.app.recordIncident({ kind: 'export-aborted' }, bob);
    await h.app.recordIncident({ kind: 'pairing-lockout', failures: 10, lockedForMs: 900_000 });
    const list = await h.app.notices(alice);
    expect(list.map((n) => [n.detail?.['kind'], n.own])).toEqual([['pairing-lockout', false], ['export-aborted', true]]);
    const bobsOwn = (await h.app.notices(bob)).find((n) => n.own)!.seq;
    expect(await appendedBy(async () => expect(await h.app.acknowledgeNotice(alice, bobsOwn, page)).toBe(false))).toEqual([]);
    const acked = await appendedBy(async () => expect(await h.app.acknowledgeNotice(alice, list[1]!.seq, page)).toBe(true));
    expect(acked.map((e) => [e.type, e.ownerId, e.detail])).toEqual([['notice.acknowledged', alice, { notice: list[1]!.seq, source: 'owner-page' }]]);
    expect(await h.app.acknowledgeNotice(alice, list[1]!.seq, page)).toBe(false);
    expect((await h.app.notices(alice)).map((n) => n.ackedAt !== null)).toEqual([false, true]);
    expect((await h.app.notices(bob)).every((n) => n.ackedAt === null)).toBe(true);
  });
});
