/**
 * The wake loop's health: saved every minute for `earshot status` when no daemon answers (counts and times only,
 * see wake-health.ts), logged every minute, and a warning when the loop falls behind real time.
 */
import type { Clock } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { saveWakeHealth, type WakeSourceKind } from '../wake-health.js';
import type { WakeLoopMetrics } from '../wakeword/index.js';
import type { DaemonData } from './daemon-data.js';
import type { Service } from './service.js';

/** With the live status on the lock socket this only dates the last run (e.g. after a crash): once a minute. */
const HEALTH_SAVE_MS = 60_000;
const METRICS_LOG_MS = 60_000;
/** 1 s of audio waiting to be processed. */
const BACKLOG_WARN_FRAMES = 12.5;

export class HealthService implements Service {
  readonly name = 'health';
  private timers: NodeJS.Timeout[] = [];
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { data: DaemonData; source: WakeSourceKind; metrics: () => WakeLoopMetrics; clock: Clock; logger: Logger },
  ) {}

  async start(): Promise<void> {
    await this.save(true);
    const save = setInterval(() => {
      this.saving = this.saving.then(() => this.save(true));
    }, HEALTH_SAVE_MS);
    const log = setInterval(() => this.logMetrics(), METRICS_LOG_MS);
    for (const t of [save, log]) t.unref();
    this.timers = [save, log];
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.saving;
    await this.save(false);
  }

  private async save(running: boolean): Promise<void> {
    try {
      await saveWakeHealth(this.deps.data.settings, { running, source: this.deps.source }, this.deps.metrics(), this.deps.clock.now());
    } catch (e) {
      this.deps.logger.warn('saving wake-loop health failed', { error: errorMessage(e) });
    }
  }

  private logMetrics(): void {
    const m = this.deps.metrics();
    const fields = { framesProcessed: m.framesProcessed, backlogFrames: m.backlogFrames, maxBacklogFrames: m.maxBacklogFrames, maxLagMs: Math.round(m.maxLagMs) };
    // A backlog means the device is slower than real time: nothing is dropped, but it must be visible.
    if (m.backlogFrames > BACKLOG_WARN_FRAMES) this.deps.logger.warn('wake loop is behind real time', fields);
    else this.deps.logger.info('wake loop', fields);
  }
}
