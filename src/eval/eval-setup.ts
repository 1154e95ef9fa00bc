/**
 * The configurations compared by `earshot eval`: how clips are scored (phases, quiet gate, later the owner's
 * verifiers) and how scores become detections (threshold per word, patience, refractory).
 *
 *   reference  the faithful openWakeWord pipeline: 1 phase, no quiet gate, threshold 0.5, patience 1
 *   default    today's device defaults (config/defaults.ts and the wake-word defaults)
 *   NAME:key=value,…   a variant of `default` (or of `reference` with base=reference); keys: phases, quiet
 *              (off or an RMS), look (on, off or the second look's gate, 4 phases only), lookhold (its hold in
 *              frames), ns (speex noise suppression: off or its limit in dB), nsFloor (the noise floor at which
 *              it engages, dBFS, or always), threshold, patience, refractory, owner (an owner id, or none),
 *              voice (only that voice's positives count)
 *
 * An owner's setup carries that owner's household verifiers (and their own thresholds and gates, as the daemon
 * would apply them): the CLI opens them through the application layer and `withOwner` puts them on the setup.
 */
import { DEFAULT_CONFIG } from '../config/index.js';
import { EarshotError } from '../core/index.js';
import { createHash } from 'node:crypto';
import { encodeVerifierModel, type VerifierModel } from '../verifier/index.js';
import {
  DEFAULT_QUIET_RMS,
  DEFAULT_REFRACTORY_MS,
  DEFAULT_SECOND_LOOK_HOLD_CHUNKS,
  NOISE_FLOOR_DEFAULTS,
  NOISE_SUPPRESSION_DB_RANGE,
  SECOND_LOOK,
  SECOND_LOOK_PHASES,
  type SecondLookSettings,
} from '../wakeword/index.js';
import type { DecisionRules } from './score-trace.js';

export interface EvalSetup {
  name: string;
  /** Scoring: chunk phases (1 = reference grid) and quiet gate (null = never skip). */
  phases: number;
  quietRms: number | null;
  /** The second look (odd phases while a base score is at or above its gate; 4 phases only); absent = off. */
  secondLook?: Required<SecondLookSettings>;
  /** Speex noise suppression before the features: its limit in dB, 0 = off (src/wakeword/noise-suppressor.ts). */
  noiseSuppressionDb: number;
  /** The noise floor (RMS) at which it engages; 0 = always; absent = the device's (src/wakeword/noise-floor.ts). */
  noiseFloorRms?: number;
  /** Decisions: the operating threshold for every word, unless `wordThresholds` names the word. */
  threshold: number;
  wordThresholds: Record<string, number>;
  patienceFrames: number;
  refractoryMs: number;
  /**
   * Whose verifiers the setup runs with: an owner id (`owner=ID`), null for none (`owner=none`, which also
   * opts out of `--owner`), undefined when the spec does not say (then `eval --owner ID` applies).
   */
  owner?: string | null;
  /**
   * Only this voice's positives count for the setup (`voice=ID`, the index's voiceId): an owner's verifier is
   * measured on the owner's own voice. Negatives are not filtered (near misses and general audio by anyone).
   */
  voice?: string;
  /** Words whose threshold the spec set (`threshold=` sets them all: '*'); an owner's own threshold does not replace these. */
  explicitThresholds?: '*' | string[];
  /**
   * Household verifiers by word (issue 13 §3), each gate ≤ its word's threshold: a scoring option, passed to
   * WakeDetector.create and part of scoringKey(), so verified traces are cached apart from unverified ones.
   */
  verifiers?: Record<string, VerifierModel>;
}

export function referenceSetup(): EvalSetup {
  return { name: 'reference', phases: 1, quietRms: null, noiseSuppressionDb: 0, threshold: 0.5, wordThresholds: {}, patienceFrames: 1, refractoryMs: DEFAULT_REFRACTORY_MS };
}

export function defaultSetup(): EvalSetup {
  const wake = DEFAULT_CONFIG.wake;
  const wordThresholds: Record<string, number> = {};
  for (const w of wake.words) if (w.threshold !== undefined) wordThresholds[w.name] = w.threshold;
  return {
    name: 'default',
    phases: wake.phases,
    quietRms: DEFAULT_QUIET_RMS,
    noiseSuppressionDb: wake.noiseSuppressionDb,
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

export interface ScoringKey {
  phases: number;
  quietRms: number | null;
  /** Absent without the second look, so the traces of setups without it keep their key. */
  secondLook?: Required<SecondLookSettings>;
  /** Present only when on, so traces cached before noise suppression existed keep their key. */
  noiseSuppressionDb?: number;
  noiseFloorRms?: number;
  /** Per verified word: SHA-256 of the verifier's bytes (weights, scaling, gate). Absent without verifiers. */
  verifiers?: Record<string, string>;
}

/**
 * What scoring depends on (not thresholds, patience or refractory: those are judged on the stored traces). A
 * setup without verifiers has exactly the key it had before verifiers existed, so its cached traces stay valid.
 */
export function scoringKey(setup: EvalSetup): ScoringKey {
  const key: ScoringKey = { phases: setup.phases, quietRms: setup.quietRms };
  if (setup.secondLook) key.secondLook = { gate: setup.secondLook.gate, holdChunks: setup.secondLook.holdChunks };
  if (setup.noiseSuppressionDb > 0) {
    key.noiseSuppressionDb = setup.noiseSuppressionDb;
    key.noiseFloorRms = setup.noiseFloorRms ?? NOISE_FLOOR_DEFAULTS.engageRms;
  }
  const words = Object.keys(setup.verifiers ?? {}).sort();
  if (words.length > 0) {
    key.verifiers = {};
    for (const w of words) key.verifiers[w] = createHash('sha256').update(encodeVerifierModel(setup.verifiers![w]!)).digest('hex');
  }
  return key;
}

/** The same setup scored without its verifiers: its traces are the verified ones wherever no verifier is consulted. */
export function unverified(setup: EvalSetup): EvalSetup {
  const { verifiers: _, ...rest } = setup;
  return rest;
}

/** What the app layer gives for an owner: their verifiers, their own thresholds and gates, the fleet's floor. */
export interface OwnerWakeView {
  ownerId: string;
  verifiers: Record<string, VerifierModel>;
  thresholds: Record<string, number>;
  verifierGates: Record<string, number>;
  /** The fleet documents' floor for a word (0 = none): an owner's threshold never goes below it. */
  fleetFloor?: (word: string) => number;
}

/**
 * The setup as the daemon would run these words for that owner: each word at the owner's own threshold (never
 * below the fleet floor) unless the spec set it, and each enrolled word with the owner's verifier at their gate
 * (else the model's), never above the word's threshold.
 */
export function withOwner(setup: EvalSetup, words: readonly string[], owner: OwnerWakeView): EvalSetup {
  const out: EvalSetup = { ...setup, owner: owner.ownerId, wordThresholds: { ...setup.wordThresholds } };
  const explicit = setup.explicitThresholds;
  const verifiers: Record<string, VerifierModel> = {};
  for (const w of words) {
    const own = Object.hasOwn(owner.thresholds, w) ? owner.thresholds[w] : undefined;
    const fixed = explicit === '*' || (explicit ?? []).includes(w);
    if (own !== undefined && !fixed) out.wordThresholds[w] = Math.max(own, owner.fleetFloor?.(w) ?? 0);
    const m = Object.hasOwn(owner.verifiers, w) ? owner.verifiers[w]! : undefined;
    if (m === undefined) continue;
    const gate = Math.min(Object.hasOwn(owner.verifierGates, w) ? owner.verifierGates[w]! : m.gate, thresholdOf(out, w));
    verifiers[w] = gate === m.gate ? m : { ...m, gate };
  }
  if (Object.keys(verifiers).length > 0) out.verifiers = verifiers;
  else delete out.verifiers;
  return out;
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/i;
/** The shape of an owner id (the app checks it again when it opens the owner). */
const OWNER_ID = /^own-[0-9a-f]{16}$/;
const VOICE_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;

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
    else if (k === 'look') {
      if (v === 'off') delete setup.secondLook;
      else if (v === 'on') setup.secondLook = { ...SECOND_LOOK };
      else setup.secondLook = { gate: num(k, v, (x) => x >= 0 && x <= 1, "'on', 'off' or a gate in [0, 1]"), holdChunks: setup.secondLook?.holdChunks ?? DEFAULT_SECOND_LOOK_HOLD_CHUNKS };
    } else if (k === 'lookhold') {
      const hold = num(k, v, (x) => Number.isInteger(x) && x >= 1 && x <= 1000, 'a whole number of frames from 1 to 1000');
      if (!setup.secondLook) throw bad(spec, 'lookhold needs the second look (look=GATE before it, or a base that has one)');
      setup.secondLook = { ...setup.secondLook, holdChunks: hold };
    } else if (k === 'quiet') setup.quietRms = v === 'off' ? null : num(k, v, (x) => x > 0 && x < 32768, "'off' or an RMS in (0, 32768)");
    else if (k === 'nsFloor') setup.noiseFloorRms = v === 'always' ? 0 : 32768 * 10 ** (num(k, v, (x) => x >= -90 && x <= 0, "'always' or a level in dBFS from −90 to 0") / 20);
    else if (k === 'ns') {
      const { min, max } = NOISE_SUPPRESSION_DB_RANGE;
      setup.noiseSuppressionDb = v === 'off' ? 0 : num(k, v, (x) => Number.isInteger(x) && x >= min && x <= max, `'off' or a limit in dB, an integer from ${min} to ${max}`);
    }
    else if (k === 'threshold') {
      setup.threshold = num(k, v, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
      setup.wordThresholds = {};
      setup.explicitThresholds = '*';
    } else if (k.startsWith('threshold.')) {
      const word = k.slice('threshold.'.length);
      setup.wordThresholds[word] = num(k, v, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
      if (setup.explicitThresholds !== '*') setup.explicitThresholds = [...(setup.explicitThresholds ?? []), word];
    } else if (k === 'voice') {
      if (!VOICE_ID.test(v)) throw bad(spec, `voice must be a voice id from the positives' index (letters, digits, _ . -; got '${v}')`);
      setup.voice = v;
    } else if (k === 'owner') {
      if (v === 'none') setup.owner = null;
      else if (OWNER_ID.test(v)) setup.owner = v;
      else throw bad(spec, `owner must be an owner id (own- and 16 hex digits, earshot owners list) or none (got '${v}')`);
    }
    else if (k === 'patience') setup.patienceFrames = num(k, v, (x) => Number.isInteger(x) && x >= 1 && x <= 50, 'an integer from 1 to 50');
    else if (k === 'refractory') setup.refractoryMs = num(k, v, (x) => x >= 0 && x <= 60_000, 'ms from 0 to 60000');
    else throw bad(spec, `unknown key '${k}' (phases, quiet, look, lookhold, ns, nsFloor, threshold, threshold.WORD, patience, refractory, owner, voice, base)`);
  }
  if (setup.secondLook && setup.phases !== SECOND_LOOK_PHASES) {
    // The device's own rule for a default look: it completes 4 phases and does not apply to other counts.
    if (pairs.some(([k]) => k === 'look' || k === 'lookhold')) throw bad(spec, `look needs phases=${SECOND_LOOK_PHASES} (got ${setup.phases})`);
    delete setup.secondLook;
  }
  return setup;
}
