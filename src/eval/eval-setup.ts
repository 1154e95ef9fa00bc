/**
 * The configurations compared by `earshot eval`: how clips are scored (phases, quiet gate, later the owner's
 * verifiers) and how scores become detections (threshold per word, patience, refractory).
 *
 *   reference  the faithful openWakeWord pipeline: 1 phase, no quiet gate, threshold 0.5, patience 1
 *   default    today's device defaults (config/defaults.ts and the wake-word defaults)
 *   NAME:key=value,…   a variant of `default` (or of `reference` with base=reference); keys: phases, quiet
 *              (off or an RMS), threshold, patience, refractory
 */
import { DEFAULT_CONFIG } from '../config/index.js';
import { EarshotError } from '../core/index.js';
import { DEFAULT_QUIET_RMS, DEFAULT_REFRACTORY_MS } from '../wakeword/index.js';
import type { DecisionRules } from './score-trace.js';

export interface EvalSetup {
  name: string;
  /** Scoring: chunk phases (1 = reference grid) and quiet gate (null = never skip). */
  phases: number;
  quietRms: number | null;
  /** Decisions: the operating threshold for every word, unless `wordThresholds` names the word. */
  threshold: number;
  wordThresholds: Record<string, number>;
  patienceFrames: number;
  refractoryMs: number;
  // Verifiers (issue 13 §3) join here as a scoring option: `verifiers?: Record<word, VerifierModel>`, passed on
  // to WakeDetector.create and part of scoringKey(), so verified traces are cached apart from unverified ones.
}

export function referenceSetup(): EvalSetup {
  return { name: 'reference', phases: 1, quietRms: null, threshold: 0.5, wordThresholds: {}, patienceFrames: 1, refractoryMs: DEFAULT_REFRACTORY_MS };
}

export function defaultSetup(): EvalSetup {
  const wake = DEFAULT_CONFIG.wake;
  const wordThresholds: Record<string, number> = {};
  for (const w of wake.words) if (w.threshold !== undefined) wordThresholds[w.name] = w.threshold;
  return {
    name: 'default',
    phases: wake.phases,
    quietRms: DEFAULT_QUIET_RMS,
    threshold: wake.threshold,
    wordThresholds,
    patienceFrames: wake.patienceFrames,
    refractoryMs: wake.refractoryMs,
  };
}

export function thresholdOf(setup: EvalSetup, word: string): number {
  return setup.wordThresholds[word] ?? setup.threshold;
}

export function rulesOf(setup: EvalSetup): DecisionRules {
  return { patienceFrames: setup.patienceFrames, refractoryMs: setup.refractoryMs };
}

/** What scoring depends on (not thresholds, patience or refractory: those are judged on the stored traces). */
export function scoringKey(setup: EvalSetup): { phases: number; quietRms: number | null } {
  return { phases: setup.phases, quietRms: setup.quietRms };
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/i;

function bad(spec: string, why: string): EarshotError {
  return new EarshotError('BAD_ARGUMENT', `--setup '${spec}': ${why}`);
}

/** Parses `reference`, `default` or `NAME:key=value,…`. */
export function parseSetup(spec: string): EvalSetup {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  if (!NAME.test(name)) throw bad(spec, 'the name must be 1–32 letters, digits, _ . -');
  if (colon < 0) {
    if (name === 'reference') return referenceSetup();
    if (name === 'default') return defaultSetup();
    throw bad(spec, "unknown setup (use reference, default, or NAME:key=value,… e.g. 'p2:phases=2')");
  }
  const pairs = spec
    .slice(colon + 1)
    .split(',')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq < 1) throw bad(spec, `'${p}' is not key=value`);
      return [p.slice(0, eq), p.slice(eq + 1)] as const;
    });
  const base = pairs.find(([k]) => k === 'base')?.[1] ?? 'default';
  if (base !== 'default' && base !== 'reference') throw bad(spec, `base must be default or reference (got '${base}')`);
  const setup = { ...(base === 'reference' ? referenceSetup() : defaultSetup()), name };
  setup.wordThresholds = { ...setup.wordThresholds };
  const num = (k: string, v: string, ok: (x: number) => boolean, what: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || !ok(x)) throw bad(spec, `${k} must be ${what} (got '${v}')`);
    return x;
  };
  for (const [k, v] of pairs) {
    if (k === 'base') continue;
    else if (k === 'phases') setup.phases = num(k, v, (x) => Number.isInteger(x) && x >= 1 && x <= 8, 'an integer from 1 to 8');
    else if (k === 'quiet') setup.quietRms = v === 'off' ? null : num(k, v, (x) => x > 0 && x < 32768, "'off' or an RMS in (0, 32768)");
    else if (k === 'threshold') {
      setup.threshold = num(k, v, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
      setup.wordThresholds = {};
    } else if (k.startsWith('threshold.')) setup.wordThresholds[k.slice('threshold.'.length)] = num(k, v, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
    else if (k === 'patience') setup.patienceFrames = num(k, v, (x) => Number.isInteger(x) && x >= 1 && x <= 50, 'an integer from 1 to 50');
    else if (k === 'refractory') setup.refractoryMs = num(k, v, (x) => x >= 0 && x <= 60_000, 'ms from 0 to 60000');
    else throw bad(spec, `unknown key '${k}' (phases, quiet, threshold, threshold.WORD, patience, refractory, base)`);
  }
  return setup;
}
