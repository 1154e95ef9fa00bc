/**
 * The retention sweeper: applies every owner's retention, audits the counts (the store appends a
 * `retention.swept` entry per owner with deletions). The daemon runs it at start and then hourly.
 */
import type { Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RecordingStore } from '../../store/recording-store.js';
import { retentionRule, type RetentionRule } from './policy.js';

export interface RetentionTarget {
  retentionPolicies(): Promise<{ ownerId: string; retentionDays: number }[]>;
  /** Deletes (and audits) what the rule expires; returns the count. */
  deleteExpired(ownerId: string, rule: RetentionRule): Promise<number>;
}

export function retentionTargetOf(store: RecordingStore): RetentionTarget {
  return {
    retentionPolicies: () => store.owners.retentionPolicies(),
    deleteExpired: (ownerId, rule) => store.recordings.deleteExpired(ownerId, rule),
  };
}

export interface SweepResult {
  ownerId: string;
  deleted: number;
}

export async function sweepRetention(target: RetentionTarget, now: number): Promise<SweepResult[]> {
  const out: SweepResult[] = [];
  for (const p of await target.retentionPolicies()) {
    const deleted = await target.deleteExpired(p.ownerId, retentionRule(p.retentionDays, now));
    out.push({ ownerId: p.ownerId, deleted });
  }
  return out;
}

export interface RetentionSweeper {
  /** Resolves after the first (start-up) sweep. */
  readonly firstSweep: Promise<SweepResult[]>;
  stop(): void;
}

/** Sweep now, then every `intervalMs` (default 1 h). Errors are logged, never thrown out of the timer. */
export function startRetentionSweeper(
  target: RetentionTarget,
  opts: { clock: Clock; logger: Logger; intervalMs?: number },
): RetentionSweeper {
  let running: Promise<unknown> = Promise.resolve();
  const sweep = async (): Promise<SweepResult[]> => {
    try {
      const res = await sweepRetention(target, opts.clock.now());
      const deleted = res.reduce((s, r) => s + r.deleted, 0);
      if (deleted > 0) opts.logger.info('retention sweep deleted recordings', { deleted });
      return res;
    } catch (e) {
      opts.logger.error('retention sweep failed', { error: errorMessage(e) });
      return [];
    }
  };
  const firstSweep = sweep();
  running = firstSweep;
  const timer = setInterval(() => {
    running = running.then(sweep);
  }, opts.intervalMs ?? 3_600_000);
  timer.unref();
  return {
    firstSweep,
    stop: () => clearInterval(timer),
  };
}
