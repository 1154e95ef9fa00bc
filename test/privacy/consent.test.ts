import { describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/errors.js';
import type { ConsentEvent } from '../../src/core/privacy-types.js';
import { defaultConfig } from '../../src/config/index.js';
import type { FleetPrivacy } from '../../src/fleet/index.js';
import { ConsentGate, ConsentLedger, consentActiveAt } from '../../src/privacy/consent/index.js';
import { FakeClock, MemoryAuditSink, MemoryConsentLedgerRepo, MemoryOutboxRepo, MemoryOwnerPrivacyRepo } from './fakes.js';

function setup() {
  const clock = new FakeClock();
  const repo = new MemoryConsentLedgerRepo();
  const owners = new MemoryOwnerPrivacyRepo();
  owners.addOwner('o-alice');
  owners.addOwner('o-bob', {}, { activate: false });
  const audit = new MemoryAuditSink();
  const outbox = new MemoryOutboxRepo();
  const revoked: string[] = [];
  const ledger = new ConsentLedger({
    repo,
    audit,
    owners,
    clock,
    onRevoked: async (ownerId, purpose) => {
      revoked.push(`${ownerId}:${purpose}`);
      await outbox.removeOwner(ownerId);
    },
  });
  const device = defaultConfig().privacy;
  let fleet: FleetPrivacy = {};
  const gate = new ConsentGate({ consent: repo, owners, devicePrivacy: () => device, fleetPrivacy: () => fleet });
  return { clock, repo, owners, audit, outbox, ledger, gate, device, setFleet: (f: FleetPrivacy) => (fleet = f), revoked };
}

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

describe('ConsentLedger', () => {
  it('grant and revoke append to the ledger with time, source and text version, and are audited', async () => {
    const { ledger, repo, audit, clock } = setup();
    const t0 = clock.now();
    await ledger.grant('o-alice', 'cloud-processing', 'local-page', 'v2');
    clock.advance(1000);
    await ledger.revoke('o-alice', 'cloud-processing');
    expect(repo.all()).toEqual([
      { ownerId: 'o-alice', purpose: 'cloud-processing', action: 'grant', at: t0, source: 'local-page', textVersion: 'v2' },
      { ownerId: 'o-alice', purpose: 'cloud-processing', action: 'revoke', at: t0 + 1000, source: 'owner-cli', textVersion: '1' },
    ]);
    expect(audit.ofType('consent.changed').map((e) => [e.ownerId, e.detail?.['action'], e.detail?.['purpose']])).toEqual([
      ['o-alice', 'grant', 'cloud-processing'],
      ['o-alice', 'revoke', 'cloud-processing'],
    ]);
    expect(await ledger.isActive('o-alice', 'cloud-processing', t0 + 500)).toBe(true);
    expect(await ledger.isActive('o-alice', 'cloud-processing', t0 + 1000)).toBe(false);
  });

  it('purposes are separate: cloud-processing does not imply quality-improvement', async () => {
    const { ledger, clock } = setup();
    await ledger.grant('o-alice', 'cloud-processing');
    const status = await ledger.status('o-alice');
    expect(status).toEqual([
      { purpose: 'cloud-processing', active: true, since: clock.now(), source: 'owner-cli', textVersion: '1' },
      { purpose: 'quality-improvement', active: false, since: null, source: null, textVersion: null },
    ]);
    expect(await ledger.isActive('o-bob', 'cloud-processing', clock.now())).toBe(false);
  });

  it('refuses fleet as a source, unknown purposes and unknown owners, recording nothing', async () => {
    const { ledger, repo, audit } = setup();
    expect(await refusedWith(ledger.grant('o-alice', 'cloud-processing', 'fleet'), 'BAD_ARGUMENT')).toContain('fleet');
    await refusedWith(ledger.grant('o-alice', 'cloud-processing', 'FLEET-config'), 'BAD_ARGUMENT');
    expect(await refusedWith(ledger.grant('o-alice', 'advertising'), 'BAD_ARGUMENT')).toContain('cloud-processing, quality-improvement');
    await refusedWith(ledger.grant('o-nobody', 'cloud-processing'), 'UNKNOWN_OWNER');
    await refusedWith(ledger.grant('o-alice', 'cloud-processing', 'owner-cli', ''), 'BAD_ARGUMENT');
    expect(repo.all()).toEqual([]);
    expect(audit.events).toEqual([]);
  });

  it('withdrawal runs the revoke hook before returning (queued recordings leave the outbox)', async () => {
    const { ledger, outbox, revoked, clock } = setup();
    await ledger.grant('o-alice', 'cloud-processing');
    for (let i = 0; i < 5; i++) await outbox.enqueue({ recordingId: `r${i}`, ownerId: 'o-alice', capturedAt: clock.now(), enqueuedAt: clock.now() });
    await outbox.enqueue({ recordingId: 'rb', ownerId: 'o-bob', capturedAt: clock.now(), enqueuedAt: clock.now() });
    await ledger.revoke('o-alice', 'cloud-processing');
    expect(revoked).toEqual(['o-alice:cloud-processing']);
    expect([...outbox.rows.keys()]).toEqual(['rb']);
  });
});

describe('ConsentGate', () => {
  it('no consent → blocked; grant → only recordings captured after the grant; revoke → blocked again', async () => {
    const { ledger, gate, clock } = setup();
    const before = clock.now();
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: before }, clock.advance(10))).toEqual({ allowed: false, reason: 'no-consent' });
    clock.advance(1000);
    await ledger.grant('o-alice', 'cloud-processing');
    const after = clock.advance(1000);
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: before }, clock.now())).toEqual({ allowed: false, reason: 'consent-not-active-at-capture' });
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: after }, clock.now())).toEqual({ allowed: true });
    clock.advance(1000);
    await ledger.revoke('o-alice', 'cloud-processing');
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: after }, clock.now())).toEqual({ allowed: false, reason: 'no-consent' });
    // Re-granting does not cover what was captured while consent was withdrawn.
    const during = clock.advance(10);
    clock.advance(1000);
    await ledger.grant('o-alice', 'cloud-processing');
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: during }, clock.advance(1))).toEqual({ allowed: false, reason: 'consent-not-active-at-capture' });
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: after }, clock.now())).toEqual({ allowed: true });
  });

  it("quality-improvement consent alone does not allow upload; one owner's consent does not cover another", async () => {
    const { ledger, gate, clock } = setup();
    await ledger.grant('o-alice', 'quality-improvement');
    await ledger.grant('o-bob', 'cloud-processing');
    const t = clock.advance(100);
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: t }, t)).toEqual({ allowed: false, reason: 'no-consent' });
    expect(await gate.check({ ownerId: 'o-bob', capturedAt: t }, t)).toEqual({ allowed: true });
  });

  it('local-only (owner or forced by fleet) and disabled uploads block whatever the consent', async () => {
    const { ledger, gate, clock, owners, setFleet, device } = setup();
    await ledger.grant('o-alice', 'cloud-processing');
    const t = clock.advance(100);
    await owners.setLocalOnly('o-alice', true);
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: t }, t)).toEqual({ allowed: false, reason: 'local-only' });
    await owners.setLocalOnly('o-alice', false);
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: t }, t)).toEqual({ allowed: true });
    setFleet({ forceLocalOnly: true });
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: t }, t)).toEqual({ allowed: false, reason: 'local-only' });
    setFleet({ uploadsEnabled: false });
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: t }, t)).toEqual({ allowed: false, reason: 'uploads-disabled' });
    setFleet({});
    device.uploadsEnabled = false;
    expect(await gate.check({ ownerId: 'o-alice', capturedAt: t }, t)).toEqual({ allowed: false, reason: 'uploads-disabled' });
  });

  it('an unknown (erased) owner is never uploaded', async () => {
    const { gate, clock } = setup();
    expect(await gate.check({ ownerId: 'o-gone', capturedAt: clock.now() }, clock.now())).toEqual({ allowed: false, reason: 'unknown-owner' });
  });
});
