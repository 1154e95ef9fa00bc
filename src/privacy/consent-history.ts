/** Pure reading of a consent history (oldest first, append order). */
import type { ConsentEvent } from '../core/index.js';

/**
 * The decision in force at time `at`: the latest event at or before `at` (by time; equal times by append
 * order, so a revoke appended after a grant in the same millisecond wins). Undefined = never decided.
 */
export function decisionAt(history: readonly ConsentEvent[], at: number): ConsentEvent | undefined {
  let best: ConsentEvent | undefined;
  for (const e of history) {
    if (e.at <= at && (best === undefined || e.at >= best.at)) best = e;
  }
  return best;
}

/** Consent is active at `at` iff the decision in force then is a grant. */
export function consentActiveAt(history: readonly ConsentEvent[], at: number): boolean {
  return decisionAt(history, at)?.action === 'grant';
}
