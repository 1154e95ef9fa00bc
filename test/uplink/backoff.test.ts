import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelayMs } from '../../src/uplink/backoff.js';

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
