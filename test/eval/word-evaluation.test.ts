import { describe, expect, it } from 'vitest';
import { evaluateWord, sweepWord, type ScoredNegative, type ScoredPositive, type ScoreTrace } from '../../src/eval/index.js';

/** `seconds` of frames at 0.01 with (ms, score) bumps placed on the frame ending at or after ms. */
function trace(seconds: number, bumps: [number, number][] = []): ScoreTrace {
  const n = Math.round((seconds * 1000) / 80);
  const scores = new Float32Array(n).fill(0.01);
  for (const [ms, s] of bumps) scores[Math.ceil(ms / 80) - 1] = s;
  return { endMs: Array.from({ length: n }, (_, i) => (i + 1) * 80), scores };
}
const pos = (bumps: [number, number][], noise = 'clean'): ScoredPositive => ({
  clip: { file: 'p.wav', word: 'w', phraseStartMs: 3000, phraseEndMs: 3800, noise },
  trace: trace(5, bumps),
});
const neg = (kind: 'general' | 'nearmiss', seconds: number, bumps: [number, number][], near?: string): ScoredNegative => ({
  clip: { file: 'n.wav', kind, durationMs: seconds * 1000, ...(near ? { near } : {}) },
  trace: trace(seconds, bumps),
});

describe('evaluateWord', () => {
  const positives = [
    pos([[3840, 0.9]]), // hit, 40 ms after the phrase end
    pos([[3600, 0.6]], 'pink10'), // hit at 0.5, missed at 0.7
    pos([[1200, 0.95]], 'pink10'), // fires in the background only: a miss and a background fire
    pos([[4900, 0.9]]), // fires 1.1 s after the phrase end: too late, a miss
  ];
  const negatives = [
    neg('general', 1800, [[10_000, 0.8], [20_000, 0.55]]),
    neg('nearmiss', 3, [[2400, 0.75]], 'w'),
    neg('nearmiss', 3, [[2400, 0.6]], 'other'),
  ];

  it('counts hits in the phrase window, misses, background fires, false accepts per hour and near-miss fires', () => {
    const e = evaluateWord('w', 0.5, positives, negatives);
    expect(e.positives).toBe(4);
    expect(e.missed).toBe(2);
    expect(e.frr).toBe(0.5);
    expect(e.positiveBackgroundFires).toBe(2);
    expect(e.byNoise).toEqual({ clean: { positives: 2, missed: 1, frr: 0.5 }, 'pink10': { positives: 2, missed: 1, frr: 0.5 } });
    expect(e.byVoice).toEqual({ unlabelled: { positives: 4, missed: 2, frr: 0.5 } });
    expect(e.generalHours).toBe(0.5);
    expect(e.generalFalseAccepts).toBe(2);
    expect(e.faPerHour).toBe(4);
    expect(e.nearMissFires).toBe(2);
    expect(e.nearMissFiresOwn).toBe(1);
    expect(e.nearMissFiresByVoice).toEqual({ unlabelled: 2 });
    const voiced = evaluateWord('w', 0.5, positives, [
      { ...negatives[1]!, clip: { ...negatives[1]!.clip, voiceId: 'a' } },
      { ...negatives[2]!, clip: { ...negatives[2]!.clip, voiceId: 'b' } },
    ]);
    expect(voiced.nearMissFiresByVoice).toEqual({ a: 1, b: 1 });
    expect(evaluateWord('w', 0.7, positives, negatives).nearMissFiresByVoice).toEqual({ unlabelled: 1 });
    expect(e.nearMissMinutes).toBeCloseTo(0.1, 9);
    // Hits at 3840 (frame end 3840) and 3600 (frame end 3600): latency after the 3800 ms end.
    expect(e.latencyMs).toEqual({ median: -200, p90: 40, mean: -80 });
  });

  it('a higher threshold misses more and fires less', () => {
    const e = evaluateWord('w', 0.7, positives, negatives);
    expect(e.missed).toBe(3);
    expect(e.generalFalseAccepts).toBe(1);
    expect(e.nearMissFires).toBe(1);
  });

  it('refractory from a background fire can hide the phrase, as on the device', () => {
    const p = pos([[2500, 0.9], [3600, 0.9]]);
    expect(evaluateWord('w', 0.5, [p], []).missed).toBe(1);
    expect(evaluateWord('w', 0.5, [p], [], { refractoryMs: 500 }).missed).toBe(0);
  });

  it('sweep: FRR never falls and FA/h never rises as the threshold rises', () => {
    const s = sweepWord('w', positives, negatives);
    expect(s).toHaveLength(99);
    for (let i = 1; i < s.length; i++) {
      expect(s[i]!.frr).toBeGreaterThanOrEqual(s[i - 1]!.frr);
      expect(s[i]!.faPerHour).toBeLessThanOrEqual(s[i - 1]!.faPerHour);
    }
    expect(s[0]!.faPerHour).toBe(4);
    expect(s[98]!.frr).toBe(1);
  });
});
