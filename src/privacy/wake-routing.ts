/**
 * Whose a wake is: the one pure rule every caller applies (the daemon at wake time, the CLI showing claims,
 * `earshot tune` picking whose threshold a word runs with).
 *
 * A recording woken by a claimed word belongs to the owner who claimed it, whoever is active; an unclaimed
 * word goes to the active owner. The claims are what each owner's key opened. When an owner's claims do not
 * open (a tampered or swapped profile) nobody can tell whether the word is theirs, so it is not routed to
 * anyone else: the wake is withheld (no capture) unless a readable claim or the unreadable owner being the
 * active one makes the answer the same either way. Two readable claims of one word (which the application
 * layer refuses; only a tampered or restored database can hold them) are withheld too: never a guess.
 */
import type { OwnerWakeSettings, OwnerWakeSettingsRead } from '../core/index.js';

/** Every owner's claims as their keys opened them, and who is active now. */
export interface WakeClaimsView {
  owners: readonly OwnerWakeSettingsRead[];
  activeOwnerId: string | undefined;
}

export type WakeRoute =
  | { kind: 'owner'; ownerId: string; by: 'claim' | 'active' }
  /** Nobody is active and nobody claimed the word: nothing is captured. */
  | { kind: 'none' }
  /** It cannot be told whose the wake is: nothing is captured, and it is an incident. */
  | { kind: 'withheld'; reason: 'claims-unreadable' | 'claimed-twice'; ownerIds: string[] };

export function ownerForWake(word: string, view: WakeClaimsView): WakeRoute {
  const claimers: string[] = [];
  const unreadable: string[] = [];
  for (const o of view.owners) {
    if ('unreadable' in o) unreadable.push(o.ownerId);
    else if (o.settings.claims.includes(word)) claimers.push(o.ownerId);
  }
  if (claimers.length > 1) return { kind: 'withheld', reason: 'claimed-twice', ownerIds: claimers };
  // A readable claim stands: the unreadable owner cannot have claimed the same word through the application layer.
  if (claimers.length === 1) return { kind: 'owner', ownerId: claimers[0]!, by: 'claim' };
  const active = view.activeOwnerId;
  // Unclaimed as far as can be read: the word is either the unreadable owner's or the active owner's.
  const others = unreadable.filter((id) => id !== active);
  if (others.length > 0) return { kind: 'withheld', reason: 'claims-unreadable', ownerIds: others };
  if (active === undefined) return { kind: 'none' };
  return { kind: 'owner', ownerId: active, by: 'active' };
}

/** The owner who claimed `word` (readable claims only), or undefined. */
export function claimerOf(word: string, owners: readonly OwnerWakeSettingsRead[]): string | undefined {
  const found = owners.filter((o) => !('unreadable' in o) && o.settings.claims.includes(word));
  return found.length === 1 ? found[0]!.ownerId : undefined;
}

/**
 * Whose settings a word runs with in the detector: the claimer's, else the active owner's; undefined when the
 * wake would be withheld or nobody is active (the device config applies).
 */
export function settingsOwnerFor(word: string, view: WakeClaimsView): { ownerId: string; settings: OwnerWakeSettings } | undefined {
  const route = ownerForWake(word, view);
  if (route.kind !== 'owner') return undefined;
  const o = view.owners.find((x) => x.ownerId === route.ownerId);
  return o && 'settings' in o ? { ownerId: o.ownerId, settings: o.settings } : undefined;
}
