/**
 * Wake words per owner (issue 13 §4) and the owner's own thresholds (§5), on both stores: a claim is sealed in
 * the owner's profile, two owners cannot claim one word (checked on what every owner's key opened), the route of
 * a wake follows the claim whoever is active, a profile that does not open withholds rather than misroutes, and
 * erasure and export include the claims.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/ports.js';
import { tempDir } from '../store/helpers.js';
import { appHarness, onEveryStore, type AppHarness } from './harness.js';

onEveryStore('wake words per owner', (kind) => {
  let h: AppHarness;
  let alice: string;
  let bob: string;
  const cli = { source: 'owner-cli' };
  beforeEach(async () => {
    h = await appHarness(kind);
    alice = await h.app.addOwner({ name: 'Alice', ...cli });
    bob = await h.app.addOwner({ name: 'Bob', ...cli });
    await h.app.useOwner(bob, cli);
  });
  afterEach(() => h.close());

  async function appendedBy(fn: () => Promise<unknown>): Promise<AuditEntry[]> {
    const before = (await h.app.auditHead()).seq;
    await fn();
    return (await h.app.auditLog()).filter((e) => e.seq > before);
  }

  it('a claim is the owner\'s: sealed in their profile, audited once with the word in the sealed part; claiming again changes nothing', async () => {
    const e = await appendedBy(() => h.app.claimWakeword(alice, 'alexa', cli));
    expect(e.map((x) => [x.type, x.ownerId, x.detail, x.personal])).toEqual([['wakeword.claimed', alice, { source: 'owner-cli' }, { wakeword: 'alexa' }]]);
    expect((await h.app.wakeSettings(alice)).claims).toEqual(['alexa']);
    expect(await appendedBy(() => h.app.claimWakeword(alice, 'alexa', cli))).toEqual([]);
    expect(await h.app.claimWakeword(alice, 'hey_mycroft', cli)).toMatchObject({ changed: true, claims: ['alexa', 'hey_mycroft'] });
    expect(await h.app.releaseWakeword(alice, 'hey_mycroft', cli)).toMatchObject({ changed: true, claims: ['alexa'] });
    expect(await h.app.releaseWakeword(alice, 'hey_mycroft', cli)).toMatchObject({ changed: false });
    expect((await h.app.wakeSettings(bob)).claims).toEqual([]);
  });

  it('two owners cannot claim the same word; once released, the other may', async () => {
    await h.app.claimWakeword(alice, 'alexa', cli);
    await expect(h.app.claimWakeword(bob, 'alexa', cli)).rejects.toMatchObject({ code: 'WAKEWORD_CLAIMED' });
    expect((await h.app.wakeSettings(bob)).claims).toEqual([]);
    await h.app.releaseWakeword(alice, 'alexa', cli);
    await h.app.claimWakeword(bob, 'alexa', cli);
    expect((await h.app.wakeSettings(bob)).claims).toEqual(['alexa']);
  });

  it('bad names and unknown owners are refused', async () => {
    await expect(h.app.claimWakeword(alice, 'Alexa!', cli)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(h.app.claimWakeword(alice, '', cli)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(h.app.claimWakeword('own-0000000000000000', 'alexa', cli)).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    await expect(h.app.setWakeThreshold(alice, 'alexa', { threshold: 1.5 }, cli)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(h.app.setWakeThreshold(alice, 'alexa', { threshold: 0 }, cli)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('a claimed word routes to its claimer whoever is active; an unclaimed word to the active owner; none when nobody is', async () => {
    await h.app.claimWakeword(alice, 'alexa', cli);
    expect(await h.app.routeWake('alexa')).toEqual({ kind: 'owner', ownerId: alice, by: 'claim' });
    expect(await h.app.routeWake('hey_jarvis')).toEqual({ kind: 'owner', ownerId: bob, by: 'active' });
    await h.app.useOwner(alice, cli);
    expect(await h.app.routeWake('hey_jarvis')).toEqual({ kind: 'owner', ownerId: alice, by: 'active' });
    await h.app.eraseOwner(alice, cli, { vacuum: 'none' });
    // Erasure destroys the claim with the profile: nobody is active now and nobody claims alexa.
    expect(await h.app.routeWake('alexa')).toEqual({ kind: 'none' });
    await h.app.useOwner(bob, cli);
    expect(await h.app.routeWake('alexa')).toEqual({ kind: 'owner', ownerId: bob, by: 'active' });
    await h.app.claimWakeword(bob, 'alexa', cli);
    expect((await h.app.wakeSettings(bob)).claims).toEqual(['alexa']);
  });

  it("another owner's profile that does not open: their words are withheld (an incident), not handed to the active owner; claims cannot be checked", async () => {
    await h.app.claimWakeword(alice, 'alexa', cli);
    await h.tamperProfile(alice);
    const e = await appendedBy(async () => expect(await h.app.routeWake('alexa')).toEqual({ kind: 'withheld', reason: 'claims-unreadable', ownerIds: [alice] }));
    expect(e.map((x) => [x.type, x.detail])).toEqual([['incident', { kind: 'wake-withheld', reason: 'claims-unreadable', owners: 1 }]]);
    // Every word, since nobody can tell which ones Alice claimed.
    expect((await h.app.routeWake('hey_jarvis')).kind).toBe('withheld');
    // Bob cannot claim anything while Alice's claims cannot be read; the refusal is an incident filed under Alice.
    const refused = await appendedBy(() => expect(h.app.claimWakeword(bob, 'alexa', cli)).rejects.toMatchObject({ code: 'INTEGRITY' }));
    expect(refused.map((x) => [x.type, x.ownerId, x.detail?.['what']])).toEqual([['incident', alice, 'owner-profile']]);
    expect((await h.app.wakeSettings(bob)).claims).toEqual([]);
  });

  it("the active owner's own profile not opening changes nothing for the other owner's claim or for unclaimed words", async () => {
    await h.app.claimWakeword(alice, 'alexa', cli);
    await h.tamperProfile(bob);
    expect(await h.app.routeWake('alexa')).toEqual({ kind: 'owner', ownerId: alice, by: 'claim' });
    // Unclaimed by Alice: it is Bob's whether or not Bob claimed it.
    expect(await h.app.routeWake('hey_jarvis')).toEqual({ kind: 'owner', ownerId: bob, by: 'active' });
    await expect(h.app.wakeSettings(bob)).rejects.toMatchObject({ code: 'INTEGRITY' });
  });

  it('own thresholds and verifier gates: set, cleared, audited with the values sealed, the gate never above the threshold', async () => {
    const e = await appendedBy(() => h.app.setWakeThreshold(alice, 'alexa', { threshold: 0.62, verifierGate: 0.15 }, { source: 'owner-cli', via: 'tune' }));
    expect(e.map((x) => [x.type, x.detail, x.personal])).toEqual([['wake.threshold.set', { source: 'owner-cli', via: 'tune' }, { wakeword: 'alexa', threshold: 0.62, verifierGate: 0.15 }]]);
    expect(await h.app.wakeSettings(alice)).toEqual({ claims: [], thresholds: { alexa: 0.62 }, verifierGates: { alexa: 0.15 } });
    await expect(h.app.setWakeThreshold(alice, 'alexa', { verifierGate: 0.7 }, cli)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await h.app.setWakeThreshold(alice, 'alexa', { threshold: null }, cli);
    expect(await h.app.wakeSettings(alice)).toEqual({ claims: [], thresholds: {}, verifierGates: { alexa: 0.15 } });
    expect((await h.app.wakeSettings(bob)).thresholds).toEqual({});
  });

  it('the export lists the claims and thresholds; the name is still there after claims re-seal the profile', async () => {
    await h.app.claimWakeword(alice, 'alexa', cli);
    await h.app.setWakeThreshold(alice, 'alexa', { threshold: 0.7 }, cli);
    const t = tempDir('earshot-claims-export-');
    try {
      const out = path.join(t.dir, 'bundle');
      await h.app.exportOwner({ ownerId: alice, out, ...cli });
      const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { owner: { name: string; wake: unknown } };
      expect(manifest.owner.name).toBe('Alice');
      expect(manifest.owner.wake).toEqual({ claims: ['alexa'], thresholds: { alexa: 0.7 }, verifierGates: {} });
    } finally {
      t.cleanup();
    }
  });

  it('a transfer of the device destroys every claim: the new owner may claim any word', async () => {
    await h.app.claimWakeword(alice, 'alexa', cli);
    await h.app.claimWakeword(bob, 'hey_jarvis', cli);
    await h.app.transferDevice({ newOwnerName: 'Carol', ...cli });
    const view = await h.app.wakeClaimsView();
    expect(view.owners).toHaveLength(1);
    const carol = view.owners[0]!.ownerId;
    expect(view.owners[0]).toEqual({ ownerId: carol, settings: { claims: [], thresholds: {}, verifierGates: {} } });
    await h.app.claimWakeword(carol, 'alexa', cli);
    await h.app.claimWakeword(carol, 'hey_jarvis', cli);
    expect(await h.app.routeWake('alexa')).toEqual({ kind: 'owner', ownerId: carol, by: 'claim' });
  });
});
