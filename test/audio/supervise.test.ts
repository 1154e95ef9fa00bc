import { describe, it, expect } from 'vitest';
import { superviseSource, type SourceFailure } from '../../src/audio/sources/supervise.js';
import { EarshotError } from '../../src/core/errors.js';

/** A fake source script: each attempt either fails after yielding some chunks, or yields then waits for abort. */
type Attempt = { chunks: number; then: 'fail' | 'end' | 'hold' };

function scriptedOpen(attempts: Attempt[], opened: AbortSignal[]) {
  let i = 0;
  return (signal: AbortSignal) => {
    opened.push(signal);
    const a = attempts[Math.min(i++, attempts.length - 1)]!;
    const n = i;
    return (async function* () {
      for (let k = 0; k < a.chunks; k++) yield new Int16Array(1280).fill(n);
      if (a.then === 'fail') throw new EarshotError('RECORDER_FAILED', `attempt ${n} failed`);
      if (a.then === 'hold' && !signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    })();
  };
}

describe('superviseSource', () => {
  it('reopens a failing source after backoff, reporting each failure, and forwards audio from every attempt', async () => {
    const ac = new AbortController();
    const failures: SourceFailure[] = [];
    const slept: number[] = [];
    const opened: AbortSignal[] = [];
    const open = scriptedOpen(
      [
        { chunks: 0, then: 'fail' },
        { chunks: 2, then: 'fail' },
        { chunks: 0, then: 'end' },
        { chunks: 3, then: 'hold' },
      ],
      opened,
    );
    const seen: number[] = [];
    for await (const chunk of superviseSource(open, {
      initialMs: 100,
      maxMs: 1000,
      signal: ac.signal,
      random: () => 0,
      sleep: async (ms) => {
        slept.push(ms);
        return true;
      },
      onFailure: (f) => failures.push(f),
    })) {
      seen.push(chunk[0]!);
      if (seen.length === 5) ac.abort();
    }
    expect(seen).toEqual([2, 2, 4, 4, 4]);
    expect(failures.map((f) => [f.failures, f.retryInMs])).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ]);
    expect(failures.map((f) => (f.error as Error).message)).toEqual(['attempt 1 failed', 'attempt 2 failed', 'the audio source ended unexpectedly']);
    expect(slept).toEqual([100, 200, 400]);
    // Every attempt's signal is aborted once that attempt is over.
    expect(opened.every((s) => s.aborted)).toBe(true);
  });

  it('resets the failure count once a source has delivered healthy audio', async () => {
    const ac = new AbortController();
    const failures: SourceFailure[] = [];
    const recovered: number[] = [];
    const open = scriptedOpen(
      [
        { chunks: 0, then: 'fail' },
        { chunks: 0, then: 'fail' },
        { chunks: 4, then: 'fail' }, // 5120 samples ≥ healthySamples
        { chunks: 1, then: 'hold' },
      ],
      [],
    );
    let n = 0;
    for await (const _ of superviseSource(open, {
      initialMs: 100,
      maxMs: 1000,
      healthySamples: 5000,
      signal: ac.signal,
      random: () => 0,
      sleep: async () => true,
      onFailure: (f) => failures.push(f),
      onRecovered: (k) => recovered.push(k),
    })) {
      if (++n === 5) ac.abort();
    }
    expect(recovered).toEqual([2]);
    expect(failures.map((f) => f.retryInMs)).toEqual([100, 200, 100]);
  });

  it('gives up after maxConsecutiveFailures with the last error', async () => {
    const open = scriptedOpen([{ chunks: 0, then: 'fail' }], []);
    const run = async () => {
      for await (const _ of superviseSource(open, { initialMs: 1, maxMs: 1, maxConsecutiveFailures: 3, sleep: async () => true })) {
        /* nothing arrives */
      }
    };
    await expect(run()).rejects.toThrow('attempt 3 failed');
  });

  it('an abort during the backoff wait ends the stream without another attempt (real timers)', async () => {
    const ac = new AbortController();
    const opened: AbortSignal[] = [];
    const open = scriptedOpen([{ chunks: 0, then: 'fail' }], opened);
    setTimeout(() => ac.abort(), 50);
    const t0 = performance.now();
    for await (const _ of superviseSource(open, { initialMs: 10_000, maxMs: 10_000, signal: ac.signal })) {
      /* nothing */
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(opened.length).toBe(1);
  });

  it('a consumer that stops iterating aborts the current source', async () => {
    const opened: AbortSignal[] = [];
    const open = scriptedOpen([{ chunks: 5, then: 'hold' }], opened);
    for await (const _ of superviseSource(open, { initialMs: 1, maxMs: 1 })) break;
    expect(opened[0]!.aborted).toBe(true);
  });
});
