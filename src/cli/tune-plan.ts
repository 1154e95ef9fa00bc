/**
 * What `earshot tune` recommends for one owner and word, as a pure function over scores (the command gathers
 * them: the owner's enrolment, their flagged false wakes, the room background and the shipped generic negatives,
 * each scored by the word's classifier and, with a verifier, by the owner's verifier).
 *
 * Without a verifier the positives are the enrolment clips' peak base scores and the negatives are base-score
 * traces; `recommendThreshold` (src/eval) picks the threshold. With a verifier, the detector's rule is applied for
 * each candidate gate — a frame whose base score reaches the gate is scored by the verifier — and the gate whose
 * recommendation misses fewest enrolment clips (then fires least, then is nearest the model's own gate) wins.
 * The threshold is never recommended below the fleet's floor, nor below the gate (gate ≤ threshold).
 */
import { EarshotError } from '../core/index.js';
import { recommendThreshold, type DecisionRules, type ScoreTrace, type ThresholdRecommendation } from '../eval/index.js';

/** One piece of negative audio: its windows' base scores (and verifier probabilities) in order. */
export interface NegativeScores {
  base: ArrayLike<number>;
  verified?: ArrayLike<number>;
  /** Audio each window stands for, ms (80 × the stride the windows were taken with). */
  frameMs: number;
}

/** One enrolment clip: its peak base score, and its windows' base scores and verifier probabilities. */
export interface PositiveScores {
  peakScore: number;
  base: ArrayLike<number>;
  verified?: ArrayLike<number>;
}

export interface TuneInputs {
  positives: PositiveScores[];
  negatives: NegativeScores[];
  targetFaPerHour: number;
  /** The fleet's floor for the word (0: none). */
  floor: number;
  rules: DecisionRules;
  /** With a verifier: the gates to try (default 0.05 … 0.3) and the model's own gate. */
  verifier?: { gates?: number[]; modelGate: number };
}

export interface GateOutcome {
  gate: number;
  threshold: number;
  expectedFrr: number;
  expectedFaPerHour: number;
  met: boolean;
}

export interface TunePlan {
  threshold: number;
  /** null without a verifier. */
  verifierGate: number | null;
  expectedFrr: number;
  expectedFaPerHour: number;
  falseAccepts: number;
  /** False when no threshold up to 0.99 keeps false accepts within the target. */
  met: boolean;
  positives: number;
  negativeHours: number;
  /** With a verifier: what each gate tried gave. */
  gates: GateOutcome[];
  recommendation: ThresholdRecommendation;
}

export const DEFAULT_TUNE_GATES = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
const MIN_THRESHOLD = 0.05;

function trace(scores: ArrayLike<number>, frameMs: number): ScoreTrace {
  const endMs = Float64Array.from({ length: scores.length }, (_, i) => (i + 1) * frameMs);
  return { endMs, scores };
}

/** The score the detector decides on for each window at gate `g`: the verifier's where the base reaches the gate. */
function gated(base: ArrayLike<number>, verified: ArrayLike<number>, g: number): Float32Array {
  return Float32Array.from({ length: base.length }, (_, i) => (base[i]! >= g ? verified[i]! : base[i]!));
}

function maxOf(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i]! > m) m = xs[i]!;
  return m;
}

export function planTuning(inputs: TuneInputs): TunePlan {
  if (inputs.positives.length === 0) throw new EarshotError('BAD_ARGUMENT', 'no enrolment clips to tune on');
  const negativeHours = inputs.negatives.reduce((h, n) => h + (n.base.length * n.frameMs) / 3_600_000, 0);
  if (!(negativeHours > 0)) throw new EarshotError('BAD_ARGUMENT', 'no negative audio to measure false accepts on (background clips, the generic negative set or flagged false wakes)');
  const base = {
    negativeHours,
    targetFaPerHour: inputs.targetFaPerHour,
    rules: inputs.rules,
  };
  if (inputs.verifier === undefined) {
    const r = recommendThreshold({
      ...base,
      positives: inputs.positives.map((p) => p.peakScore),
      negatives: inputs.negatives.map((n) => trace(n.base, n.frameMs)),
      minThreshold: Math.max(MIN_THRESHOLD, inputs.floor),
    });
    return { ...summary(r), verifierGate: null, gates: [], recommendation: r };
  }
  const v = inputs.verifier;
  for (const n of inputs.negatives) if (n.verified === undefined || n.verified.length !== n.base.length) throw new EarshotError('BAD_ARGUMENT', 'every negative needs verifier scores when tuning with a verifier');
  for (const p of inputs.positives) if (p.verified === undefined || p.verified.length !== p.base.length) throw new EarshotError('BAD_ARGUMENT', 'every enrolment clip needs verifier scores when tuning with a verifier');
  // A gate above a clip's peak would let the base model alone decide that clip: keep gates at or below every peak.
  const lowestPeak = Math.min(...inputs.positives.map((p) => p.peakScore));
  const candidates = [...new Set([...(v.gates ?? DEFAULT_TUNE_GATES), v.modelGate])].filter((g) => g > 0 && g <= lowestPeak).sort((a, b) => a - b);
  if (candidates.length === 0) candidates.push(Math.min(v.modelGate, lowestPeak));
  let best: { gate: number; r: ThresholdRecommendation } | undefined;
  const gates: GateOutcome[] = [];
  for (const g of candidates) {
    const r = recommendThreshold({
      ...base,
      positives: inputs.positives.map((p) => maxOf(gated(p.base, p.verified!, g))),
      negatives: inputs.negatives.map((n) => trace(gated(n.base, n.verified!, g), n.frameMs)),
      minThreshold: Math.max(MIN_THRESHOLD, inputs.floor, g),
    });
    gates.push({ gate: g, threshold: r.threshold, expectedFrr: r.expectedFrr, expectedFaPerHour: r.expectedFaPerHour, met: r.met });
    if (best === undefined || better(r, g, best.r, best.gate, v.modelGate)) best = { gate: g, r };
  }
  return { ...summary(best!.r), verifierGate: best!.gate, gates, recommendation: best!.r };
}

/** Meets the target, then misses fewer, then fires less, then is nearer the model's own gate. */
function better(a: ThresholdRecommendation, ga: number, b: ThresholdRecommendation, gb: number, modelGate: number): boolean {
  if (a.met !== b.met) return a.met;
  if (a.expectedFrr !== b.expectedFrr) return a.expectedFrr < b.expectedFrr;
  if (a.expectedFaPerHour !== b.expectedFaPerHour) return a.expectedFaPerHour < b.expectedFaPerHour;
  return Math.abs(ga - modelGate) < Math.abs(gb - modelGate);
}

function summary(r: ThresholdRecommendation): Omit<TunePlan, 'verifierGate' | 'gates' | 'recommendation'> {
  return {
    threshold: r.threshold,
    expectedFrr: r.expectedFrr,
    expectedFaPerHour: r.expectedFaPerHour,
    falseAccepts: r.falseAccepts,
    met: r.met,
    positives: r.positives,
    negativeHours: r.negativeHours,
  };
}
