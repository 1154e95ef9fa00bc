/** The pure rule of whose a wake is (src/privacy/wake-routing.ts), without a store. */
import { describe, expect, it } from 'vitest';
import type { OwnerWakeSettingsRead } from '../../src/core/ports.js';
import { claimerOf, ownerForWake } from '../../src/privacy/index.js';

const A = 'own-aaaaaaaaaaaaaaaa';
const B = 'own-bbbbbbbbbbbbbbbb';
const C = 'own-cccccccccccccccc';
const claims = (ownerId: string, ...words: string[]): OwnerWakeSettingsRead => ({ ownerId, settings: { claims: words, thresholds: {}, verifierGates: {} } });
const broken = (ownerId: string): OwnerWakeSettingsRead => ({ ownerId, unreadable: 'failed authentication' });

describe('ownerForWake', () => {
  it('a claimed word goes to its claimer whoever is active (or nobody); unclaimed to the active owner', () => {
    const owners = [claims(A, 'alexa'), claims(B)];
    expect(ownerForWake('alexa', { owners, activeOwnerId: B })).toEqual({ kind: 'owner', ownerId: A, by: 'claim' });
    expect(ownerForWake('alexa', { owners, activeOwnerId: undefined })).toEqual({ kind: 'owner', ownerId: A, by: 'claim' });
    expect(ownerForWake('hey_jarvis', { owners, activeOwnerId: B })).toEqual({ kind: 'owner', ownerId: B, by: 'active' });
    expect(ownerForWake('hey_jarvis', { owners, activeOwnerId: undefined })).toEqual({ kind: 'none' });
    expect(ownerForWake('hey_jarvis', { owners: [], activeOwnerId: undefined })).toEqual({ kind: 'none' });
  });

  it('an unreadable owner other than the active one withholds every word nobody readable claimed', () => {
    const owners = [claims(A, 'alexa'), broken(B), claims(C)];
    expect(ownerForWake('hey_jarvis', { owners, activeOwnerId: C })).toEqual({ kind: 'withheld', reason: 'claims-unreadable', ownerIds: [B] });
    expect(ownerForWake('hey_jarvis', { owners, activeOwnerId: undefined })).toEqual({ kind: 'withheld', reason: 'claims-unreadable', ownerIds: [B] });
    // A readable claim still stands.
    expect(ownerForWake('alexa', { owners, activeOwnerId: C })).toEqual({ kind: 'owner', ownerId: A, by: 'claim' });
    // The unreadable owner is the active one: unclaimed words are theirs either way.
    expect(ownerForWake('hey_jarvis', { owners, activeOwnerId: B })).toEqual({ kind: 'owner', ownerId: B, by: 'active' });
  });

  it('two readable claims of one word (a tampered or restored database) are withheld, never guessed', () => {
    const owners = [claims(A, 'alexa'), claims(B, 'alexa')];
    expect(ownerForWake('alexa', { owners, activeOwnerId: A })).toEqual({ kind: 'withheld', reason: 'claimed-twice', ownerIds: [A, B] });
    expect(claimerOf('alexa', owners)).toBeUndefined();
    expect(claimerOf('alexa', [claims(A, 'alexa'), broken(B)])).toBe(A);
    expect(claimerOf('hey_jarvis', [claims(A, 'alexa')])).toBeUndefined();
  });
});
