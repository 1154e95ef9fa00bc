/**
 * Slows down, then locks out, a client that keeps presenting wrong pairing codes. Three free tries; after
 * that each failure doubles the wait (2 s, 4 s, …); the tenth failure in a row locks the client out for
 * 15 minutes. A success or 15 quiet minutes forget the client. Pure: time comes from the injected clock.
 */
import type { Clock } from '../core/index.js';

export interface ThrottleOptions {
  freeFailures: number;
  firstDelayMs: number;
  lockAfter: number;
  lockMs: number;
  forgetAfterMs: number;
  /** At most this many clients are remembered (oldest forgotten first), so the map cannot grow without bound. */
  maxClients: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  freeFailures: 3,
  firstDelayMs: 2000,
  lockAfter: 10,
  lockMs: 15 * 60_000,
  forgetAfterMs: 15 * 60_000,
  maxClients: 10_000,
};

export type ThrottleVerdict = { allowed: true } | { allowed: false; locked: boolean; retryAfterMs: number };

interface ClientState {
  failures: number;
  lastFailureAt: number;
  notBefore: number;
  lockedUntil: number;
}

export class PairingThrottle {
  private readonly clients = new Map<string, ClientState>();
  constructor(
    private readonly clock: Clock,
    private readonly opts: ThrottleOptions = DEFAULT_THROTTLE,
  ) {}

  check(client: string): ThrottleVerdict {
    const s = this.current(client);
    if (!s) return { allowed: true };
    const now = this.clock.now();
    if (s.lockedUntil > now) return { allowed: false, locked: true, retryAfterMs: s.lockedUntil - now };
    if (s.notBefore > now) return { allowed: false, locked: false, retryAfterMs: s.notBefore - now };
    return { allowed: true };
  }

  /** Records a wrong code; `lockedNow` is true on the failure that starts a lock-out (tell the owners once). */
  fail(client: string): { lockedNow: boolean; failures: number } {
    const now = this.clock.now();
    const s = this.current(client) ?? { failures: 0, lastFailureAt: now, notBefore: 0, lockedUntil: 0 };
    s.failures += 1;
    s.lastFailureAt = now;
    let lockedNow = false;
    if (s.failures >= this.opts.lockAfter) {
      lockedNow = s.lockedUntil <= now;
      s.lockedUntil = now + this.opts.lockMs;
    } else if (s.failures > this.opts.freeFailures) {
      s.notBefore = now + this.opts.firstDelayMs * 2 ** (s.failures - this.opts.freeFailures - 1);
    }
    this.clients.delete(client);
    this.clients.set(client, s);
    if (this.clients.size > this.opts.maxClients) this.clients.delete(this.clients.keys().next().value as string);
    return { lockedNow, failures: s.failures };
  }

  succeed(client: string): void {
    this.clients.delete(client);
  }

  private current(client: string): ClientState | undefined {
    const s = this.clients.get(client);
    if (!s) return undefined;
    const now = this.clock.now();
    if (s.lockedUntil <= now && now - s.lastFailureAt > this.opts.forgetAfterMs) {
      this.clients.delete(client);
      return undefined;
    }
    return s;
  }
}
