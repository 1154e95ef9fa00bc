/**
 * The verifier's training windows from audio (issue 13 §3): the classifier input windows around the peak of
 * an enrolment clip (positives), and the windows of background audio (negatives). Features only: the audio
 * is read once and nothing of it is kept.
 *
 * Enrolment follows openWakeWord's get_reference_clip_features, made deterministic: instead of random start
 * offsets the clip is scored from several fixed offsets (default 0, 20, 40, 60 ms: the detector's four
 * phases), and from each pass the windows of the frames around that pass's peak are kept whenever the base
 * score there reaches `minScore` (default the verifier's gate: those are the frames at which the detector
 * will consult the verifier).
 */
import { EarshotError, SAMPLE_RATE } from '../core/index.js';
import { DEFAULT_VERIFIER_GATE } from '../verifier/index.js';
import { EMBEDDING_DIM } from './constants.js';
import type { LoadedWakeModels } from './wake-detector.js';
import { withPinkNoise } from './pink-noise.js';
import { truncatedPhrase } from './partial-phrase.js';
import { WakeScorer } from './wake-scorer.js';

export interface EnrolmentFeatureOptions {
  /** Samples dropped from the start of the clip for each pass (default 0, 320, 640, 960: 0–60 ms). */
  offsets?: number[];
  /** Frames kept before a pass's peak (default DEFAULT_FRAMES_BEFORE_PEAK). */
  framesBefore?: number;
  /** Frames kept after a pass's peak (default DEFAULT_FRAMES_AFTER_PEAK). */
  framesAfter?: number;
  /** Base score a frame's window needs to be kept (default DEFAULT_VERIFIER_GATE). */
  minScore?: number;
  /**
   * The device's noise suppression (wake.noiseSuppressionDb; 0 or absent = off): enrolment hears a clip as the
   * detector will, so a noisy copy's windows are the suppressed ones the detector reads in a noisy room.
   */
  noiseSuppressionDb?: number;
}

export interface EnrolmentFeatures {
  /** Highest base score over every pass and warm frame (0 when the clip is too short to warm the classifier). */
  peakScore: number;
  /** Audio time of the peak frame's end in the clip as given, ms. */
  peakMs: number;
  windows: Float32Array[];
  /** The base score of each window's frame (same order as `windows`). */
  scores: number[];
}

export interface BackgroundFeatureOptions {
  /** Keep every n-th warm frame (default 1). */
  stride?: number;
  /** Keep at most this many windows (evenly spread; default no limit). */
  maxWindows?: number;
  /** As in EnrolmentFeatureOptions. */
  noiseSuppressionDb?: number;
}

const DEFAULT_OFFSETS = [0, 320, 640, 960];
/**
 * Few frames before the peak: there the classifier has heard only part of the phrase ("hey jar…"), and a
 * verifier taught to accept those windows accepts the near misses that sound like that part.
 */
export const DEFAULT_FRAMES_BEFORE_PEAK = 1;
export const DEFAULT_FRAMES_AFTER_PEAK = 3;

function wordIndex(models: LoadedWakeModels, word: string): number {
  const i = models.classifiers.findIndex((c) => c.name === word);
  if (i < 0) throw new EarshotError('BAD_ARGUMENT', `no classifier loaded for ${word} (loaded: ${models.classifiers.map((c) => c.name).join(', ')})`);
  return i;
}

interface Pass {
  frames: { endMs: number; score: number; warm: boolean; window: Float32Array | undefined }[];
}

/** One pass with a fresh single-phase scorer; a window is copied only for warm frames with `keep(score)`. */
async function scorePass(scorer: WakeScorer, w: number, pcm: Int16Array, keep: (score: number, frameIndex: number) => boolean): Promise<Pass> {
  scorer.reset();
  const dim = scorer.windowOf(w) * EMBEDDING_DIM;
  const frames: Pass['frames'] = [];
  await scorer.feed(pcm, (f) => {
    const score = f.scores[w]!;
    const warm = f.warm[w] === true;
    let window: Float32Array | undefined;
    if (warm && keep(score, frames.length)) {
      window = new Float32Array(dim);
      scorer.copyWindow(w, 0, window);
    }
    frames.push({ endMs: f.endMs, score, warm, window });
  });
  return { frames };
}

async function singlePhaseScorer(models: LoadedWakeModels, w: number, noiseSuppressionDb: number | undefined): Promise<WakeScorer> {
  // No quiet gate: enrolment must see the clip exactly as it is, whatever its level.
  return WakeScorer.create(models.features, [models.classifiers[w]!], { phases: 1, ...(noiseSuppressionDb ? { noiseSuppressionDb } : {}) });
}

export async function featuresOfEnrolmentClip(models: LoadedWakeModels, pcm16k: Int16Array, word: string, opts: EnrolmentFeatureOptions = {}): Promise<EnrolmentFeatures> {
  const w = wordIndex(models, word);
  const offsets = opts.offsets ?? DEFAULT_OFFSETS;
  const before = opts.framesBefore ?? DEFAULT_FRAMES_BEFORE_PEAK;
  const after = opts.framesAfter ?? DEFAULT_FRAMES_AFTER_PEAK;
  const minScore = opts.minScore ?? DEFAULT_VERIFIER_GATE;
  if (offsets.length === 0 || offsets.some((o) => !Number.isInteger(o) || o < 0 || o >= pcm16k.length)) {
    throw new EarshotError('BAD_ARGUMENT', 'enrolment offsets must be whole sample counts shorter than the clip');
  }
  if (!Number.isInteger(before) || before < 0 || !Number.isInteger(after) || after < 0) {
    throw new EarshotError('BAD_ARGUMENT', 'framesBefore and framesAfter must be integers ≥ 0');
  }
  const scorer = await singlePhaseScorer(models, w, opts.noiseSuppressionDb);
  let peakScore = 0;
  let peakMs = 0;
  const windows: Float32Array[] = [];
  const scores: number[] = [];
  for (const offset of offsets) {
    const pass = await scorePass(scorer, 0, pcm16k.subarray(offset), (score) => score >= minScore);
    let peak = -1;
    pass.frames.forEach((f, i) => {
      if (f.warm && (peak < 0 || f.score > pass.frames[peak]!.score)) peak = i;
    });
    if (peak < 0) continue;
    const top = pass.frames[peak]!;
    if (top.score > peakScore) {
      peakScore = top.score;
      peakMs = top.endMs + (offset * 1000) / SAMPLE_RATE;
    }
    for (let i = Math.max(0, peak - before); i <= Math.min(pass.frames.length - 1, peak + after); i++) {
      const f = pass.frames[i]!;
      if (f.window) {
        windows.push(f.window);
        scores.push(f.score);
      }
    }
  }
  return { peakScore, peakMs, windows, scores };
}

export async function featuresOfBackground(models: LoadedWakeModels, pcm16k: Int16Array, word: string, opts: BackgroundFeatureOptions = {}): Promise<Float32Array[]> {
  const w = wordIndex(models, word);
  const stride = opts.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new EarshotError('BAD_ARGUMENT', 'stride must be an integer ≥ 1');
  const scorer = await singlePhaseScorer(models, w, opts.noiseSuppressionDb);
  const pass = await scorePass(scorer, 0, pcm16k, (_score, i) => i % stride === 0);
  const all = pass.frames.flatMap((f) => (f.window ? [f.window] : []));
  const max = opts.maxWindows;
  if (max === undefined || all.length <= max) return all;
  if (!Number.isInteger(max) || max < 1) throw new EarshotError('BAD_ARGUMENT', 'maxWindows must be an integer ≥ 1');
  return Array.from({ length: max }, (_, k) => all[Math.floor((k * all.length) / max)]!);
}

/**
 * Pink-noise copies of each enrolment clip (issue 13): enrolment clips are usually quiet-room recordings, and a
 * verifier that learnt only the clean voice rejects it in noise. Measured on the tuning voices and confirmed on
 * the held-out ones (scripts/verifier-defaults-corpus.mjs --augment, README "Wake-word accuracy"): copies at
 * 20 and 10 dB SNR cut own-voice misses on held-out voices from 14 to 4 of 108.
 */
export const DEFAULT_NOISY_COPY_SNRS_DB: readonly number[] = [20, 10];

/**
 * The seed of a clip's noisy copies: the study's (1000 × clip number from 1, + 7 × the word's length; copy j adds
 * j), so enrolment makes exactly the copies the measurement trained on. Any fixed seed would do; this one was measured.
 */
export function noisyCopySeed(clipIndex: number, word: string): number {
  return 1000 * (clipIndex + 1) + 7 * word.length;
}

export interface NoisyCopyOptions extends EnrolmentFeatureOptions {
  /** SNRs (dB below the clip's active speech level) of the pink-noise copies; empty: the clip alone. */
  snrDb: readonly number[];
  /** Seed of the first copy's noise; copy j uses seed + j (see noisyCopySeed). */
  seed: number;
}

export interface EnrolmentFeaturesWithCopies extends EnrolmentFeatures {
  /** The first `cleanWindows` of `windows` are the clip's own, the rest its copies', in the order of `copies`. */
  cleanWindows: number;
  copies: { snrDb: number; peakScore: number; windows: number }[];
}

/**
 * The clip's enrolment features and those of its pink-noise copies, as one clip's windows: leave-one-clip-out
 * then leaves a clip and its copies out together. Peak score and time are the clip's own (the copies do not
 * decide whether the clip contains the word). The copies exist only in memory, during this call.
 */
export async function featuresOfEnrolmentClipWithNoisyCopies(models: LoadedWakeModels, pcm16k: Int16Array, word: string, opts: NoisyCopyOptions): Promise<EnrolmentFeaturesWithCopies> {
  const { snrDb, seed, ...featureOpts } = opts;
  if (!Number.isInteger(seed)) throw new EarshotError('BAD_ARGUMENT', 'the noisy copies\' seed must be an integer');
  const clean = await featuresOfEnrolmentClip(models, pcm16k, word, featureOpts);
  const windows = [...clean.windows];
  const scores = [...clean.scores];
  const copies: EnrolmentFeaturesWithCopies['copies'] = [];
  for (const [j, snr] of snrDb.entries()) {
    const copy = await featuresOfEnrolmentClip(models, withPinkNoise(pcm16k, snr, seed + j), word, featureOpts);
    windows.push(...copy.windows);
    scores.push(...copy.scores);
    copies.push({ snrDb: snr, peakScore: copy.peakScore, windows: copy.windows.length });
  }
  return { peakScore: clean.peakScore, peakMs: clean.peakMs, windows, scores, cleanWindows: clean.windows.length, copies };
}

/**
 * Where enrolment cuts each clip's phrase for its partial-phrase negatives (fractions of the voiced span), and
 * which frames after the cut it keeps (base score ≥ this; 0: every warm frame). Chosen on the tuning voices only
 * (scripts/verifier-defaults-corpus.mjs --configs; /work/notes/README-verifier2.md has the table): over 26
 * enrolled (voice, word) pairs, near-miss fires 60 → 54 at the same 20 of 312 own-voice misses and no false
 * accept on 40 min of general audio. Cut points 0.3, 0.5, 0.7 or several together did less (56–59); keeping only
 * frames at the gate did less too (the owner's "hey j…" rarely reaches it, yet teaches the most); 0.8 cost misses.
 */
export const DEFAULT_PARTIAL_PHRASE_FRACTIONS: readonly number[] = [0.4];
export const DEFAULT_PARTIAL_PHRASE_MIN_SCORE = 0;

export interface PartialPhraseOptions {
  /** Where each copy cuts the phrase, as fractions of its voiced span (see truncatedPhrase). */
  fractions: readonly number[];
  /** Samples dropped from the start of each copy for each pass (default the enrolment offsets). */
  offsets?: number[];
  /** Base score a frame's window needs to be kept (default DEFAULT_PARTIAL_PHRASE_MIN_SCORE). */
  minScore?: number;
  /**
   * The phrase ends before this audio time, ms (enrolment gives the clip's peak, EnrolmentFeatures.peakMs: the
   * base model has heard the word by then; speech after it is not part of the phrase). Default: the whole clip.
   */
  phraseBeforeMs?: number;
  /** As in EnrolmentFeatureOptions. */
  noiseSuppressionDb?: number;
}

export interface PartialPhraseFeatures {
  /** Negative windows: every warm frame after the cut whose base score reaches minScore, over all copies and passes (from each of the enrolment offsets). */
  windows: Float32Array[];
  /** The base score of each window's frame (same order). */
  scores: number[];
  copies: { fraction: number; peakScore: number; windows: number }[];
}

/**
 * Negatives from the owner's own enrolment clip (issue 13 §6): the windows of the detector's frames after the cut
 * in copies of the clip cut part-way through its phrase (src/wakeword/partial-phrase.ts) — the owner saying only
 * part of the word. By default every such frame, whether or not its base score reaches the gate (the owner's
 * "hey j…" rarely does, yet it is what the verifier must learn apart from the word). Frames before the cut are
 * the clip's own and are left out (some of them may be positives). The copies exist only during this call.
 */
export async function featuresOfPartialPhrases(models: LoadedWakeModels, pcm16k: Int16Array, word: string, opts: PartialPhraseOptions): Promise<PartialPhraseFeatures> {
  const w = wordIndex(models, word);
  const offsets = opts.offsets ?? DEFAULT_OFFSETS;
  const minScore = opts.minScore ?? DEFAULT_PARTIAL_PHRASE_MIN_SCORE;
  if (offsets.length === 0 || offsets.some((o) => !Number.isInteger(o) || o < 0 || o >= pcm16k.length)) {
    throw new EarshotError('BAD_ARGUMENT', 'enrolment offsets must be whole sample counts shorter than the clip');
  }
  const scorer = await singlePhaseScorer(models, w, opts.noiseSuppressionDb);
  const windows: Float32Array[] = [];
  const scores: number[] = [];
  const copies: PartialPhraseFeatures['copies'] = [];
  for (const fraction of opts.fractions) {
    const t = truncatedPhrase(pcm16k, fraction, opts.phraseBeforeMs === undefined ? pcm16k.length : Math.round((opts.phraseBeforeMs * SAMPLE_RATE) / 1000));
    if (t === undefined) continue;
    let peakScore = 0;
    let kept = 0;
    for (const offset of offsets) {
      const cutMs = ((t.cut - offset) * 1000) / SAMPLE_RATE;
      const pass = await scorePass(scorer, 0, t.pcm.subarray(offset), (score) => score >= minScore);
      for (const f of pass.frames) {
        if (!f.warm || f.endMs <= cutMs) continue;
        peakScore = Math.max(peakScore, f.score);
        if (f.window) {
          windows.push(f.window);
          scores.push(f.score);
          kept++;
        }
      }
    }
    copies.push({ fraction, peakScore, windows: kept });
  }
  return { windows, scores, copies };
}
