/**
 * Wake words per owner and their own thresholds (issue 13 §4, §5): claim and release a word, set a word's
 * threshold and verifier gate, and whose a wake is. The claims live sealed in each owner's profile under their
 * own key; the rule that two owners cannot claim one word is checked here, inside the unit of work, on what every
 * owner's key opened — never on a plaintext column. A claim check that cannot open another owner's claims
 * refuses (it cannot tell) and records an incident.
 */
import { EarshotError, isEarshotError, MAX_CLAIMED_WAKEWORDS, WAKEWORD_NAME_PATTERN } from '../core/index.js';
import type { OwnerWakeSettings, OwnerWakeSettingsRead, Tx } from '../core/index.js';
import { ownerForWake, type WakeClaimsView, type WakeRoute } from '../privacy/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { recordIncident, withIntegrityIncident } from './incidents.js';
import { requireOwner, unknownOwner } from './owners.js';

export interface ClaimChange {
  ownerId: string;
  wakeword: string;
  /** False when the owner already had (or did not have) the claim: nothing was written or audited. */
  changed: boolean;
  claims: string[];
}

export function checkWakewordName(word: string): string {
  if (!WAKEWORD_NAME_PATTERN.test(word)) {
    const shown = word.length <= 64 ? JSON.stringify(word) : `(${word.length} characters)`;
    throw new EarshotError('BAD_ARGUMENT', `wake word ${shown} is not a model name (lower case letters, digits and _; earshot models list shows them)`, {
      details: { field: 'wakeword' },
    });
  }
  return word;
}

function checkScore(v: number, field: string): number {
  if (!Number.isFinite(v) || !(v > 0 && v <= 1)) throw new EarshotError('BAD_ARGUMENT', `${field} must be a number above 0 and at most 1 (got ${v})`, { details: { field } });
  return v;
}

/** The owner's wake settings (an INTEGRITY failure is an incident). */
export function wakeSettingsOf(deps: AppDeps, ownerId: string): Promise<OwnerWakeSettings> {
  return withIntegrityIncident(deps, 'owner-profile', { ownerId }, () => deps.uow.read((tx) => tx.owners.wakeSettings(ownerId)));
}

/** Another owner whose claims do not open: the uniqueness of a claim cannot be checked. */
class UnreadableClaims extends EarshotError {
  constructor(readonly ownerIds: string[]) {
    super('INTEGRITY', `the wake-word claims of ${ownerIds.length} other owner(s) do not open (a modified profile): a claim cannot be checked against them; earshot audit verify and the notices say more`, {
      details: { what: 'owner-profile', owners: ownerIds.length },
    });
  }
}

export async function claimWakeword(deps: AppDeps, ownerId: string, word: string, origin: Origin): Promise<ClaimChange> {
  checkWakewordName(word);
  try {
    return await deps.uow.run(async (tx) => {
      await requireOwner(tx, ownerId);
      const all = await tx.owners.wakeSettingsAll();
      const mine = ownSettings(all, ownerId);
      if (mine.claims.includes(word)) return { ownerId, wakeword: word, changed: false, claims: mine.claims };
      const unreadable = all.filter((o) => 'unreadable' in o && o.ownerId !== ownerId).map((o) => o.ownerId);
      if (unreadable.length > 0) throw new UnreadableClaims(unreadable);
      if (all.some((o) => o.ownerId !== ownerId && 'settings' in o && o.settings.claims.includes(word))) {
        throw new EarshotError('WAKEWORD_CLAIMED', `wake word "${word}" is already claimed by another owner of this device; they can release it (earshot owners wakeword --remove)`, {
          details: { wakeword: word },
        });
      }
      if (mine.claims.length >= MAX_CLAIMED_WAKEWORDS) throw new EarshotError('BAD_ARGUMENT', `an owner can claim at most ${MAX_CLAIMED_WAKEWORDS} wake words`);
      const claims = [...mine.claims, word].sort();
      await tx.owners.setWakeSettings(ownerId, { ...mine, claims });
      await tx.audit.append({ type: 'wakeword.claimed', ownerId, personal: { wakeword: word }, detail: { source: origin.source } });
      return { ownerId, wakeword: word, changed: true, claims };
    });
  } catch (e) {
    if (e instanceof UnreadableClaims) {
      for (const other of e.ownerIds) await recordIncident(deps, { kind: 'integrity', what: 'owner-profile', reason: 'claims do not open' }, other);
    } else if (isEarshotError(e, 'INTEGRITY')) {
      await recordIncident(deps, { kind: 'integrity', what: 'owner-profile', reason: e.message }, ownerId);
    }
    throw e;
  }
}

export async function releaseWakeword(deps: AppDeps, ownerId: string, word: string, origin: Origin): Promise<ClaimChange> {
  checkWakewordName(word);
  return withIntegrityIncident(deps, 'owner-profile', { ownerId }, () =>
    deps.uow.run(async (tx) => {
      await requireOwner(tx, ownerId);
      const mine = await tx.owners.wakeSettings(ownerId);
      if (!mine.claims.includes(word)) return { ownerId, wakeword: word, changed: false, claims: mine.claims };
      const claims = mine.claims.filter((w) => w !== word);
      await tx.owners.setWakeSettings(ownerId, { ...mine, claims });
      await tx.audit.append({ type: 'wakeword.released', ownerId, personal: { wakeword: word }, detail: { source: origin.source } });
      return { ownerId, wakeword: word, changed: true, claims };
    }),
  );
}

/** What to change for one word: a number sets it, null clears it (back to the device config), absent keeps it. */
export interface WakeThresholdChange {
  threshold?: number | null;
  verifierGate?: number | null;
}

/**
 * The owner's own threshold (and verifier gate) for a word. The gate must not be above the threshold in
 * effect for the owner's choice (a gate above it would let the verifier never decide). `via` names what set
 * it ('owner-cli', 'tune', …) in the audit entry.
 */
export async function setWakeThreshold(
  deps: AppDeps,
  ownerId: string,
  word: string,
  change: WakeThresholdChange,
  origin: Origin & { via?: string },
): Promise<OwnerWakeSettings> {
  checkWakewordName(word);
  if (typeof change.threshold === 'number') checkScore(change.threshold, 'threshold');
  if (typeof change.verifierGate === 'number') checkScore(change.verifierGate, 'verifierGate');
  return withIntegrityIncident(deps, 'owner-profile', { ownerId }, () =>
    deps.uow.run(async (tx) => {
      await requireOwner(tx, ownerId);
      const mine = await tx.owners.wakeSettings(ownerId);
      const next: OwnerWakeSettings = { claims: mine.claims, thresholds: { ...mine.thresholds }, verifierGates: { ...mine.verifierGates } };
      apply(next.thresholds, word, change.threshold);
      apply(next.verifierGates, word, change.verifierGate);
      const t = next.thresholds[word];
      const g = next.verifierGates[word];
      if (t !== undefined && g !== undefined && g > t) {
        throw new EarshotError('BAD_ARGUMENT', `verifier gate ${g} is above the threshold ${t} for "${word}": the gate must be at most the threshold`, { details: { field: 'verifierGate' } });
      }
      await tx.owners.setWakeSettings(ownerId, next);
      await tx.audit.append({
        type: 'wake.threshold.set',
        ownerId,
        personal: { wakeword: word, threshold: t ?? null, verifierGate: g ?? null },
        detail: { source: origin.source, ...(origin.via !== undefined ? { via: origin.via } : {}) },
      });
      return next;
    }),
  );
}

function apply(m: Record<string, number>, word: string, v: number | null | undefined): void {
  if (v === null) delete m[word];
  else if (v !== undefined) m[word] = v;
}

function ownSettings(all: readonly OwnerWakeSettingsRead[], ownerId: string): OwnerWakeSettings {
  const mine = all.find((o) => o.ownerId === ownerId);
  if (!mine) throw unknownOwner(ownerId);
  if ('unreadable' in mine) throw new EarshotError('INTEGRITY', mine.unreadable, { details: { what: 'owner-profile', ownerId } });
  return mine.settings;
}

/** Every owner's claims as their keys opened them, and the active owner (for the daemon and `earshot tune`). */
export function wakeClaimsView(deps: AppDeps): Promise<WakeClaimsView> {
  return deps.uow.read(claimsViewIn);
}

async function claimsViewIn(tx: Tx): Promise<WakeClaimsView> {
  return { owners: await tx.owners.wakeSettingsAll(), activeOwnerId: await tx.owners.activeOwnerId() };
}

/**
 * Whose a wake of `word` heard now is (the daemon asks at wake time). A withheld wake is an incident, filed
 * device-wide (it names no word: which word wakes whom is the owners' data).
 */
export async function routeWake(deps: AppDeps, word: string): Promise<WakeRoute> {
  const route = ownerForWake(word, await wakeClaimsView(deps));
  if (route.kind === 'withheld') await recordIncident(deps, { kind: 'wake-withheld', reason: route.reason, owners: route.ownerIds.length });
  return route;
}
