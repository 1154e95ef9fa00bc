/**
 * Exponential backoff with jitter, shared by reconnects and refused-publish retries.
 * "Equal jitter": half the exponential step is fixed, half random, so a fleet of devices that lost the
 * same broker at the same moment does not come back in lock-step, yet no device retries immediately.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
}

/** Delay before attempt number `attempt` (0 = first retry). `random` returns [0, 1). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const min = Math.max(1, policy.minMs);
  const max = Math.max(min, policy.maxMs);
  // 2^attempt grows past max within ~60 steps; cap the exponent so the arithmetic stays finite.
  const step = Math.min(max, min * 2 ** Math.min(Math.max(0, attempt), 60));
  const half = step / 2;
  return Math.round(half + random() * half);
}
