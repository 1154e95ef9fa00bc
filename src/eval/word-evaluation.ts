/**
 * One word under one setup at one threshold, from stored traces: misses, false accepts on general audio,
 * near-miss fires, latency. Pure; every decision is the device's DetectorState (detections.ts).
 */
import { EarshotError } from '../core/index.js';
import { detectionsOfTrace, firingScore } from './detections.js';
import { HIT_WINDOW_AFTER_END_MS, type NegativeClip, type PositiveClip } from './labelled-clip.js';
import type { DecisionRules, ScoreTrace } from './score-trace.js';

export interface ScoredPositive {
  clip: PositiveClip;
  trace: ScoreTrace;
}
export interface ScoredNegative {
  clip: NegativeClip;
  trace: ScoreTrace;
}

export interface WordEvaluation {
  word: string;
  threshold: number;
  positives: number;
  missed: number;
  /** missed ÷ positives (0 when there are no positives). */
  frr: number;
  /** Per positive group (noise condition; voice): count and misses. */
  byNoise: Record<string, { positives: number; missed: number; frr: number }>;
  byVoice: Record<string, { positives: number; missed: number; frr: number }>;
  /** Detections on positive clips outside the phrase's window (the background before it, or long after). */
  positiveBackgroundFires: number;
  /** Detection time − phrase end, over hits with a labelled phrase (ms). */
  latencyMs: { median: number; p90: number; mean: number } | null;
  generalHours: number;
  generalFalseAccepts: number;
  faPerHour: number;
  nearMissMinutes: number;
  /** Fires of this word on every near-miss clip. */
  nearMissFires: number;
  /** …of which on near misses of this very word ("hey jar" for hey_jarvis). */
  nearMissFiresOwn: number;
  /** Near-miss fires per voice of the near miss (an enrolled owner's own voice is the hard case for a verifier). */
  nearMissFiresByVoice: Record<string, number>;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function evaluateWord(
  word: string,
  threshold: number,
  positives: readonly ScoredPositive[],
  negatives: readonly ScoredNegative[],
  rules: DecisionRules = {},
): WordEvaluation {
  if (!(threshold > 0 && threshold <= 1)) throw new EarshotError('BAD_ARGUMENT', `threshold must be in (0, 1] (got ${threshold})`);
  let missed = 0;
  let backgroundFires = 0;
  const latencies: number[] = [];
  const byNoise: WordEvaluation['byNoise'] = {};
  const byVoice: WordEvaluation['byVoice'] = {};
  for (const p of positives) {
    const hits = detectionsOfTrace(p.trace, threshold, rules);
    const start = p.clip.phraseStartMs ?? Number.NEGATIVE_INFINITY;
    const end = p.clip.phraseEndMs;
    const latest = end === undefined ? Number.POSITIVE_INFINITY : end + HIT_WINDOW_AFTER_END_MS;
    const hit = hits.find((d) => d.atMs >= start && d.atMs <= latest);
    backgroundFires += hits.filter((d) => d !== hit).length;
    const groups = [(byNoise[p.clip.noise ?? 'unlabelled'] ??= { positives: 0, missed: 0, frr: 0 }), (byVoice[p.clip.voiceId ?? 'unlabelled'] ??= { positives: 0, missed: 0, frr: 0 })];
    for (const g of groups) g.positives++;
    if (!hit) {
      missed++;
      for (const g of groups) g.missed++;
    } else if (end !== undefined) latencies.push(hit.atMs - end);
  }
  for (const g of [...Object.values(byNoise), ...Object.values(byVoice)]) g.frr = g.missed / g.positives;

  let generalMs = 0;
  let nearMs = 0;
  let falseAccepts = 0;
  let nearFires = 0;
  let nearOwn = 0;
  const nearByVoice: Record<string, number> = {};
  for (const n of negatives) {
    // Most negatives never reach the threshold: skip simulating them.
    const fires = firingScore(n.trace, rules) >= threshold ? detectionsOfTrace(n.trace, threshold, rules).length : 0;
    if (n.clip.kind === 'nearmiss') {
      nearMs += n.clip.durationMs;
      nearFires += fires;
      if (n.clip.near === word) nearOwn += fires;
      const v = n.clip.voiceId ?? 'unlabelled';
      nearByVoice[v] = (nearByVoice[v] ?? 0) + fires;
    } else {
      generalMs += n.clip.durationMs;
      falseAccepts += fires;
    }
  }
  latencies.sort((a, b) => a - b);
  const generalHours = generalMs / 3_600_000;
  return {
    word,
    threshold,
    positives: positives.length,
    missed,
    frr: positives.length === 0 ? 0 : missed / positives.length,
    byNoise,
    byVoice,
    positiveBackgroundFires: backgroundFires,
    latencyMs:
      latencies.length === 0
        ? null
        : { median: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), mean: latencies.reduce((s, x) => s + x, 0) / latencies.length },
    generalHours,
    generalFalseAccepts: falseAccepts,
    faPerHour: generalHours > 0 ? falseAccepts / generalHours : 0,
    nearMissMinutes: nearMs / 60_000,
    nearMissFires: nearFires,
    nearMissFiresOwn: nearOwn,
    nearMissFiresByVoice: nearByVoice,
  };
}

export interface SweepPoint {
  threshold: number;
  frr: number;
  faPerHour: number;
  nearMissFires: number;
  /** Near-miss fires per hour of near-miss audio (0 without near misses). */
  nearMissPerHour: number;
}

/** The evaluation at every grid threshold (default 0.01 … 0.99): the DET curve's points. */
export function sweepWord(
  word: string,
  positives: readonly ScoredPositive[],
  negatives: readonly ScoredNegative[],
  rules: DecisionRules = {},
  grid: readonly number[] = DEFAULT_GRID,
): SweepPoint[] {
  return grid.map((t) => {
    const e = evaluateWord(word, t, positives, negatives, rules);
    const nearMissPerHour = e.nearMissMinutes > 0 ? (e.nearMissFires * 60) / e.nearMissMinutes : 0;
    return { threshold: t, frr: e.frr, faPerHour: e.faPerHour, nearMissFires: e.nearMissFires, nearMissPerHour };
  });
}

export const DEFAULT_GRID: readonly number[] = Object.freeze(Array.from({ length: 99 }, (_, i) => (i + 1) / 100));
