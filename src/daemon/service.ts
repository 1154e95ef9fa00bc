/**
 * The daemon's services and their lifecycle (modelled on zigbee2mqtt's controller and its extensions): the
 * composition root registers services in data-flow order; the host starts them in that order and stops them in
 * reverse. A service that fails to start or fails while running is isolated: it is reported (log, event, status)
 * and the others keep running. A service that declares itself restartable is started again with backoff.
 */
import { sleep } from '../audio/index.js';
import { backoffDelayMs, type BackoffPolicy } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import type { Clock } from '../core/index.js';
import type { Logger } from '../core/index.js';

/** A run this long resets the restart backoff. */
const HEALTHY_RUN_MS = 60_000;

export interface Service {
  readonly name: string;
  /**
   * Starts the service. It may resolve at once (timers, background connections) or keep running: `run`, when
   * present, is awaited after `start` and its end (resolve or reject) means the service stopped on its own.
   */
  start(): Promise<void>;
  run?(signal: AbortSignal): Promise<void>;
  /** Bounded: the host stops waiting after its stop timeout. */
  stop(): Promise<void>;
  /** Whether a failure of `run` is worth a restart (default: yes when a restart policy was given). */
  restartable?(error: unknown): boolean;
}

export interface ServiceOptions {
  /** Restart a failed `run` with this backoff. */
  restart?: BackoffPolicy;
  /** A failure to start this service at daemon start-up fails the start-up (bad config, missing model). */
  required?: boolean;
}

export type ServiceState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped' | 'finished';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  /** Failures since start-up. */
  failures: number;
  /** The last failure's message (no audio, names or secrets: errors are built to be loggable). */
  lastError?: string;
  lastErrorAt?: number;
  /** When a restart is due (epoch ms). */
  retryAt?: number;
}

export interface ServiceFailure {
  service: string;
  error: string;
  /** Undefined when the service is not restarted. */
  retryInMs: number | undefined;
}

interface Entry {
  service: Service;
  restart: BackoffPolicy | undefined;
  required: boolean;
  status: ServiceStatus;
  /** Settles when `run` (with restarts) is over. */
  done: Promise<void> | undefined;
  /** The failure that ended `run` for good. */
  error?: unknown;
  /** Started at least once (only those are stopped). */
  started: boolean;
}

export interface ServiceHostOptions {
  clock: Clock;
  logger: Logger;
  onFailure?: (f: ServiceFailure) => void;
  /** Longest wait for one service's stop. Default 5 s. */
  stopTimeoutMs?: number;
  random?: () => number;
}

export class ServiceHost {
  private readonly entries: Entry[] = [];
  private readonly abort = new AbortController();
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: ServiceHostOptions) {}

  /** Registers a service (in start order). */
  add(service: Service, opts: ServiceOptions = {}): void {
    this.entries.push({ service, restart: opts.restart, required: opts.required ?? false, status: { name: service.name, state: 'stopped', failures: 0 }, done: undefined, started: false });
  }

  /**
   * Starts every service in order; one that fails to start is reported and the rest still start. A required
   * service that fails to start stops the ones already started and rethrows its error.
   */
  async start(): Promise<void> {
    for (const e of this.entries) {
      if (this.abort.signal.aborted) return;
      e.status.state = 'starting';
      try {
        await e.service.start();
        e.started = true;
        e.status.state = 'running';
        if (e.service.run) e.done = this.supervise(e);
      } catch (err) {
        if (e.required) {
          e.status.state = 'failed';
          e.status.lastError = errorMessage(err);
          await this.stop();
          throw err;
        }
        this.failed(e, err, undefined);
      }
    }
  }

  /** The state of one service. */
  stateOf(name: string): ServiceStatus | undefined {
    const e = this.entries.find((x) => x.service.name === name);
    return e ? { ...e.status } : undefined;
  }

  /** Resolves when the named service's `run` is over for good (finished, failed without restart, or stopped). */
  async finished(name: string): Promise<void> {
    await this.entries.find((e) => e.service.name === name)?.done;
  }

  /** The error that ended a service's `run` for good, if any. */
  errorOf(name: string): unknown {
    return this.entries.find((x) => x.service.name === name)?.error;
  }

  status(): ServiceStatus[] {
    return this.entries.map((e) => ({ ...e.status }));
  }

  /** Stops every service in reverse order; each stop is bounded and a failing stop does not stop the others. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.abort.abort();
    const timeout = this.opts.stopTimeoutMs ?? 5_000;
    for (const e of [...this.entries].reverse()) {
      if (!e.started) continue;
      const name = e.service.name;
      try {
        const outcome = await bounded(e.service.stop(), timeout);
        if (outcome === 'timeout') this.opts.logger.error('service did not stop in time; abandoned', { service: name, timeoutMs: timeout });
        if (e.done && (await bounded(e.done, timeout)) === 'timeout') this.opts.logger.error('service still running after stop; abandoned', { service: name });
      } catch (err) {
        this.opts.logger.error('service stop failed', { service: name, error: errorMessage(err) });
      }
      if (e.status.state !== 'failed') e.status.state = 'stopped';
    }
  }

  private async supervise(e: Entry): Promise<void> {
    const signal = this.abort.signal;
    let consecutive = 0;
    let first = true;
    for (;;) {
      const startedAt = this.opts.clock.now();
      try {
        if (!first) {
          await e.service.start();
          e.status.state = 'running';
          delete e.status.retryAt;
          this.opts.logger.info('service restarted', { service: e.service.name, failures: e.status.failures });
        }
        first = false;
        await e.service.run!(signal);
        if (!signal.aborted) e.status.state = 'finished';
        return;
      } catch (err) {
        if (signal.aborted) return;
        // A service that ran for a while before failing starts its backoff afresh.
        if (this.opts.clock.now() - startedAt > HEALTHY_RUN_MS) consecutive = 0;
        consecutive++;
        const again = e.restart !== undefined && (e.service.restartable?.(err) ?? true);
        const retryInMs = again ? backoffDelayMs(consecutive - 1, e.restart!, this.opts.random) : undefined;
        this.failed(e, err, retryInMs);
        if (retryInMs === undefined) {
          e.error = err;
          return;
        }
        e.status.retryAt = this.opts.clock.now() + retryInMs;
        if (!(await sleep(retryInMs, signal))) return;
      }
    }
  }

  private failed(e: Entry, err: unknown, retryInMs: number | undefined): void {
    e.status.failures++;
    e.status.state = retryInMs === undefined ? 'failed' : 'restarting';
    e.status.lastError = errorMessage(err);
    e.status.lastErrorAt = this.opts.clock.now();
    this.opts.logger.error(retryInMs === undefined ? 'service failed' : 'service failed; restarting', {
      service: e.service.name,
      error: errorMessage(err),
      ...(retryInMs !== undefined ? { retryInMs } : {}),
    });
    this.opts.onFailure?.({ service: e.service.name, error: errorMessage(err), retryInMs });
  }
}

/** Waits for `p` at most `ms`; never rejects on timeout (the caller logs it). */
export async function bounded<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
