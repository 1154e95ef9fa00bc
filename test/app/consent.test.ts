/** Consent through the application layer, on both stores: the ledger, the gate at capture and at send time, withdrawal. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/errors.js';
import type { ConsentEvent } from '../../src/core/privacy-types.js';
import { consentActiveAt } from '../../src/privacy/index.js';
import { makeCapture } from '../store/helpers.js';
import { appHarness, onEveryStore, type AppHarness } from './harness.js';

async function refusedWith(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isEarshotError(e) && e.code === code) return e.message;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

describe('consent history', () => {
  const ev = (action: 'grant' | 'revoke', at: number): ConsentEvent => ({ ownerId: 'o', purpose: 'cloud-processing', action, at, source: 'owner-cli', textVersion: '1' });
  it('active at t iff the latest event at or before t is a grant; same-millisecond revoke after grant wins', () => {
    const h = [ev('grant', 100), ev('revoke', 200), ev('grant', 300)];
    expect([50, 100, 150, 200, 250, 300, 400].map((t) => consentActiveAt(h, t))).toEqual([false, true, true, false, false, true, true]);
    expect(consentActiveAt([ev('grant', 100), ev('revoke', 100)], 100)).toBe(false);
    expect(consentActiveAt([], 100)).toBe(false);
  });
});

onEveryStore('consent', (kind) => {
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

  const consentRows = (ownerId: string) => h.read((tx) => tx.consent.history(ownerId));
  const audited = async (type: string) => (await h.app.auditLog()).filter((e) => e.type === type);

  it('grant and withdraw append to the ledger with time, source and text version, and are audited once each', async () => {
    const t0 = h.clock.now();
    await h.app.grantConsent(alice, 'cloud-processing', { source: 'local-page', textVersion: 'v2' });
    h.clock.advance(1000);
    await h.app.withdrawConsent(alice, 'cloud-processing', { source: 'owner-cli' });
    expect(await consentRows(alice)).toEqual([
      { ownerId: alice, purpose: 'cloud-processing', action: 'grant', at: t0, source: 'local-page', textVersion: 'v2' },
      { ownerId: alice, purpose: 'cloud-processing', action: 'revoke', at: t0 + 1000, source: 'owner-cli', textVersion: '1' },
    ]);
    expect((await audited('consent.changed')).map((e) => [e.ownerId, e.detail?.['action'], e.detail?.['purpose'], e.detail?.['source']])).toEqual([
      [alice, 'grant', 'cloud-processing', 'local-page'],
      [alice, 'revoke', 'cloud-processing', 'owner-cli'],
    ]);
    const history = await consentRows(alice);
    expect(consentActiveAt(history, t0 + 500)).toBe(true);
    expect(consentActiveAt(history, t0 + 1000)).toBe(false);
    expect((await h.app.verifyAudit()).ok).toBe(true);
  });

  it('purposes are separate, and one owner\'s consent is theirs alone', async () => {
    await h.app.grantConsent(alice, 'cloud-processing', cli);
    expect((await h.app.consentOf(alice)).purposes).toEqual([
      { purpose: 'cloud-processing', active: true, since: h.clock.now(), source: 'owner-cli', textVersion: '1' },
      { purpose: 'quality-improvement', active: false, since: null, source: null, textVersion: null },
    ]);
    await h.app.grantConsent(bob, 'quality-improvement', { source: 'local-page', textVersion: '3' });
    expect((await h.app.consentOf(alice)).purposes.map((p) => p.active)).toEqual([true, false]);
    expect((await h.app.consentOf(bob)).purposes.map((p) => p.active)).toEqual([false, true]);
  });

  it('refuses fleet as a source, unknown purposes, unknown owners and an empty text version, recording nothing', async () => {
    const before = (await h.app.auditLog()).length;
    expect(await refusedWith(h.app.grantConsent(alice, 'cloud-processing', { source: 'fleet' }), 'BAD_ARGUMENT')).toContain('fleet');
    await refusedWith(h.app.grantConsent(alice, 'cloud-processing', { source: 'FLEET-config' }), 'BAD_ARGUMENT');
    expect(await refusedWith(h.app.grantConsent(alice, 'advertising', cli), 'BAD_ARGUMENT')).toContain('cloud-processing, quality-improvement');
    await refusedWith(h.app.grantConsent('own-0000000000000000', 'cloud-processing', cli), 'UNKNOWN_OWNER');
    await refusedWith(h.app.grantConsent(alice, 'cloud-processing', { source: 'owner-cli', textVersion: '' }), 'BAD_ARGUMENT');
    expect(await consentRows(alice)).toEqual([]);
    expect((await h.app.auditLog()).length).toBe(before);
  });

  it("withdrawing cloud-processing empties that owner's queue at once, not other owners', and tells the listener", async () => {
    await h.app.grantConsent(alice, 'cloud-processing', cli);
    await h.app.grantConsent(bob, 'cloud-processing', cli);
    h.clock.advance(10);
    for (let i = 0; i < 20; i++) await h.app.storeCapture(alice, makeCapture({ seed: i, startedAt: h.clock.now() }), { uplink: true });
    const b = makeCapture({ seed: 99, startedAt: h.clock.now() });
    expect((await h.app.storeCapture(bob, b, { uplink: true })).queued).toBe(true);
    const told: string[] = [];
    h.app.deps.onConsentWithdrawn = (o, p) => void told.push(`${o}:${p}`);
    const r = await h.app.withdrawConsent(alice, 'cloud-processing', cli);
    expect(r.removedFromOutbox).toBe(20);
    expect(told).toEqual([`${alice}:cloud-processing`]);
    expect((await h.read((tx) => tx.outbox.due(Infinity, 100))).map((e) => e.recordingId)).toEqual([b.id]);
    // Withdrawing quality-improvement does not touch uploads.
    expect((await h.app.withdrawConsent(bob, 'quality-improvement', cli)).removedFromOutbox).toBe(0);
    expect(await h.read((tx) => tx.outbox.count())).toBe(1);
  });

  describe('the upload gate', () => {
    const check = (ownerId: string, capturedAt: number, now = h.clock.now()) => h.app.checkUpload({ ownerId, capturedAt }, now);

    it('no consent → blocked; grant → only recordings captured after the grant; withdraw → blocked again', async () => {
      const before = h.clock.now();
      expect(await check(alice, before, h.clock.advance(10))).toEqual({ allowed: false, reason: 'no-consent' });
      h.clock.advance(1000);
      await h.app.grantConsent(alice, 'cloud-processing', cli);
      const after = h.clock.advance(1000);
      expect(await check(alice, before)).toEqual({ allowed: false, reason: 'consent-not-active-at-capture' });
      expect(await check(alice, after)).toEqual({ allowed: true });
      h.clock.advance(1000);
      await h.app.withdrawConsent(alice, 'cloud-processing', cli);
      expect(await check(alice, after)).toEqual({ allowed: false, reason: 'no-consent' });
      // Re-granting does not cover what was captured while consent was withdrawn.
      const during = h.clock.advance(10);
      h.clock.advance(1000);
      await h.app.grantConsent(alice, 'cloud-processing', cli);
      expect(await check(alice, during, h.clock.advance(1))).toEqual({ allowed: false, reason: 'consent-not-active-at-capture' });
      expect(await check(alice, after)).toEqual({ allowed: true });
    });

    it("quality-improvement consent alone does not allow upload; one owner's consent does not cover another", async () => {
      await h.app.grantConsent(alice, 'quality-improvement', cli);
      await h.app.grantConsent(bob, 'cloud-processing', cli);
      const t = h.clock.advance(100);
      expect(await check(alice, t, t)).toEqual({ allowed: false, reason: 'no-consent' });
      expect(await check(bob, t, t)).toEqual({ allowed: true });
    });

    it('local-only (owner or forced by fleet) and disabled uploads block whatever the consent', async () => {
      await h.app.grantConsent(alice, 'cloud-processing', cli);
      const t = h.clock.advance(100);
      await h.app.setLocalOnly(alice, true, cli);
      expect(await check(alice, t, t)).toEqual({ allowed: false, reason: 'local-only' });
      await h.app.setLocalOnly(alice, false, cli);
      expect(await check(alice, t, t)).toEqual({ allowed: true });
      h.fleet.privacy = { forceLocalOnly: true };
      expect(await check(alice, t, t)).toEqual({ allowed: false, reason: 'local-only' });
      h.fleet.privacy = { uploadsEnabled: false };
      expect(await check(alice, t, t)).toEqual({ allowed: false, reason: 'uploads-disabled' });
      h.fleet.privacy = {};
      h.device.uploadsEnabled = false;
      expect(await check(alice, t, t)).toEqual({ allowed: false, reason: 'uploads-disabled' });
    });

    it('an unknown (erased) owner is never uploaded', async () => {
      expect(await check('own-0000000000000000', h.clock.now())).toEqual({ allowed: false, reason: 'unknown-owner' });
      await h.app.grantConsent(bob, 'cloud-processing', cli);
      const t = h.clock.advance(10);
      await h.app.eraseOwner(bob, cli);
      expect(await check(bob, t)).toEqual({ allowed: false, reason: 'unknown-owner' });
    });

    it('a capture is queued only when the gate allows it at that moment', async () => {
      expect((await h.app.storeCapture(alice, makeCapture({ seed: 1, startedAt: h.clock.now() }), { uplink: true })).queued).toBe(false);
      await h.app.grantConsent(alice, 'cloud-processing', cli);
      expect((await h.app.storeCapture(alice, makeCapture({ seed: 2, startedAt: h.clock.advance(5) }), { uplink: true })).queued).toBe(true);
      // No uplink configured: nothing is queued, whatever the consent.
      expect((await h.app.storeCapture(alice, makeCapture({ seed: 3, startedAt: h.clock.advance(5) }), { uplink: false })).queued).toBe(false);
      await h.app.setLocalOnly(alice, true, cli);
      expect((await h.app.storeCapture(alice, makeCapture({ seed: 4, startedAt: h.clock.advance(5) }), { uplink: true })).queued).toBe(false);
      expect(await h.read((tx) => tx.outbox.count())).toBe(1);
    });
  });
});
