/**
 * The consent ledger's rules, as pure functions: what a valid decision is, and what an owner's history means
 * now. Whether consent is active is computed from the append-only history, never stored. Withdrawing is exactly
 * as easy as granting, and consent is the owner's alone: a fleet can never decide it.
 */
import { EarshotError } from '../core/index.js';
import { isPurpose, PURPOSES, type ConsentEvent, type Purpose } from '../core/index.js';
import { decisionAt } from './consent-history.js';

export const SOURCE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEFAULT_SOURCE = 'owner-cli';
export const DEFAULT_TEXT_VERSION = '1';

export interface PurposeStatus {
  purpose: Purpose;
  active: boolean;
  /** The decision in force (null = never asked). */
  since: number | null;
  source: string | null;
  textVersion: string | null;
}

/** Where an operation came from, normalised; refuses anything that claims to be the fleet. */
export function checkSource(source: string): string {
  const src = source.trim().toLowerCase();
  if (src === 'fleet' || src.startsWith('fleet')) throw new EarshotError('BAD_ARGUMENT', 'consent cannot come from fleet configuration; only the owner can decide');
  if (!SOURCE_PATTERN.test(src)) throw new EarshotError('BAD_ARGUMENT', `source "${source}" is not valid (lowercase letters, digits, . _ -)`);
  return src;
}

/** A consent decision as it will be appended; BAD_ARGUMENT naming what is wrong. */
export function consentDecision(req: {
  ownerId: string;
  purpose: string;
  action: 'grant' | 'revoke';
  at: number;
  source: string;
  textVersion: string;
}): ConsentEvent {
  if (!isPurpose(req.purpose)) throw new EarshotError('BAD_ARGUMENT', `unknown purpose "${req.purpose}" (one of: ${PURPOSES.join(', ')})`);
  const source = checkSource(req.source);
  const textVersion = req.textVersion.trim();
  if (textVersion === '' || textVersion.length > 64) throw new EarshotError('BAD_ARGUMENT', 'the consent text version must be 1–64 characters');
  return { ownerId: req.ownerId, purpose: req.purpose, action: req.action, at: req.at, source, textVersion };
}

/** One row per purpose, as of `at`. */
export function consentStatus(history: readonly ConsentEvent[], at: number): PurposeStatus[] {
  return PURPOSES.map((purpose) => {
    const d = decisionAt(
      history.filter((e) => e.purpose === purpose),
      at,
    );
    return { purpose, active: d?.action === 'grant', since: d?.at ?? null, source: d?.source ?? null, textVersion: d?.textVersion ?? null };
  });
}
