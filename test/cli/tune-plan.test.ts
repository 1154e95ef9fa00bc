/** `earshot tune`'s recommendation as a pure function of scores (src/cli/tune-plan.ts). */
import { describe, expect, it } from 'vitest';
import { planTuning, type NegativeScores } from '../../src/cli/tune-plan.js';

/** An hour of negative frames at `level`, with `spikes` frames at the given scores spread through it. */
function hourOf(level: number, spikes: number[], verifiedSpikes?: number[]): NegativeScores {
  const n = 45_000;
  const base = new Float32Array(n).fill(level);
  const verified = new Float32Array(n).fill(0.01);
  spikes.forEach((s, i) => {
    const at = Math.floor(((i + 1) * n) / (spikes.length + 1));
    base[at] = s;
    verified[at] = verifiedSpikes?.[i] ?? 0.01;
  });
  return { base, verified, frameMs: 80 };
}

const clip = (peakScore: number, verified = 0.95) => ({ peakScore, base: [peakScore * 0.8, peakScore], verified: [verified * 0.9, verified] });

describe('planTuning', () => {
  it('without a verifier: the lowest threshold keeping false accepts within the target, centred in the range of equal miss rate', () => {
    const plan = planTuning({ positives: [clip(0.7), clip(0.8), clip(0.9)], negatives: [hourOf(0.02, [0.3, 0.4, 0.55])], targetFaPerHour: 0, floor: 0, rules: {} });
    // Above 0.55 nothing fires; up to 0.70 every clip is detected: the middle of 0.56–0.70.
    expect(plan.met).toBe(true);
    expect(plan.verifierGate).toBeNull();
    expect(plan.recommendation.range).toEqual({ low: 0.56, high: 0.7 });
    expect(plan.threshold).toBe(0.63);
    expect(plan.expectedFrr).toBe(0);
    expect(plan.expectedFaPerHour).toBe(0);
    expect(plan.negativeHours).toBeCloseTo(1, 5);
    // One fire per hour allowed: the 0.55 spike may stay.
    expect(planTuning({ positives: [clip(0.7), clip(0.8), clip(0.9)], negatives: [hourOf(0.02, [0.3, 0.4, 0.55])], targetFaPerHour: 1, floor: 0, rules: {} }).recommendation.range.low).toBe(0.41);
  });

  it("never below the fleet's floor", () => {
    const plan = planTuning({ positives: [clip(0.7), clip(0.8), clip(0.9)], negatives: [hourOf(0.02, [0.3])], targetFaPerHour: 0, floor: 0.75, rules: {} });
    expect(plan.threshold).toBeGreaterThanOrEqual(0.75);
    expect(plan.expectedFrr).toBeCloseTo(1 / 3, 5);
  });

  it('with a verifier: the gate rule applied, gate ≤ lowest peak and ≤ threshold; a verifier that vetoes the near misses lets a lower threshold through', () => {
    // Near misses score high on the base model but low on the verifier; the owner's clips score high on both.
    const negatives = [hourOf(0.02, [0.5, 0.6, 0.65, 0.7], [0.05, 0.1, 0.08, 0.12])];
    const positives = [clip(0.45), clip(0.6), clip(0.8)];
    const unverified = planTuning({ positives, negatives, targetFaPerHour: 0, floor: 0, rules: {} });
    expect(unverified.expectedFrr).toBeGreaterThan(0.5);
    const verified = planTuning({ positives, negatives, targetFaPerHour: 0, floor: 0, rules: {}, verifier: { modelGate: 0.1 } });
    expect(verified.expectedFrr).toBe(0);
    expect(verified.expectedFaPerHour).toBe(0);
    expect(verified.verifierGate).not.toBeNull();
    expect(verified.verifierGate!).toBeLessThanOrEqual(0.45);
    expect(verified.threshold).toBeGreaterThanOrEqual(verified.verifierGate!);
    expect(verified.gates.map((g) => g.gate)).toEqual([0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
    // Every gate gives the same here: the one nearest the model's own wins.
    expect(verified.verifierGate).toBe(0.1);
  });

  it('refuses without positives or negatives', () => {
    expect(() => planTuning({ positives: [], negatives: [hourOf(0, [])], targetFaPerHour: 0, floor: 0, rules: {} })).toThrow(/enrolment/);
    expect(() => planTuning({ positives: [clip(0.7)], negatives: [], targetFaPerHour: 0, floor: 0, rules: {} })).toThrow(/negative/);
  });
});
