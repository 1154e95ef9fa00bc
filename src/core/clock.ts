/** Injected time so policies (consent, retention, expiry, backoff) are testable without waiting. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
