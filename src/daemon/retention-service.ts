/** Retention as a service: a sweep at start (awaited, so expired audio is gone before listening) and hourly. */
import { errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { DaemonData } from './daemon-data.js';
import type { Service } from './service.js';

export const RETENTION_SWEEP_MS = 3_600_000;

export class RetentionService implements Service {
  readonly name = 'retention';
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(private readonly deps: { data: DaemonData; logger: Logger; intervalMs?: number }) {}

  async start(): Promise<void> {
    await this.sweep();
    this.timer = setInterval(() => {
      this.sweeping = this.sweeping.then(() => this.sweep());
    }, this.deps.intervalMs ?? RETENTION_SWEEP_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  private async sweep(): Promise<void> {
    try {
      await this.deps.data.sweepRetention();
    } catch (e) {
      // Reported, retried at the next interval; the daemon keeps listening.
      this.deps.logger.error('retention sweep failed', { error: errorMessage(e) });
    }
  }
}
