/**
 * Drain progress of the outbox, for `earshot status`. The daemon's publisher keeps it in memory and saves a
 * snapshot in the settings table whenever it changes (at most once a second) and when it stops, so a separate
 * `earshot status` process reads what the live uplink knows, or that it is not running.
 */
import type { OutboxRepo, SettingsRepo } from '../core/index.js';
import type { LinkState } from './transport.js';

export const DRAIN_PROGRESS_KEY = 'uplink.progress';

export interface DrainProgress {
  /** The uplink was running when this snapshot was written (false: written on its stop). */
  running: boolean;
  /** The daemon's process id, so a reader can tell a crashed daemon (pid gone) from a live one. */
  pid: number;
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
  /** link !== 'not-connected'. */
  connected: boolean;
  link: LinkState;
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

/** Whether a process with this id exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type DrainStatus = DrainProgress & {
  /** No uplink is draining now: it stopped (snapshot says so), or the daemon that wrote it is gone, or none ever ran. */
  stale: boolean;
  /**
   * Why nothing is draining: 'stopped' (the uplink wrote its final snapshot at `at`), 'process-gone' (its daemon
   * ended without stopping it, e.g. killed; `at` is its last update), 'never' (no snapshot); null while running.
   */
  ended: 'stopped' | 'process-gone' | 'never' | null;
};

/**
 * What `earshot status` shows: the live outbox depth from the store plus the daemon's last saved snapshot.
 * Counters of a daemon that is not running are its last run's; its in-flight count is 0 (nothing is in flight
 * without a connection) and its link is 'not-connected'.
 */
export async function readDrainProgress(settings: SettingsRepo, outbox: OutboxRepo, isAlive: (pid: number) => boolean = processAlive): Promise<DrainStatus> {
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
  const pid = typeof saved.pid === 'number' ? saved.pid : 0;
  const running = saved.running === true && isAlive(pid);
  const link: LinkState = running ? (saved.link ?? (saved.connected ? 'connected' : 'not-connected')) : 'not-connected';
  return {
    running,
    pid,
    queued,
    inFlight: running ? (saved.inFlight ?? 0) : 0,
    published: saved.published ?? 0,
    sent: saved.sent ?? 0,
    failed: saved.failed ?? 0,
    held: saved.held ?? 0,
    withdrawn: saved.withdrawn ?? 0,
    ratePerS: running ? (saved.ratePerS ?? 0) : 0,
    connected: link !== 'not-connected',
    link,
    lastError: saved.lastError ?? null,
    at: typeof saved.at === 'number' ? saved.at : 0,
    stale: !running,
    ended: running ? null : saved.running === false ? 'stopped' : saved.running === true ? 'process-gone' : 'never',
  };
}

const LINK_TEXT: Record<LinkState, string> = {
  'not-connected': 'broker not connected',
  connected: 'broker connected',
  'not-acknowledging': 'broker connected but not acknowledging',
};

/** The `upload queue` line of `earshot status`. */
export function describeDrain(d: DrainStatus): string {
  const counts = `${d.queued} queued, ${d.inFlight} in flight, ${d.sent} sent, ${d.failed} refused/retrying`;
  if (!d.running) {
    const at = new Date(d.at).toISOString();
    const why = d.ended === 'stopped' ? `; uplink stopped ${at}` : d.ended === 'process-gone' ? `; its daemon ended without stopping, last update ${at}` : '';
    return `${counts} (no daemon draining${why})`;
  }
  return `${counts}, ${d.ratePerS.toFixed(1)}/s, ${LINK_TEXT[d.link]}`;
}
