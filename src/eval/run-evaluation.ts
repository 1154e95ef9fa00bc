/**
 * `earshot eval` without the command line: read the labelled directories, score each clip once per setup
 * (cached traces), judge every setup's operating threshold and the threshold sweep per word.
 */
import { join } from 'node:path';
import { EarshotError } from '../core/index.js';
import type { ModelManifest } from '../models/index.js';
import { loadWakeModels } from '../wakeword/index.js';
import { readNegatives, readPositives, type VoiceSplit } from './corpus-index.js';
import { rulesOf, scoringKey, thresholdOf, unverified, type EvalSetup } from './eval-setup.js';
import type { NegativeClip, PositiveClip } from './labelled-clip.js';
import { HIT_WINDOW_AFTER_END_MS } from './labelled-clip.js';
import { recommendThreshold, type ThresholdRecommendation } from './recommend-threshold.js';
import type { ScoreTrace } from './score-trace.js';
import { traceClips, type ClipTraces } from './trace-store.js';
import { evaluateWord, sweepWord, type ScoredNegative, type ScoredPositive, type SweepPoint, type WordEvaluation } from './word-evaluation.js';

export interface EvaluationRequest {
  words: string[];
  positivesDir: string;
  negativesDir: string;
  setups: EvalSetup[];
  manifest: ModelManifest;
  split?: VoiceSplit;
  cache?: boolean;
  /** With a target, each setup and word also gets a recommended threshold (recommendThreshold). */
  targetFaPerHour?: number;
  /** Lowest threshold the recommendation may give (default recommendThreshold's 0.05). */
  minThreshold?: number;
  /**
   * Progress of the scoring (setup name, clips done/total, audio ms scored or read from the cache; with
   * verifiers, how many clips took the unverified trace because no verifier was consulted on them).
   */
  onProgress?: (setup: string, what: 'positives' | 'negatives', done: number, total: number, audioMs: number, reused: number) => void;
  signal?: AbortSignal;
}

export interface SetupWordResult {
  setup: string;
  word: string;
  /** At the setup's operating threshold. */
  at: WordEvaluation;
  sweep: SweepPoint[];
  recommendation?: ThresholdRecommendation;
}

/** A setup as reported: its verifiers summarised (their weights are the owner's personal data and no use in a report). */
export type ReportedSetup = Omit<EvalSetup, 'verifiers'> & {
  verifiers?: Record<string, { gate: number; clips: number; cvRecall: number; trainedAt: number; sha256: string }>;
};

export function reportedSetup(setup: EvalSetup): ReportedSetup {
  const { verifiers, ...rest } = setup;
  if (verifiers === undefined) return rest;
  const hashes = scoringKey(setup).verifiers ?? {};
  const out: ReportedSetup = { ...rest, verifiers: {} };
  for (const [w, m] of Object.entries(verifiers)) out.verifiers![w] = { gate: m.gate, clips: m.clips, cvRecall: m.cvRecall, trainedAt: m.trainedAt, sha256: hashes[w]! };
  return out;
}

export interface EvaluationReport {
  words: string[];
  split: VoiceSplit;
  setups: ReportedSetup[];
  positives: Record<string, number>;
  generalHours: number;
  nearMissMinutes: number;
  results: SetupWordResult[];
}

/** The part of a positive trace where a hit counts: recommendThreshold then sees only the phrase. */
function phraseWindow(clip: PositiveClip, trace: ScoreTrace): ScoreTrace {
  if (clip.phraseStartMs === undefined && clip.phraseEndMs === undefined) return trace;
  const from = clip.phraseStartMs ?? 0;
  const to = clip.phraseEndMs === undefined ? Number.POSITIVE_INFINITY : clip.phraseEndMs + HIT_WINDOW_AFTER_END_MS;
  const idx: number[] = [];
  for (let i = 0; i < trace.endMs.length; i++) if (trace.endMs[i]! >= from && trace.endMs[i]! <= to) idx.push(i);
  return {
    endMs: idx.map((i) => trace.endMs[i]!),
    scores: idx.map((i) => trace.scores[i]!),
    ...(trace.eligible ? { eligible: idx.map((i) => trace.eligible![i] === true) } : {}),
  };
}

export async function runEvaluation(req: EvaluationRequest): Promise<EvaluationReport> {
  const split = req.split ?? 'all';
  if (req.words.length === 0) throw new EarshotError('BAD_ARGUMENT', 'at least one --wakeword is needed');
  if (req.setups.length === 0) throw new EarshotError('BAD_ARGUMENT', 'at least one --setup is needed');
  const names = req.setups.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new EarshotError('BAD_ARGUMENT', `setup names must differ (got ${names.join(', ')})`);
  const positives = await readPositives(req.positivesDir, req.words, split);
  const negatives = await readNegatives(req.negativesDir, split);
  for (const w of req.words) {
    if (!positives.some((p) => p.word === w)) throw new EarshotError('BAD_ARGUMENT', `no positive clips of ${w} in ${join(req.positivesDir)} (voices: ${split})`);
  }
  if (negatives.length === 0) throw new EarshotError('BAD_ARGUMENT', `no negative clips in ${req.negativesDir} (voices: ${split})`);
  const models = await loadWakeModels(req.manifest, req.words);

  // Setups that score the same way share traces (they differ only in thresholds, patience, refractory). A
  // verified setup first gets its unverified twin's traces (usually cached): clips on which no verifier is
  // consulted keep them, the rest are scored with the verifiers.
  const scored = new Map<string, { pos: ClipTraces[]; neg: ClipTraces[] }>();
  const traces = async (setup: EvalSetup, label: string): Promise<{ pos: ClipTraces[]; neg: ClipTraces[] }> => {
    const key = JSON.stringify(scoringKey(setup));
    const known = scored.get(key);
    if (known) return known;
    const base = setup.verifiers !== undefined ? await traces(unverified(setup), `${label} (without verifiers)`) : undefined;
    const common = { setup, words: req.words, manifest: req.manifest, models, ...(req.cache !== undefined ? { cache: req.cache } : {}), ...(req.signal ? { signal: req.signal } : {}) };
    const pos = await traceClips(positives.map((p) => p.file), {
      ...common,
      dir: req.positivesDir,
      ...(base ? { unverified: base.pos } : {}),
      onProgress: (d, t, ms, r) => req.onProgress?.(label, 'positives', d, t, ms, r),
    });
    const neg = await traceClips(negatives.map((n) => n.file), {
      ...common,
      dir: req.negativesDir,
      ...(base ? { unverified: base.neg } : {}),
      onProgress: (d, t, ms, r) => req.onProgress?.(label, 'negatives', d, t, ms, r),
    });
    const both = { pos, neg };
    scored.set(key, both);
    return both;
  };
  for (const setup of req.setups) await traces(setup, setup.name);

  const negClips: NegativeClip[] = negatives.map((n) => ({ ...n }));
  const results: SetupWordResult[] = [];
  for (const setup of req.setups) {
    const { pos, neg } = scored.get(JSON.stringify(scoringKey(setup)))!;
    neg.forEach((t, i) => {
      if (negClips[i]!.durationMs === 0) negClips[i]!.durationMs = t.durationMs;
    });
    const rules = rulesOf(setup);
    for (const word of req.words) {
      const p: ScoredPositive[] = [];
      positives.forEach((clip, i) => {
        if (clip.word === word && (setup.voice === undefined || clip.voiceId === setup.voice)) p.push({ clip, trace: pos[i]!.traces[word]! });
      });
      if (p.length === 0) {
        throw new EarshotError('BAD_ARGUMENT', `setup ${setup.name}: no positive clips of ${word} by voice ${setup.voice} in ${req.positivesDir} (voices: ${split})`);
      }
      const n: ScoredNegative[] = negClips.map((clip, i) => ({ clip, trace: neg[i]!.traces[word]! }));
      const result: SetupWordResult = {
        setup: setup.name,
        word,
        at: evaluateWord(word, thresholdOf(setup, word), p, n, rules),
        sweep: sweepWord(word, p, n, rules),
      };
      if (req.targetFaPerHour !== undefined) {
        const general = n.filter((x) => x.clip.kind === 'general');
        result.recommendation = recommendThreshold({
          positives: p.map((x) => phraseWindow(x.clip, x.trace)),
          negatives: general.map((x) => x.trace),
          negativeHours: general.reduce((s, x) => s + x.clip.durationMs, 0) / 3_600_000,
          targetFaPerHour: req.targetFaPerHour,
          ...(req.minThreshold !== undefined ? { minThreshold: req.minThreshold } : {}),
          rules,
        });
      }
      results.push(result);
    }
  }
  const generalMs = negClips.filter((c) => c.kind === 'general').reduce((s, c) => s + c.durationMs, 0);
  const nearMs = negClips.filter((c) => c.kind === 'nearmiss').reduce((s, c) => s + c.durationMs, 0);
  const counts: Record<string, number> = {};
  for (const w of req.words) counts[w] = positives.filter((p) => p.word === w).length;
  return { words: req.words, split, setups: req.setups.map(reportedSetup), positives: counts, generalHours: generalMs / 3_600_000, nearMissMinutes: nearMs / 60_000, results };
}

