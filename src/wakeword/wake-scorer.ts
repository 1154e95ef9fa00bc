/**
 * Streams audio of any chunk size through one shared FeatureStream and scores every wake word on every phase
 * track once per 80 ms chunk. Output: one ScoreFrame per chunk with, per word, the best score across phases.
 *
 * Quiet gate (optional): when no chunk within a classifier's receptive field (its window of embeddings plus
 * the ~12 chunks of audio behind the oldest embedding) was louder than `quietRms`, the classifier and the
 * embeddings it would read are skipped and the score is 0, and so is the mel model: the stream defers mel
 * rows until embeddings are asked for, holding the pending (quiet) chunks in a fixed ring just long enough
 * for the backfill. As soon as sound returns, the pending mel rows and the skipped embeddings are computed
 * and the classifier sees exactly what it would have seen.
 *
 * Second look (optional, 4 phases): while some word's base score on a warm frame is at or above a low gate (or
 * was within a hold), the other 4 of 8 phases are scored too (second-look.ts, second-look-gate.ts) and each
 * word's score is the max over all 8, as with 8 phases; below it the 4-phase scores stand.
 */
import { EarshotError } from '../core/index.js';
import { SAMPLE_RATE } from '../core/index.js';
import { EMBEDDING_DIM, FRAME_SAMPLES, REFERENCE_SUPPRESSED_FRAMES, STREAM_WARMUP_STEPS } from './constants.js';
import { embeddingsOfClip, FeatureStream, type FeatureModels, type NoiseEmbeddings } from './feature-stream.js';
import { warmupNoise } from './noise.js';
import { ort, type Classifier } from './onnx-sessions.js';
import { SecondLook } from './second-look.js';
import { SecondLookGate, type SecondLookSettings } from './second-look-gate.js';
import { NoiseSuppressor } from './noise-suppressor.js';
import { NoiseFloor, rmsOf, type NoiseFloorOptions } from './noise-floor.js';

export interface ScoreFrame {
  /** Chunk number, 1-based. */
  index: number;
  /** Audio time of the chunk's end, ms since the stream started. */
  endMs: number;
  /** Per word (same order as `words`): max over phases of this chunk's score. */
  scores: Float32Array;
  /** Per word: every phase's classifier window holds embeddings of real audio only (no warm-up rows). */
  warm: boolean[];
  /** Per word: the quiet gate skipped the classifier (score reported as 0). */
  gated: boolean[];
  /**
   * Per word: the phase whose window scored best (−1 when gated); `WakeScorer.copyWindow` copies that window.
   * 0..P−1 are the stream's phases; with the second look, P..2P−1 are its odd phases (offsets 1, 3, 5, 7 rows).
   */
  bestPhase: Int8Array;
  /** The second look scored the odd phases on this frame (always false without it). */
  secondLook: boolean;
}

export interface WakeScorerOptions {
  /** 1 = reference (chunk grid only); P (≤ 8) = also the grid shifted in steps of about 80/P ms; the best score counts. */
  phases?: number;
  /** Skip embeddings/classifiers while everything the classifier can see is below this RMS (int16 units). */
  quietRms?: number;
  /**
   * With 4 phases: also score the other 4 of 8 phases while some word's base score is at or above the gate
   * (and for a hold after it), see second-look.ts. Needs the 4-phase streaming model.
   */
  secondLook?: SecondLookSettings;
  /**
   * Suppress noise before the features (speex, src/wakeword/noise-suppressor.ts): the most it attenuates noise,
   * dB. Absent = the audio as heard. Engaged only while the room's noise floor calls for it (`noiseFloor`,
   * src/wakeword/noise-floor.ts); the quiet gate, mel, embeddings and classifiers hear what it leaves.
   */
  noiseSuppressionDb?: number;
  /** When suppression engages (default NOISE_FLOOR_DEFAULTS; engageRms 0 = always). */
  noiseFloor?: NoiseFloorOptions;
}

/** The noise suppressor and the noise-floor rule that engages it (absent floor: always engaged). */
type Suppression = { ns: NoiseSuppressor; floor: NoiseFloor | undefined };

/** Chunks of audio behind the oldest embedding a classifier reads: 76 + 7 mel rows of window plus the mel context. */
const EMBEDDING_RECEPTIVE_CHUNKS = 12;

let noiseCache: Promise<NoiseEmbeddings> | undefined;
let noiseCacheModels: FeatureModels | undefined;

/** The warm-up noise embeddings (computed once per process and model pair). */
export function noiseEmbeddings(models: FeatureModels): Promise<NoiseEmbeddings> {
  if (!noiseCache || noiseCacheModels !== models) {
    noiseCacheModels = models;
    noiseCache = embeddingsOfClip(models, warmupNoise());
  }
  return noiseCache;
}

interface WordState {
  classifier: Classifier;
  input: Float32Array;
  tensor: ort.Tensor;
  receptiveChunks: number;
  /** Every phase's window, phase-major, for the batched classifier (one call per frame); absent = one call per phase. */
  batch?: { input: Float32Array; tensor: ort.Tensor };
  /** This frame's score on each of the stream's phases, and on the second look's. */
  even: Float32Array;
  odd: Float32Array;
}

export class WakeScorer {
  readonly words: string[];
  private readonly stream: FeatureStream;
  private readonly state: WordState[];
  /** Carried remainder: fewer than 1280 samples waiting for the rest of their chunk. */
  private readonly carry = new Int16Array(FRAME_SAMPLES);
  private carryLength = 0;
  private lastLoudChunk = Number.NEGATIVE_INFINITY;
  private readonly frame: ScoreFrame;
  readonly quietRms: number | undefined;
  private readonly look: { tracks: SecondLook; gate: SecondLookGate } | undefined;

  private constructor(
    stream: FeatureStream,
    classifiers: Classifier[],
    quietRms: number | undefined,
    private readonly suppressor: Suppression | undefined,
    look?: { tracks: SecondLook; gate: SecondLookGate },
  ) {
    this.stream = stream;
    this.quietRms = quietRms;
    this.look = look;
    this.words = classifiers.map((c) => c.name);
    const P = stream.phases;
    this.state = classifiers.map((classifier): WordState => {
      const input = new Float32Array(classifier.window * EMBEDDING_DIM);
      const batchInput = classifier.batched && P > 1 ? new Float32Array(P * classifier.window * EMBEDDING_DIM) : undefined;
      return {
        classifier,
        input,
        tensor: new ort.Tensor('float32', input, [1, classifier.window, EMBEDDING_DIM]),
        receptiveChunks: classifier.window + EMBEDDING_RECEPTIVE_CHUNKS,
        even: new Float32Array(P),
        odd: new Float32Array(P),
        ...(batchInput ? { batch: { input: batchInput, tensor: new ort.Tensor('float32', batchInput, [P, classifier.window, EMBEDDING_DIM]) } } : {}),
      };
    });
    const n = classifiers.length;
    this.frame = { index: 0, endMs: 0, scores: new Float32Array(n), warm: new Array<boolean>(n).fill(false), gated: new Array<boolean>(n).fill(false), bestPhase: new Int8Array(n), secondLook: false };
  }

  static async create(models: FeatureModels, classifiers: Classifier[], opts: WakeScorerOptions = {}): Promise<WakeScorer> {
    const noise = await noiseEmbeddings(models);
    const widest = Math.max(0, ...classifiers.map((c) => c.window));
    // With the gate, mel rows wait for the embeddings that need them. A backfill after a quiet stretch re-warms
    // the stream 9 chunks before the widest window's oldest embedding and reads 2 chunks of mel behind that:
    // the ring must hold those chunks (rowsEnding refuses rows given up, so a short ring fails loudly).
    const defer = opts.quietRms !== undefined ? widest + STREAM_WARMUP_STEPS + 2 : 0;
    const stream = new FeatureStream(models, noise, opts.phases ?? 1, defer);
    const always = opts.noiseFloor?.engageRms === 0;
    const suppressor =
      opts.noiseSuppressionDb !== undefined
        ? { ns: await NoiseSuppressor.create(opts.noiseSuppressionDb), floor: always ? undefined : new NoiseFloor(opts.noiseFloor) }
        : undefined;
    if (opts.secondLook === undefined) return WakeScorer.withStream(stream, noise.rows, classifiers, opts, suppressor);
    const look = { tracks: new SecondLook(stream, noise), gate: new SecondLookGate(opts.secondLook) };
    WakeScorer.check(classifiers, noise.rows);
    return new WakeScorer(stream, classifiers, opts.quietRms, suppressor, look);
  }

  private static check(classifiers: Classifier[], noiseRows: number): void {
    if (classifiers.length === 0) throw new EarshotError('BAD_ARGUMENT', 'at least one wake word is needed');
    for (const c of classifiers) {
      if (c.window > noiseRows) throw new EarshotError('MODEL_LOAD_FAILED', `wake-word model ${c.name} needs ${c.window} embeddings; at most ${noiseRows} are supported`);
    }
  }

  /** A scorer on a given feature stream (the tests' and bench's window-model oracle); `create` is the usual way. */
  static withStream(stream: FeatureStream, noiseRows: number, classifiers: Classifier[], opts: Pick<WakeScorerOptions, 'quietRms'> = {}, suppressor?: Suppression): WakeScorer {
    WakeScorer.check(classifiers, noiseRows);
    return new WakeScorer(stream, classifiers, opts.quietRms, suppressor);
  }

  /** Chunks the noise suppressor has processed (it runs only while the noise floor calls for it). */
  suppressedChunks = 0;

  /** The noise suppressor, when this scorer has one (the bench times its calls). */
  get noiseSuppressor(): NoiseSuppressor | undefined {
    return this.suppressor?.ns;
  }

  get phases(): number {
    return this.stream.phases;
  }

  /** Chunks processed since the start (or the last reset). */
  get chunks(): number {
    return this.stream.chunks;
  }

  /** Embeddings computed and kept (per phase), warm-up steps not included. */
  get embeddingCalls(): number {
    return this.stream.embeddingCalls;
  }

  /**
   * Streaming-model calls (one per chunk for all phases, warm-up steps included), resumes and re-warms; mel
   * calls, and chunks whose mel rows the quiet gate never needed (given up after a long quiet stretch).
   */
  get streamStats(): { steps: number; resumes: number; rewarms: number; melCalls: number; melSkipped: number } {
    const s = this.stream;
    return { steps: s.streamSteps, resumes: s.resumes, rewarms: s.rewarms, melCalls: s.melCalls, melSkipped: s.droppedMelChunks };
  }

  /** Frames the second look was on, times it switched on, its model calls (catch-up included), resumes and re-warms. */
  get secondLookStats(): { framesOn: number; switchesOn: number; steps: number; resumes: number; rewarms: number } | undefined {
    const l = this.look;
    return l ? { framesOn: l.gate.framesOn, switchesOn: l.gate.switchesOn, steps: l.tracks.steps, resumes: l.tracks.resumes, rewarms: l.tracks.rewarms } : undefined;
  }

  /** Back to a fresh stream: features, carried samples and the quiet gate's memory are cleared. */
  reset(): void {
    this.stream.reset();
    this.look?.tracks.reset();
    this.look?.gate.reset();
    this.suppressor?.ns.reset();
    this.suppressor?.floor?.reset();
    this.carry.fill(0);
    this.carryLength = 0;
    this.lastLoudChunk = Number.NEGATIVE_INFINITY;
  }

  /**
   * Feeds samples of any length. `onFrame` is called once per completed 80 ms chunk, in order; the frame object
   * is reused between calls (copy what you keep).
   */
  async feed(samples: Int16Array, onFrame: (frame: ScoreFrame) => void | Promise<void>): Promise<void> {
    let pos = 0;
    while (pos < samples.length) {
      const take = Math.min(FRAME_SAMPLES - this.carryLength, samples.length - pos);
      this.carry.set(samples.subarray(pos, pos + take), this.carryLength);
      this.carryLength += take;
      pos += take;
      if (this.carryLength === FRAME_SAMPLES) {
        this.carryLength = 0;
        await this.processChunk(this.carry);
        await onFrame(this.frame);
      }
    }
  }

  /** Embeddings in word w's classifier window (its features are window × 96 values). */
  windowOf(word: number): number {
    return this.state[word]!.classifier.window;
  }

  /**
   * Copies word w's classifier input on `phase` at the newest frame (window × 96, oldest embedding first):
   * the verifier's features. Valid inside `onFrame` for a word the quiet gate did not skip.
   */
  copyWindow(word: number, phase: number, out: Float32Array): void {
    const window = this.state[word]!.classifier.window;
    const P = this.stream.phases;
    if (phase >= P && this.look) this.look.tracks.copyWindow(phase - P, window, out);
    else this.stream.copyWindow(phase, window, out);
  }

  /** Samples waiting in the carried remainder. */
  get pendingSamples(): number {
    return this.carryLength;
  }

  private async processChunk(chunk: Int16Array): Promise<void> {
    const sup = this.suppressor;
    // The chunk's RMS as heard; the quiet gate reads it again after suppression, when that ran.
    let rms = sup?.floor !== undefined || this.quietRms !== undefined ? rmsOf(chunk) : 0;
    if (sup && (sup.floor === undefined || sup.floor.update(rms))) {
      sup.ns.processChunk(chunk); // in place: `chunk` is the scorer's own carry buffer
      this.suppressedChunks++;
      if (this.quietRms !== undefined) rms = rmsOf(chunk);
    }
    await this.stream.pushChunk(chunk);
    const n = this.stream.chunks;
    if (this.quietRms !== undefined && rms >= this.quietRms) this.lastLoudChunk = n;
    const frame = this.frame;
    // Every word that is not gated reads the same embeddings: compute the missing ones for all phases at once.
    let widest = 0;
    for (const st of this.state) {
      const gated = this.quietRms !== undefined && n - this.lastLoudChunk >= st.receptiveChunks;
      if (!gated && st.classifier.window > widest) widest = st.classifier.window;
    }
    if (widest > 0) await this.stream.ensureAllEmbeddings(widest);
    frame.index = n;
    frame.endMs = (n * FRAME_SAMPLES * 1000) / SAMPLE_RATE;
    for (let w = 0; w < this.state.length; w++) {
      const st = this.state[w]!;
      const window = st.classifier.window;
      let warm = true;
      for (let p = 0; p < this.stream.phases; p++) if (!this.stream.windowIsReal(p, window)) warm = false;
      // As an 8-phase stream counts them (an odd window ends a row further back; on the 8-row grid of chunk ends
      // that never changes the answer, but it is the 8-phase rule).
      if (this.look) for (let j = 0; j < this.stream.phases; j++) if (!this.look.tracks.windowIsReal(j, window)) warm = false;
      frame.warm[w] = warm;
      if (this.quietRms !== undefined && n - this.lastLoudChunk >= st.receptiveChunks) {
        frame.gated[w] = true;
        frame.scores[w] = 0;
        frame.bestPhase[w] = -1;
        continue;
      }
      frame.gated[w] = false;
      // The widest window was ensured above for every phase; a narrower one is a suffix of it.
      await this.scorePhases(st, st.even, (p, out) => this.stream.copyWindow(p, window, out));
      let best = 0;
      let bestPhase = 0;
      for (let p = 0; p < this.stream.phases; p++) {
        // The reference zeroes each classifier's first 5 predictions.
        if (n > REFERENCE_SUPPRESSED_FRAMES && st.even[p]! > best) {
          best = st.even[p]!;
          bestPhase = p;
        }
      }
      frame.scores[w] = best;
      frame.bestPhase[w] = bestPhase;
    }
    if (this.look) await this.secondLook(this.look, n, widest);
  }

  /**
   * The odd phases, while the gate says so (some word's base score on a warm frame, or on one of the hold's
   * frames before): each word's score becomes the max over all 8 phases, compared in
   * the order of their offsets (0, 1, …, 7 rows) as an 8-phase stream does, so ties pick the same phase.
   */
  private async secondLook(look: { tracks: SecondLook; gate: SecondLookGate }, n: number, widest: number): Promise<void> {
    const frame = this.frame;
    frame.secondLook = false;
    let bestBase = Number.NEGATIVE_INFINITY;
    // Only frames that can count: a frame that is not warm (warm-up rows in its window) never detects.
    for (let w = 0; w < this.state.length; w++) if (!frame.gated[w] && frame.warm[w] && frame.scores[w]! > bestBase) bestBase = frame.scores[w]!;
    if (!look.gate.update(n, bestBase) || widest === 0) return;
    await look.tracks.ensureEmbeddings(widest);
    frame.secondLook = true;
    const P = this.stream.phases;
    for (let w = 0; w < this.state.length; w++) {
      if (frame.gated[w]) continue;
      const st = this.state[w]!;
      const window = st.classifier.window;
      await this.scorePhases(st, st.odd, (j, out) => look.tracks.copyWindow(j, window, out));
      let best = 0;
      let bestPhase = 0;
      for (let o = 0; o < 2 * P; o++) {
        const score = o % 2 === 0 ? st.even[o / 2]! : st.odd[(o - 1) / 2]!;
        if (n > REFERENCE_SUPPRESSED_FRAMES && score > best) {
          best = score;
          // Phases 0..P−1 are the stream's tracks, P..2P−1 the second look's.
          bestPhase = o % 2 === 0 ? o / 2 : P + (o - 1) / 2;
        }
      }
      frame.scores[w] = best;
      frame.bestPhase[w] = bestPhase;
    }
  }

  /** Scores word st on P windows (`fill(p, out)` copies window p): one batched call, or one call per window. */
  private async scorePhases(st: WordState, out: Float32Array, fill: (p: number, into: Float32Array) => void): Promise<void> {
    const P = this.stream.phases;
    const c = st.classifier;
    if (st.batch) {
      const per = c.window * EMBEDDING_DIM;
      for (let p = 0; p < P; p++) fill(p, st.batch.input.subarray(p * per, (p + 1) * per));
      const data = await this.run(c, c.batched!, st.batch.tensor, P);
      for (let p = 0; p < P; p++) out[p] = scoreOf(data, p, c.classes);
    } else {
      for (let p = 0; p < P; p++) {
        fill(p, st.input);
        out[p] = scoreOf(await this.run(c, c.session, st.tensor, 1), 0, c.classes);
      }
    }
  }

  /** One classifier call over `rows` windows; returns rows × classes. */
  private async run(c: Classifier, session: ort.InferenceSession, tensor: ort.Tensor, rows: number): Promise<Float32Array> {
    const out = await session.run({ [c.inputName]: tensor });
    const data = out[c.outputName]?.data as Float32Array | undefined;
    if (!data || data.length < rows * c.classes) throw new EarshotError('INTERNAL', `unexpected output from ${c.name}`);
    return data;
  }
}

/** Row r's score: the single class, or the best class other than "none" (class 0). */
function scoreOf(data: Float32Array, row: number, classes: number): number {
  const at = row * classes;
  if (classes === 1) return data[at]!;
  let best = 0;
  for (let i = 1; i < classes; i++) if (data[at + i]! > best) best = data[at + i]!;
  return best;
}
