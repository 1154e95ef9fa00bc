/**
 * Recommends a wake word's threshold from what is known about it: how high the word scores on positive clips
 * and how often negative audio fires at each threshold. Pure: the `tune` command gathers the scores (enrolment
 * clips, flagged false wakes, background audio), the evaluation gathers them from a corpus.
 *
 * Rule: among thresholds on a grid (default 0.01 steps), keep those at and above which false accepts per hour
 * stay within the target (so a slightly higher threshold never breaks the target); of those, the lowest gives
 * the lowest miss rate. Where a range of thresholds shares that miss rate (few clips, well-separated scores),
 * the middle of the range is recommended, leaving margin on both sides instead of sitting right on the
 * loudest negative.
 */
import { EarshotError } from '../core/index.js';
import { detectionsOfTrace, firingScore } from './detections.js';
import { traceDurationMs, type DecisionRules, type ScoreTrace } from './score-trace.js';

export interface ThresholdInputs {
  /**
   * One entry per positive clip: its peak score for the word (a number: the clip is detected at threshold t
   * when its peak ≥ t, as with patience 1) or its score trace (judged with `rules`, patience included).
   */
  positives: (number | ScoreTrace)[];
  /** Negative audio (continuous pieces), one trace each. */
  negatives: ScoreTrace[];
  /** Hours of negative audio; default: the traces' length (frames × 80 ms). */
  negativeHours?: number;
  /** The false accepts per hour to stay within (≥ 0). */
  targetFaPerHour: number;
  /** Patience and refractory as on the device. */
  rules?: DecisionRules;
  /** Lowest threshold that may be recommended (e.g. a fleet floor); default 0.05. */
  minThreshold?: number;
  /** Highest threshold that may be recommended; default 0.99. */
  maxThreshold?: number;
  /** Grid step; default 0.01. */
  step?: number;
}

export interface ThresholdPoint {
  threshold: number;
  /** Fraction of positives missed at this threshold. */
  frr: number;
  falseAccepts: number;
  faPerHour: number;
}

export interface ThresholdRecommendation {
  threshold: number;
  /** Miss rate on the positives at `threshold`. */
  expectedFrr: number;
  /** False accepts per hour on the negatives at `threshold`. */
  expectedFaPerHour: number;
  falseAccepts: number;
  /** False: no threshold up to maxThreshold meets the target; `threshold` is then maxThreshold. */
  met: boolean;
  /** The range of thresholds with the recommended miss rate that meet the target (low = the lowest such). */
  range: { low: number; high: number };
  positives: number;
  negativeHours: number;
  /** Every grid threshold, ascending. */
  sweep: ThresholdPoint[];
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new EarshotError('BAD_ARGUMENT', message);
}

/** Rounds to the grid's decimals so thresholds print and compare cleanly (0.07, not 0.07000000000000001). */
function onGrid(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function recommendThreshold(inputs: ThresholdInputs): ThresholdRecommendation {
  const min = inputs.minThreshold ?? 0.05;
  const max = inputs.maxThreshold ?? 0.99;
  const step = inputs.step ?? 0.01;
  const rules = inputs.rules ?? {};
  check(Number.isFinite(inputs.targetFaPerHour) && inputs.targetFaPerHour >= 0, `targetFaPerHour must be a number ≥ 0 (got ${inputs.targetFaPerHour})`);
  check(min > 0 && max <= 1 && min <= max, `thresholds must satisfy 0 < minThreshold ≤ maxThreshold ≤ 1 (got ${min}, ${max})`);
  check(step > 0 && (min === max || step <= max - min + 1e-9), `step must be > 0 and fit between the bounds (got ${step})`);
  check(inputs.positives.length > 0, 'at least one positive clip is needed to recommend a threshold');
  const measuredMs = inputs.negatives.reduce((sum, t) => sum + traceDurationMs(t), 0);
  const hours = inputs.negativeHours ?? measuredMs / 3_600_000;
  check(Number.isFinite(hours) && hours > 0, 'negative audio is needed to measure false accepts (no negative hours)');

  const peaks = inputs.positives.map((p) => (typeof p === 'number' ? p : firingScore(p, rules)));
  for (const p of peaks) check(Number.isFinite(p), 'a positive score is not a finite number');
  // A negative trace whose firing score is below t cannot fire at t: skip its simulation there.
  const negatives = inputs.negatives.map((trace) => ({ trace, top: firingScore(trace, rules) }));

  const sweep: ThresholdPoint[] = [];
  const count = Math.floor((max - min) / step + 1e-9) + 1;
  for (let i = 0; i < count; i++) {
    const threshold = onGrid(min + i * step);
    const missed = peaks.filter((p) => p < threshold).length;
    let falseAccepts = 0;
    for (const n of negatives) if (n.top >= threshold) falseAccepts += detectionsOfTrace(n.trace, threshold, rules).length;
    sweep.push({ threshold, frr: missed / peaks.length, falseAccepts, faPerHour: falseAccepts / hours });
  }

  // Lowest grid index from which every higher threshold meets the target.
  let low = sweep.length;
  while (low > 0 && sweep[low - 1]!.faPerHour <= inputs.targetFaPerHour) low--;
  if (low === sweep.length) {
    const last = sweep[sweep.length - 1]!;
    return {
      threshold: last.threshold,
      expectedFrr: last.frr,
      expectedFaPerHour: last.faPerHour,
      falseAccepts: last.falseAccepts,
      met: false,
      range: { low: last.threshold, high: last.threshold },
      positives: peaks.length,
      negativeHours: hours,
      sweep,
    };
  }
  let high = low;
  while (high + 1 < sweep.length && sweep[high + 1]!.frr === sweep[low]!.frr) high++;
  const chosen = sweep[Math.floor((low + high) / 2)]!;
  return {
    threshold: chosen.threshold,
    expectedFrr: chosen.frr,
    expectedFaPerHour: chosen.faPerHour,
    falseAccepts: chosen.falseAccepts,
    met: true,
    range: { low: sweep[low]!.threshold, high: sweep[high]!.threshold },
    positives: peaks.length,
    negativeHours: hours,
    sweep,
  };
}
