/**
 * Exponential backoff with jitter: the one implementation behind MQTT reconnects, refused-publish retries and
 * audio-source restarts. The delay before retry `attempt` (0 = the first retry) is min·2^attempt capped at max,
 * lowered by a random part of at most `jitter` of itself, so a fleet of devices that failed at the same moment
 * does not retry in lock-step, yet none retries at once.
 */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  minMs: number;
  /** The delay doubles per attempt up to this cap. */
  maxMs: number;
  /** Fraction of the delay randomised away: delay ∈ [step·(1−jitter), step]. Default 0.5 ("equal jitter"). */
  jitter?: number;
}

/** Delay before retry number `attempt` (0 = first retry). `random` returns [0, 1). Pure. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const min = Math.max(1, policy.minMs);
  const max = Math.max(min, policy.maxMs);
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  // 2^attempt grows past any cap within ~60 steps; capping the exponent keeps the arithmetic finite.
  const step = Math.min(max, min * 2 ** Math.min(Math.max(0, attempt), 60));
  return Math.round(step * (1 - jitter * random()));
}
