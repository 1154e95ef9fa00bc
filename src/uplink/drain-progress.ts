/**
 * Drain progress of the outbox, for `earshot status`. The daemon's publisher keeps it in memory and saves a
 * snapshot in the settings table every few seconds, so a separate `earshot status` process can read it.
 */
import type { OutboxRepo, SettingsRepo } from '../core/ports.js';

export const DRAIN_PROGRESS_KEY = 'uplink.progress';

export interface DrainProgress {
  /** Entries in the outbox (due or waiting for a retry). */
  queued: number;
  /** Published, not yet acknowledged. */
  inFlight: number;
  /** Handed to the MQTT client since the publisher started (retries included). */
  published: number;
  /** Confirmed by a successful PUBACK since the publisher started. */
  sent: number;
  /** Refused by the broker (reason code >= 0x80) or failed otherwise; they stay queued and are retried. */
  failed: number;
  /** Held back because local-only is on or uploads are disabled. */
  held: number;
  /** Removed from the outbox because consent no longer allows them. */
  withdrawn: number;
  /** Confirmed uploads per second over the last `rateWindowMs`. */
  ratePerS: number;
  connected: boolean;
  lastError: string | null;
  /** Epoch ms of this snapshot. */
  at: number;
}

/** Uploads per second over a sliding window of confirmation times. */
export class RateMeter {
  private readonly times: number[] = [];
  constructor(private readonly windowMs = 10_000) {}

  mark(at: number): void {
    this.times.push(at);
    this.trim(at);
  }

  perSecond(now: number): number {
    this.trim(now);
    if (this.times.length === 0) return 0;
    return (this.times.length * 1000) / this.windowMs;
  }

  private trim(now: number): void {
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! < cutoff) drop++;
    if (drop > 0) this.times.splice(0, drop);
  }
}

/**
 * What `earshot status` shows: the live outbox depth from the store plus the daemon's last saved snapshot
 * (undefined fields when the daemon has never run).
 */
export async function readDrainProgress(settings: SettingsRepo, outbox: OutboxRepo): Promise<DrainProgress & { stale: boolean }> {
  const queued = await outbox.count();
  const raw = await settings.get(DRAIN_PROGRESS_KEY);
  let saved: Partial<DrainProgress> = {};
  if (raw) {
    try {
      saved = JSON.parse(raw) as Partial<DrainProgress>;
    } catch {
      saved = {}; // an unreadable snapshot only loses counters, never queue state; it is rewritten by the daemon
    }
  }
  const at = typeof saved.at === 'number' ? saved.at : 0;
  return {
    queued,
    inFlight: saved.inFlight ?? 0,
    published: saved.published ?? 0,
    sent: saved.sent ?? 0,
    failed: saved.failed ?? 0,
    held: saved.held ?? 0,
    withdrawn: saved.withdrawn ?? 0,
    ratePerS: saved.ratePerS ?? 0,
    connected: saved.connected ?? false,
    lastError: saved.lastError ?? null,
    at,
    // A snapshot older than 30 s means no daemon is draining right now.
    stale: Date.now() - at > 30_000,
  };
}
