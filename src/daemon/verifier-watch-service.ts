/**
 * Keeps what the detector runs with — per word, the threshold and household verifier of the owner the word
 * routes to — up to date. Whatever changes them — the active owner switched, a word claimed or released, a
 * threshold set (`earshot tune --apply`), a verifier enrolled, retrained (a flag) or removed, an owner erased — is
 * an audit entry, from whichever process: so the watch only looks at the audit head (sequence number, nothing
 * personal) and asks the wake service to look again when it moved (it rebuilds only when something changed).
 */
import { errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { DaemonData } from './daemon-data.js';
import type { Service } from './service.js';

export const VERIFIER_WATCH_MS = 2_000;

export interface VerifierWatchTarget {
  refreshDetector(): Promise<void>;
}

export class VerifierWatchService implements Service {
  readonly name = 'verifier-watch';
  private timer: NodeJS.Timeout | undefined;
  private lastSeq: number | undefined;
  private checking: Promise<void> = Promise.resolve();

  constructor(private readonly deps: { data: DaemonData; wake: VerifierWatchTarget; logger: Logger; intervalMs?: number }) {}

  async start(): Promise<void> {
    this.lastSeq = (await this.deps.data.auditHead()).seq;
    this.timer = setInterval(() => {
      this.checking = this.checking.then(() => this.check());
    }, this.deps.intervalMs ?? VERIFIER_WATCH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /** One pass (exposed for tests). */
  async check(): Promise<void> {
    try {
      const { seq } = await this.deps.data.auditHead();
      if (seq === this.lastSeq) return;
      this.lastSeq = seq;
      await this.deps.wake.refreshDetector();
    } catch (e) {
      this.deps.logger.warn('verifier watch failed', { error: errorMessage(e) });
    }
  }
}
