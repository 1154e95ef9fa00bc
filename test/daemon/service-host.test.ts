/**
 * The daemon's service host: start in order, stop in reverse, failures isolated and reported, restarts with
 * backoff, every stop bounded (issue 8 §2, issue 10 §3).
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { ServiceHost, type Service } from '../../src/daemon/index.js';

function recorder() {
  const log: string[] = [];
  const svc = (name: string, extra: Partial<Service> = {}): Service => ({
    name,
    start: async () => void log.push(`start ${name}`),
    stop: async () => void log.push(`stop ${name}`),
    ...extra,
  });
  return { log, svc };
}

describe('ServiceHost', () => {
  it('starts services in order and stops them in reverse', async () => {
    const { log, svc } = recorder();
    const host = new ServiceHost({ clock: systemClock, logger: silentLogger });
    for (const n of ['a', 'b', 'c']) host.add(svc(n));
    await host.start();
    await host.stop();
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('isolates a service that fails to start: it is reported, the others run', async () => {
    const { log, svc } = recorder();
    const failures: string[] = [];
    const host = new ServiceHost({ clock: systemClock, logger: silentLogger, onFailure: (f) => failures.push(`${f.service}: ${f.error}`) });
    host.add(svc('a'));
    host.add(svc('b', { start: async () => Promise.reject(new Error('no broker')) }));
    host.add(svc('c'));
    await host.start();
    expect(failures).toEqual(['b: no broker']);
    expect(host.status().map((s) => [s.name, s.state])).toEqual([
      ['a', 'running'],
      ['b', 'failed'],
      ['c', 'running'],
    ]);
    await host.stop();
    expect(log).toEqual(['start a', 'start c', 'stop c', 'stop a']);
  });

  it('a required service that fails to start fails the start-up and stops what was started', async () => {
    const { log, svc } = recorder();
    const host = new ServiceHost({ clock: systemClock, logger: silentLogger });
    host.add(svc('a'));
    host.add(svc('b', { start: async () => Promise.reject(new Error('unknown wake word')) }), { required: true });
    await expect(host.start()).rejects.toThrow('unknown wake word');
    expect(log).toEqual(['start a', 'stop a']);
  });

  it('restarts a failed run with backoff and reports each failure', async () => {
    let runs = 0;
    const failures: (number | undefined)[] = [];
    const host = new ServiceHost({ clock: systemClock, logger: silentLogger, onFailure: (f) => failures.push(f.retryInMs), random: () => 0 });
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    host.add(
      {
        name: 'w',
        start: async () => {},
        run: async () => {
          runs++;
          if (runs <= 2) throw new Error(`fault ${runs}`);
          await finished;
        },
        stop: async () => finish(),
      },
      { restart: { minMs: 10, maxMs: 1000, jitter: 0 } },
    );
    await host.start();
    while (runs < 3) await new Promise((r) => setTimeout(r, 5));
    expect(failures).toEqual([10, 20]);
    expect(host.stateOf('w')).toMatchObject({ state: 'running', failures: 2, lastError: 'fault 2' });
    await host.stop();
  });

  it('bounds a stop that never returns', async () => {
    const { log, svc } = recorder();
    const host = new ServiceHost({ clock: systemClock, logger: silentLogger, stopTimeoutMs: 100 });
    host.add(svc('a'));
    host.add(svc('hangs', { stop: () => new Promise<void>(() => {}) }));
    await host.start();
    const t0 = Date.now();
    await host.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(log).toContain('stop a');
  });
});
