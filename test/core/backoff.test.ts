import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelayMs } from '../../src/core/backoff.js';

describe('backoffDelayMs', () => {
  it('grows exponentially from min and is capped at max', () => {
    const mid = () => 0.5;
    const p = { minMs: 100, maxMs: 5000 };
    const d = [0, 1, 2, 3, 10, 100].map((a) => backoffDelayMs(a, p, mid));
    expect(d.slice(0, 4)).toEqual([75, 150, 300, 600]);
    expect(d[4]).toBe(3750);
    expect(d[5]).toBe(3750);
  });

  it('always lies within [step/2, step] for any attempt and random value (jitter never reaches 0)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 1_000_000 }), (attempt, r, min, extra) => {
        const max = min + extra;
        const step = Math.min(max, min * 2 ** Math.min(attempt, 60));
        const d = backoffDelayMs(attempt, { minMs: min, maxMs: max }, () => r);
        return d >= Math.floor(step / 2) && d <= Math.ceil(step) && Number.isFinite(d);
      }),
    );
  });

  it('spreads a fleet reconnecting at the same moment', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(5, { minMs: 1000, maxMs: 60_000 })));
    expect(delays.size).toBeGreaterThan(25);
  });
});

describe('backoffDelayMs with an explicit jitter (the audio source supervisor uses 0.2)', () => {
  const policy = { minMs: 500, maxMs: 30_000, jitter: 0.2 };

  it('doubles per attempt up to the cap (no jitter at random = 0)', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7, 99, 4999].map((n) => backoffDelayMs(n, policy, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it('jitter lowers the delay by at most the jitter fraction and never exceeds the cap', () => {
    expect(backoffDelayMs(0, policy, () => 0.999999)).toBe(400);
    expect(backoffDelayMs(19, policy, () => 0.5)).toBe(27_000);
    expect(backoffDelayMs(2, { ...policy, jitter: 0 }, () => 0.9)).toBe(2000);
    expect(backoffDelayMs(2, { ...policy, jitter: 1 }, () => 0.5)).toBe(1000);
    for (let n = 0; n < 40; n++) {
      const d = backoffDelayMs(n, policy, Math.random);
      expect(d).toBeLessThanOrEqual(30_000);
      expect(d).toBeGreaterThanOrEqual(Math.min(30_000, 500 * 2 ** n) * 0.8 - 1);
    }
  });
});
