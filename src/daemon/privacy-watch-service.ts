/**
 * Watches what another process (the CLI) changes: local-only, uploads or consent toggled, an owner erased.
 * The retained status shows a new mode promptly and a lifted hold resumes uploads; an owner whose consent was
 * withdrawn has their queued uploads and whatever the MQTT client still holds for them withdrawn.
 */
import { errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { DaemonData } from './daemon-data.js';
import type { Service } from './service.js';

export const PRIVACY_WATCH_MS = 2_000;

export interface PrivacyWatchTarget {
  publishStatus(): Promise<void>;
  notify(): void;
  purgeOwner(ownerId: string): Promise<number>;
}

export class PrivacyWatchService implements Service {
  readonly name = 'privacy-watch';
  private timer: NodeJS.Timeout | undefined;
  private lastPrivacy = '';
  private consented: Set<string> | undefined;
  private checking: Promise<void> = Promise.resolve();

  constructor(private readonly deps: { data: DaemonData; uplink: PrivacyWatchTarget | undefined; logger: Logger; intervalMs?: number }) {}

  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => {
      this.checking = this.checking.then(() => this.check());
    }, this.deps.intervalMs ?? PRIVACY_WATCH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /** One pass (exposed for tests and for a prompt check after the daemon itself changed something). */
  async check(): Promise<void> {
    const { data, uplink, logger } = this.deps;
    try {
      const consented = await data.consentedOwners();
      const before = this.consented;
      this.consented = consented;
      if (before && uplink) {
        for (const ownerId of before) {
          if (consented.has(ownerId)) continue;
          const removed = await uplink.purgeOwner(ownerId);
          logger.info('consent withdrawn: uploads withdrawn', { removed });
        }
      }
      const p = JSON.stringify(await data.activePrivacy());
      const first = this.lastPrivacy === '';
      if (p !== this.lastPrivacy) {
        this.lastPrivacy = p;
        if (!first && uplink) {
          await uplink.publishStatus();
          uplink.notify();
        }
      }
    } catch (e) {
      logger.warn('privacy watch failed', { error: errorMessage(e) });
    }
    // An owner erased by another process: drop our handle on their removed audio file.
    await data.releaseErasedFiles().catch((e: unknown) => logger.warn('releasing erased audio files failed', { error: errorMessage(e) }));
  }
}
