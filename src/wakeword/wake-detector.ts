/**
 * The wake-word detector: verified models → WakeScorer (features + classifiers) → DetectorState (decisions),
 * with the optional Silero VAD gate. Feed Int16Array chunks of any size, in order, one call at a time.
 */
import { EarshotError } from '../core/index.js';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../core/index.js';
import type { DeviceConfig, WakeWordConfig } from '../config/index.js';
import { SileroVad, VAD_CHUNK_SAMPLES } from '../vad/index.js';
import { DetectorState, type WakeDetection } from './detector-state.js';
import type { FeatureModels } from './feature-stream.js';
import { DEFAULT_MANIFEST, loadManifest, modelOfKind, type ModelManifest } from '../models/index.js';
import { openClassifier, openModel, type Classifier, type Session } from './onnx-sessions.js';
import { WakeScorer, type ScoreFrame } from './wake-scorer.js';
import { DEFAULT_SECOND_LOOK_HOLD_CHUNKS, type SecondLookSettings } from './second-look-gate.js';
import type { NoiseFloorOptions } from './noise-floor.js';
import { EMBEDDING_DIM } from './constants.js';
import { loadMelSpectrogram } from './mel-spectrogram.js';
import type { FftMelSpectrogram } from './fft-mel-spectrogram.js';
import { checkVerifierModel, verifierProbability, type VerifierModel } from '../verifier/index.js';

export const DEFAULT_THRESHOLD = 0.5;
/**
 * Default phases: 4 (the reference grid and the grid shifted by 20, 40 and 60 ms). The 4-phase streaming model
 * (models/embedding_streaming_4phases.onnx) yields all four phases' embeddings in one step that shares the
 * layers they have in common, and the batched classifiers score the four windows in one call, so 4 phases
 * cost little more than 1 and buy the most robustness per millisecond (test/fixtures/MEASUREMENTS.md §1, §4
 * and §8). The device config default (config/defaults.ts) holds the same value; detect.test.ts keeps them equal.
 */
export const DEFAULT_PHASES = 4;
/**
 * The second look's settings (src/wakeword/second-look.ts) when it is on: the other 4 of 8 phases are scored
 * while some word's base score is ≥ 0.1 (the verifier's default gate too) and for 2 s after. Chosen on the
 * tuning voices (gates 0.05–0.2 and holds of 5–25 frames give the 8-phase loop's detections there). Off by
 * default: like 8 phases it fires on the committed scenario's near miss "hey travis" (0.92), see the README.
 */
export const SECOND_LOOK: Required<SecondLookSettings> = { gate: 0.1, holdChunks: DEFAULT_SECOND_LOOK_HOLD_CHUNKS };
/** Default quiet gate: about −55 dBFS. Quieter audio cannot carry a wake word to a far-field microphone. */
export const DEFAULT_QUIET_RMS = 58;
const VAD_SPEECH_PROBABILITY = 0.5;

export interface WakeDetectorOptions {
  /** Names from models/manifest.json, optionally with their own threshold. */
  words: (string | WakeWordConfig)[];
  threshold?: number;
  patienceFrames?: number;
  refractoryMs?: number;
  phases?: number;
  vadGate?: boolean;
  /** RMS (int16 units) below which classifiers are skipped; null = never skip. Default DEFAULT_QUIET_RMS. */
  quietRms?: number | null;
  /**
   * The second look (src/wakeword/second-look.ts): with 4 phases, also score the other 4 of 8 phases while a
   * base score is at or above the gate (SECOND_LOOK: the measured settings). Needs 4 phases and the 4-phase
   * streaming model. Default off (null or absent).
   */
  secondLook?: SecondLookSettings | null;
  /** Speex noise suppression before the features: the most it attenuates noise, dB; 0 or absent = off. */
  noiseSuppressionDb?: number;
  /** When that suppression engages (default: a noise floor of about −50 dBFS; engageRms 0 = always). */
  noiseFloor?: NoiseFloorOptions;
  /** A loaded manifest or the path of one (default models/manifest.json). */
  manifest?: ModelManifest | string;
  /** Already verified and opened models for these words (shared between detectors; skips loading). */
  models?: LoadedWakeModels;
  /**
   * Household verifiers by wake word (issue 13 §3): when a word's base score reaches the verifier's gate, the
   * verifier's probability on the best phase's window becomes that frame's score (and is held against the
   * word's threshold); below the gate the base score stands. Each gate must be ≤ its word's threshold.
   */
  verifiers?: Record<string, VerifierModel>;
}

/** What `push`'s onFrame sees: the scorer's frame with the verifiers applied. */
export interface DetectorFrame extends ScoreFrame {
  /** Per word: the score that decides (the verifier's where it was consulted, else the base score). */
  scores: Float32Array;
  /** Per word: the base model's score. */
  baseScores: Float32Array;
  /** Per word: a verifier decided this frame's score. */
  verified: boolean[];
}

export interface LoadedWakeModels {
  features: FeatureModels;
  classifiers: Classifier[];
}

/**
 * Verifies the mel model and reads it into its FFT form; verifies and opens the streaming embedding model, the
 * multi-phase streaming model for `phases` when the manifest has one, and one classifier per word with its
 * batched form (in parallel). The window embedding model is not loaded: it is only the streaming models' source
 * and the tests' oracle; nor is the mel model's ONNX session (the oracle of its FFT form).
 */
export async function loadWakeModels(manifest: ModelManifest, words: string[], phases: number = DEFAULT_PHASES): Promise<LoadedWakeModels> {
  // The multi-phase embedding model for this phase count, when the manifest has one (4 phases: the default).
  const phasedEntry = manifest.models.find((m) => m.kind === 'embedding-phases' && m.derivedFrom?.phases === phases);
  const [mel, embedding, phased, ...classifiers] = await Promise.all([
    loadMelSpectrogram(manifest),
    openModel(manifest, modelOfKind(manifest, 'embedding-stream')),
    phasedEntry ? openModel(manifest, phasedEntry) : undefined,
    ...words.map((w) => openClassifier(manifest, w)),
  ]);
  return {
    features: { mel: mel as FftMelSpectrogram, embedding: embedding as Session, ...(phased ? { phased: [{ phases, session: phased as Session }] } : {}) },
    classifiers: classifiers as Classifier[],
  };
}

export async function resolveManifest(m: ModelManifest | string | undefined): Promise<ModelManifest> {
  return typeof m === 'object' ? m : loadManifest(m ?? DEFAULT_MANIFEST);
}

/** Each verifier must belong to one of the words, fit its classifier's window and gate below its threshold. */
function checkVerifiers(
  verifiers: Record<string, VerifierModel> | undefined,
  names: string[],
  thresholds: number[],
  classifiers: Classifier[],
): (VerifierModel | undefined)[] {
  if (verifiers === undefined) return names.map(() => undefined);
  for (const word of Object.keys(verifiers)) {
    if (!names.includes(word)) throw new EarshotError('BAD_ARGUMENT', `a verifier is given for ${word}, which is not one of the wake words (${names.join(', ')})`);
  }
  return names.map((name, i) => {
    const v = Object.hasOwn(verifiers, name) ? verifiers[name] : undefined;
    if (v === undefined) return undefined;
    checkVerifierModel(v);
    if (v.wakeword !== name) throw new EarshotError('BAD_ARGUMENT', `the verifier given for ${name} was trained for ${v.wakeword}`);
    const dim = classifiers[i]!.window * EMBEDDING_DIM;
    if (v.featureDim !== dim) throw new EarshotError('BAD_ARGUMENT', `the verifier for ${name} reads ${v.featureDim} features, its classifier window has ${dim}`);
    if (v.gate > thresholds[i]!) {
      throw new EarshotError('BAD_ARGUMENT', `the verifier gate for ${name} (${v.gate}) must not be above its threshold (${thresholds[i]})`);
    }
    return v;
  });
}

export class WakeDetector {
  private readonly vadCarry = new Int16Array(VAD_CHUNK_SAMPLES);
  private vadCarryLength = 0;
  private vadSamples = 0;
  private busy = false;
  private readonly frame: DetectorFrame;
  /** The best phase's window of the current frame, per word (reused). */
  private readonly windows: Float32Array[];

  private constructor(
    readonly scorer: WakeScorer,
    readonly state: DetectorState,
    private readonly vad: SileroVad | undefined,
    /** Per word (same order as `words`): its verifier, if any. */
    private readonly verifiers: (VerifierModel | undefined)[],
  ) {
    const n = scorer.words.length;
    this.frame = {
      index: 0,
      endMs: 0,
      scores: new Float32Array(n),
      warm: [],
      gated: [],
      bestPhase: new Int8Array(n),
      secondLook: false,
      baseScores: new Float32Array(n),
      verified: new Array<boolean>(n).fill(false),
    };
    this.windows = scorer.words.map((_, w) => new Float32Array(scorer.windowOf(w) * EMBEDDING_DIM));
  }

  static async create(opts: WakeDetectorOptions): Promise<WakeDetector> {
    const words = opts.words.map((w) => (typeof w === 'string' ? { name: w } : w));
    if (words.length === 0) throw new EarshotError('BAD_ARGUMENT', 'at least one wake word is needed');
    const manifest = await resolveManifest(opts.manifest);
    const names = words.map((w) => w.name);
    if (opts.models && opts.models.classifiers.map((c) => c.name).join() !== names.join()) {
      throw new EarshotError('BAD_ARGUMENT', 'the preloaded models do not match the wake words');
    }
    const [models, vad] = await Promise.all([
      opts.models ?? loadWakeModels(manifest, names, opts.phases ?? DEFAULT_PHASES),
      opts.vadGate ? SileroVad.create(manifest) : Promise.resolve(undefined),
    ]);
    const quietRms = opts.quietRms === undefined ? DEFAULT_QUIET_RMS : opts.quietRms ?? undefined;
    const secondLook = opts.secondLook ?? undefined;
    const scorer = await WakeScorer.create(models.features, models.classifiers, {
      phases: opts.phases ?? DEFAULT_PHASES,
      ...(quietRms !== undefined ? { quietRms } : {}),
      ...(secondLook !== undefined ? { secondLook } : {}),
      ...(opts.noiseSuppressionDb ? { noiseSuppressionDb: opts.noiseSuppressionDb, ...(opts.noiseFloor ? { noiseFloor: opts.noiseFloor } : {}) } : {}),
    });
    const thresholds = words.map((w) => w.threshold ?? opts.threshold ?? DEFAULT_THRESHOLD);
    const verifiers = checkVerifiers(opts.verifiers, names, thresholds, models.classifiers);
    const state = new DetectorState({
      words: words.map((w, i) => ({ name: w.name, threshold: thresholds[i]! })),
      ...(opts.patienceFrames !== undefined ? { patienceFrames: opts.patienceFrames } : {}),
      ...(opts.refractoryMs !== undefined ? { refractoryMs: opts.refractoryMs } : {}),
      vadGate: opts.vadGate ?? false,
    });
    return new WakeDetector(scorer, state, vad, verifiers);
  }

  /** From the device config's `wake` section (words, thresholds, patience, refractory, phases, VAD gate, noise suppression). */
  static fromConfig(wake: DeviceConfig['wake'], extra: Pick<WakeDetectorOptions, 'manifest' | 'quietRms' | 'models' | 'verifiers'> = {}): Promise<WakeDetector> {
    return WakeDetector.create({
      words: wake.words,
      threshold: wake.threshold,
      patienceFrames: wake.patienceFrames,
      refractoryMs: wake.refractoryMs,
      phases: wake.phases,
      vadGate: wake.vadGate,
      noiseSuppressionDb: wake.noiseSuppressionDb,
      ...extra,
    });
  }

  get words(): string[] {
    return this.scorer.words;
  }

  /**
   * Feeds samples; resolves with the detections of the frames they completed. `onFrame` sees every frame's
   * scores (the object is reused). Calls must not overlap: WakeLoop serialises them.
   */
  async push(samples: Int16Array, onFrame?: (frame: DetectorFrame) => void): Promise<WakeDetection[]> {
    if (this.busy) throw new EarshotError('INTERNAL', 'WakeDetector.push called again before the previous call finished');
    this.busy = true;
    const found: WakeDetection[] = [];
    const handle = (scored: ScoreFrame): void => {
      const frame = this.verify(scored);
      onFrame?.(frame);
      for (const d of this.state.onFrame(frame)) found.push(this.describe(d, frame));
    };
    try {
      if (!this.vad) {
        await this.scorer.feed(samples, handle);
      } else {
        // Keep the VAD exactly level with the scorer: each piece ends at most at the next frame boundary.
        let pos = 0;
        while (pos < samples.length) {
          const n = Math.min(samples.length - pos, FRAME_SAMPLES - this.scorer.pendingSamples);
          const piece = samples.subarray(pos, pos + n);
          await this.feedVad(piece);
          await this.scorer.feed(piece, handle);
          pos += n;
        }
      }
    } finally {
      this.busy = false;
    }
    return found;
  }

  /** Applies the verifier rule to the scorer's frame. */
  private verify(scored: ScoreFrame): DetectorFrame {
    const f = this.frame;
    f.index = scored.index;
    f.endMs = scored.endMs;
    f.warm = scored.warm;
    f.gated = scored.gated;
    f.bestPhase = scored.bestPhase;
    f.secondLook = scored.secondLook;
    for (let w = 0; w < f.scores.length; w++) {
      const base = scored.scores[w]!;
      f.baseScores[w] = base;
      const v = this.verifiers[w];
      // A frame that is not warm never counts, so its verifier call would be wasted.
      if (v !== undefined && base >= v.gate && !scored.gated[w] && scored.warm[w]) {
        this.scorer.copyWindow(w, scored.bestPhase[w]!, this.windows[w]!);
        f.scores[w] = verifierProbability(v, this.windows[w]!);
        f.verified[w] = true;
      } else {
        f.scores[w] = base;
        f.verified[w] = false;
      }
    }
    return f;
  }

  /** A detection with its base score and a copy of the detecting frame's window (for a later "not meant for me"). */
  private describe(d: WakeDetection, frame: DetectorFrame): WakeDetection {
    const w = this.scorer.words.indexOf(d.wakeword);
    if (w < 0 || frame.gated[w]) return d;
    const features = new Float32Array(this.windows[w]!.length);
    this.scorer.copyWindow(w, frame.bestPhase[w]!, features);
    return { ...d, baseScore: frame.baseScores[w]!, features };
  }

  private async feedVad(piece: Int16Array): Promise<void> {
    let pos = 0;
    while (pos < piece.length) {
      const take = Math.min(VAD_CHUNK_SAMPLES - this.vadCarryLength, piece.length - pos);
      this.vadCarry.set(piece.subarray(pos, pos + take), this.vadCarryLength);
      this.vadCarryLength += take;
      pos += take;
      this.vadSamples += take;
      if (this.vadCarryLength === VAD_CHUNK_SAMPLES) {
        this.vadCarryLength = 0;
        const p = await this.vad!.process(this.vadCarry);
        if (p >= VAD_SPEECH_PROBABILITY) this.state.noteSpeech((this.vadSamples * 1000) / SAMPLE_RATE);
      }
    }
  }

  /** Forget everything heard (a new stream starts at 0 ms). */
  reset(): void {
    this.scorer.reset();
    this.state.reset();
    this.vad?.reset();
    this.vadCarry.fill(0);
    this.vadCarryLength = 0;
    this.vadSamples = 0;
  }
}
