/**
 * An owner's wake-word choices, sealed with their profile (beside the name) under their own key: the words they
 * claimed — a recording woken by one belongs to them whoever is active — and their own threshold and verifier
 * gate per word. Both stores persist exactly this shape; `wakeSettingsFromJson` reads it back strictly, so a
 * profile that opened but holds something else is an INTEGRITY failure, never a silently empty claim list.
 */
import { EarshotError } from './errors.js';

export interface OwnerWakeSettings {
  /** Claimed wake words (model names), sorted, no duplicates. */
  claims: string[];
  /** Per word: the owner's own score threshold, in (0, 1]. A fleet document can only raise what is in effect. */
  thresholds: Record<string, number>;
  /** Per word: the owner's verifier gate, in (0, 1]: the base score at which their verifier decides. */
  verifierGates: Record<string, number>;
}

/** A wake-word name as models/manifest.json spells them: lower case, digits, underscores. */
export const WAKEWORD_NAME_PATTERN = /^[a-z0-9_]{1,64}$/;
/** How many words one owner may claim (a device listens for a handful). */
export const MAX_CLAIMED_WAKEWORDS = 16;

export function emptyWakeSettings(): OwnerWakeSettings {
  return { claims: [], thresholds: {}, verifierGates: {} };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scoreMap(v: unknown, field: string, what: string): Record<string, number> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw malformed(what, field);
  const out: Record<string, number> = {};
  for (const [word, t] of Object.entries(v)) {
    if (!WAKEWORD_NAME_PATTERN.test(word) || typeof t !== 'number' || !(t > 0 && t <= 1)) throw malformed(what, `${field}.${word}`);
    out[word] = t;
  }
  return out;
}

function malformed(what: string, field: string): EarshotError {
  return new EarshotError('INTEGRITY', `${what}: wake settings field ${field} is malformed`, { details: { field } });
}

/** The wake settings inside an opened profile (absent in profiles written before claims existed: empty). */
export function wakeSettingsFromJson(raw: unknown, what: string): OwnerWakeSettings {
  if (raw === undefined) return emptyWakeSettings();
  if (!isRecord(raw)) throw malformed(what, 'wake');
  const claims = raw['claims'] ?? [];
  if (!Array.isArray(claims) || claims.some((w) => typeof w !== 'string' || !WAKEWORD_NAME_PATTERN.test(w))) throw malformed(what, 'claims');
  return {
    claims: [...new Set(claims as string[])].sort(),
    thresholds: scoreMap(raw['thresholds'], 'thresholds', what),
    verifierGates: scoreMap(raw['verifierGates'], 'verifierGates', what),
  };
}

/** A copy in canonical form (sorted claims, sorted keys), for sealing and comparing. */
export function canonicalWakeSettings(s: OwnerWakeSettings): OwnerWakeSettings {
  const sortKeys = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
  return { claims: [...new Set(s.claims)].sort(), thresholds: sortKeys(s.thresholds), verifierGates: sortKeys(s.verifierGates) };
}
