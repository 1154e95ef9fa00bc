import { describe, expect, it } from 'vitest';
import { detectionsOfTrace, firingScore, recommendThreshold, type ScoreTrace } from '../../src/eval/index.js';
import { EarshotError } from '../../src/core/index.js';

/** A trace of `seconds` of audio at 0.01 with the given (frame, score) bumps. */
function trace(seconds: number, bumps: [number, number][] = []): ScoreTrace {
  const n = Math.round((seconds * 1000) / 80);
  const scores = new Float32Array(n).fill(0.01);
  for (const [i, s] of bumps) scores[i] = s;
  return { endMs: Array.from({ length: n }, (_, i) => (i + 1) * 80), scores };
}

describe('detectionsOfTrace (the device DetectorState on a stored trace)', () => {
  it('applies threshold, refractory and patience like the device', () => {
    const t = trace(10, [[10, 0.6], [12, 0.9], [40, 0.7], [41, 0.7]]);
    expect(detectionsOfTrace(t, 0.5).map((d) => d.frame)).toEqual([10, 40]); // 12 is within 2 s of 10
    expect(detectionsOfTrace(t, 0.5, { refractoryMs: 0 }).map((d) => d.frame)).toEqual([10, 12, 40, 41]);
    expect(detectionsOfTrace(t, 0.5, { patienceFrames: 2 }).map((d) => d.frame)).toEqual([41]);
    expect(detectionsOfTrace(t, 0.95)).toEqual([]);
  });

  it('a frame that may not count breaks the streak', () => {
    const t = { ...trace(1, [[3, 0.9], [4, 0.9]]) };
    const eligible = Array.from({ length: t.scores.length }, (_, i) => i !== 4);
    expect(detectionsOfTrace({ ...t, eligible }, 0.5, { patienceFrames: 2 })).toEqual([]);
    expect(firingScore({ ...t, eligible }, { patienceFrames: 2 })).toBeCloseTo(0.01);
    expect(firingScore(t, { patienceFrames: 2 })).toBeCloseTo(0.9);
  });

  it('rejects a malformed trace', () => {
    expect(() => detectionsOfTrace({ endMs: [80], scores: [0.1, 0.2] }, 0.5)).toThrow(EarshotError);
  });
});

describe('recommendThreshold', () => {
  it('picks the middle of the range that misses nothing and stays within the target', () => {
    // Negatives top out at 0.3; positives are all ≥ 0.8: every threshold in (0.3, 0.8] misses none, no false accepts.
    const r = recommendThreshold({
      positives: [0.95, 0.9, 0.8],
      negatives: [trace(600, [[100, 0.3], [3000, 0.2]])],
      targetFaPerHour: 0,
    });
    expect(r.met).toBe(true);
    expect(r.range).toEqual({ low: 0.31, high: 0.8 });
    expect(r.threshold).toBeCloseTo(0.55, 2);
    expect(r.expectedFrr).toBe(0);
    expect(r.expectedFaPerHour).toBe(0);
    expect(r.negativeHours).toBeCloseTo(600 / 3600, 6);
  });

  it('trades misses for false accepts: the lowest threshold meeting the target when scores overlap', () => {
    // 6 false accepts at 0.6 in 0.5 h = 12/h; at 0.61+ none. Positives spread across.
    const bumps: [number, number][] = [0, 1, 2, 3, 4, 5].map((k) => [100 + k * 100, 0.6]);
    const positives = Array.from({ length: 100 }, (_, i) => i / 100);
    const strict = recommendThreshold({ positives, negatives: [trace(1800, bumps)], targetFaPerHour: 1 });
    expect(strict.threshold).toBe(0.61);
    expect(strict.expectedFrr).toBeCloseTo(0.61, 6);
    const loose = recommendThreshold({ positives, negatives: [trace(1800, bumps)], targetFaPerHour: 12 });
    expect(loose.threshold).toBe(0.05);
    expect(loose.expectedFaPerHour).toBe(12);
    // More hours of the same negatives (caller says so) lower the rate.
    expect(recommendThreshold({ positives, negatives: [trace(1800, bumps)], negativeHours: 6, targetFaPerHour: 1 }).threshold).toBe(0.05);
  });

  it('recommends a threshold above the negatives that would break the target', () => {
    // Two false accepts in an hour at any threshold up to 0.72: over the target of 1/h.
    const negatives = [trace(3600, [[10, 0.72], [260, 0.72]])];
    const r = recommendThreshold({ positives: [0.9, 0.95], negatives, targetFaPerHour: 1 });
    expect(r.threshold).toBeGreaterThan(0.72);
  });

  it('says when no threshold meets the target', () => {
    const r = recommendThreshold({ positives: [0.99], negatives: [trace(60, [[5, 1], [100, 1], [300, 1]])], targetFaPerHour: 0.5 });
    expect(r.met).toBe(false);
    expect(r.threshold).toBe(0.99);
    expect(r.expectedFaPerHour).toBeGreaterThan(0.5);
  });

  it('positive traces are judged with patience', () => {
    const pos = trace(2, [[5, 0.9], [6, 0.4]]);
    const r = recommendThreshold({ positives: [pos], negatives: [trace(60)], targetFaPerHour: 0, rules: { patienceFrames: 2 } });
    expect(r.range.high).toBe(0.4);
  });

  it('respects the bounds (a floor from the fleet) and rejects bad inputs with BAD_ARGUMENT', () => {
    const r = recommendThreshold({ positives: [0.9], negatives: [trace(60)], targetFaPerHour: 0, minThreshold: 0.7, maxThreshold: 0.8 });
    expect(r.threshold).toBeGreaterThanOrEqual(0.7);
    expect(r.threshold).toBeLessThanOrEqual(0.8);
    expect(() => recommendThreshold({ positives: [], negatives: [trace(60)], targetFaPerHour: 0 })).toThrow(/positive/);
    expect(() => recommendThreshold({ positives: [0.9], negatives: [], targetFaPerHour: 0 })).toThrow(/negative/);
    expect(() => recommendThreshold({ positives: [0.9], negatives: [trace(60)], targetFaPerHour: -1 })).toThrow(/targetFaPerHour/);
    expect(() => recommendThreshold({ positives: [0.9], negatives: [trace(60)], targetFaPerHour: 0, minThreshold: 0 })).toThrow(/minThreshold/);
  });
});
