/**
 * The shared openWakeWord feature pipeline: raw window → mel rows → embeddings, one 1280-sample chunk at a time.
 *
 * Faithful to openwakeword/utils.py (design §3): the mel model sees the last 1280 + 480 samples of the raw
 * buffer (only 1280 on the very first chunk, when the buffer holds no more), its output is mapped x/10 + 2,
 * the mel buffer starts as ones(76, 32) (plus 8 more rows of ones that only shifted phases can reach) and keeps
 * at most 970 rows, an embedding is computed from the last 76 mel rows, and the embedding history starts with
 * the embeddings of 4 s of int16 noise (fixed seed, so runs are reproducible).
 *
 * Deliberate choice: chunks are always processed one at a time (k = 1). The reference batches k pending chunks
 * into one mel call over k·1280 + 480 samples, but the mel graph floors its dB at (max − 80) over its own input,
 * so batching changes the numbers; one chunk per call makes scores independent of how audio arrives.
 *
 * Phases: track p of P reads the same mel rows, ending round(p·8/P) rows (10 ms each) before the newest row.
 * Track 0 is the reference; the others score the chunk grid shifted by multiples of 10 ms without another mel
 * call (mel rows sit on a 10 ms grid, so a shifted window's rows are already in the buffer).
 *
 * Embeddings come from the streaming embedding model (models/embedding_streaming.onnx, derived from the pinned
 * window model by src/wakeword/streaming-embedding-generator.ts): each step takes a track's newest 8 + 2 mel
 * rows and the state the previous step left, and yields exactly the window model's embedding of the last 76
 * rows. All phases step together in one call: with 4 phases through the 4-phase model
 * (models/embedding_streaming_4phases.onnx), which takes track 0's rows and yields the 4 tracks' embeddings,
 * computing the layers before the last two time pools once for all of them; with other phase counts through
 * the one-phase model batched (batch item = phase). A step needs the state of the
 * chunk before; from an empty state, 9 warm-up steps (whose outputs are discarded) make the 10th exact, since
 * the model's receptive field is 76 rows and 9 steps feed 82. So:
 *  - a fresh or reset stream warms up on the rows of ones in front (they are part of the mel buffer);
 *  - embeddings are still computed lazily (`ensureAllEmbeddings`), so a caller that skips the classifier in
 *    silence also skips the model; when it needs them again the stream is resumed over the skipped chunks
 *    (or re-warmed 9 chunks before the first missing one when that is cheaper) from the retained mel rows,
 *    giving exactly the values an eager pipeline would have had.
 *
 * Deferred mel (the quiet gate's stream, `deferMelChunks` = N): a chunk's mel rows are computed only when
 * embeddings are asked for; until then the chunk waits in a fixed ring of N chunk slots. The mel model is a
 * pure function of each 1760-sample window, so computing the rows later gives the same rows. A chunk still
 * pending when N newer ones have arrived is given up (placeholder rows, and `rowsEnding` refuses to read
 * them); the scorer sizes N so that no embedding it can still ask for reads such rows.
 *
 * Privacy: raw audio lives only in the 1760-sample window and, on a deferring stream, in the ring of pending
 * chunks — both fixed buffers overwritten in place, a ring slot zeroed as soon as its chunk has moved into
 * the window. The quiet gate defers only while everything it heard was below its threshold, so the ring holds
 * at most N chunks of quiet audio. Mel rows, embeddings and model states are features, not audio.
 */
import { EarshotError } from '../core/index.js';
import {
  EMBEDDING_BUFFER_MAX_ROWS,
  EMBEDDING_DIM,
  EMBEDDING_MEL_ROWS,
  FRAME_SAMPLES,
  MEL_BINS,
  MEL_BUFFER_MAX_ROWS,
  MEL_HOP_SAMPLES,
  MEL_ROWS_PER_CHUNK,
  MEL_WINDOW_SAMPLES,
  STREAM_INPUT_ROWS,
  STREAM_WARMUP_STEPS,
} from './constants.js';
import { EmbeddingStepper } from './embedding-stepper.js';
import type { MelSpectrogram } from './mel-spectrogram.js';
import { type Session } from './onnx-sessions.js';

export interface FeatureModels {
  /** The mel front end: on the device the FFT form of the pinned mel model (src/wakeword/fft-mel-spectrogram.ts). */
  mel: MelSpectrogram;
  /** The streaming embedding model (models/embedding_streaming.onnx), not the 76-row window model. */
  embedding: Session;
  /**
   * Multi-phase streaming models (kind embedding-phases, e.g. models/embedding_streaming_4phases.onnx): one
   * step yields every phase's embedding, sharing the layers all phases have in common. A stream with a phase
   * count listed here uses it instead of stepping `embedding` with one batch item per phase.
   */
  phased?: { phases: number; session: Session }[];
}

/** Embeddings of the warm-up noise, shared by every stream of a process (computing them costs ~50 steps). */
export interface NoiseEmbeddings {
  rows: number;
  data: Float32Array;
}

/** mel rows for a window of n samples: the model drops 3 hops of context. */
export function melRowsFor(samples: number): number {
  return Math.floor(samples / MEL_HOP_SAMPLES) - 3;
}

/** Runs the mel front end on float32 samples; returns rows × 32 after x/10 + 2. */
export async function melOf(mel: MelSpectrogram, samples: Float32Array): Promise<Float32Array> {
  const data = await mel.run(samples);
  const res = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) res[i] = data[i]! / 10 + 2;
  return res;
}

/** Window starts of the reference's `_get_embeddings`: 76 rows every 8 rows. */
export function clipWindows(melRows: number): number {
  return melRows < EMBEDDING_MEL_ROWS ? 0 : Math.floor((melRows - EMBEDDING_MEL_ROWS) / MEL_ROWS_PER_CHUNK) + 1;
}

/**
 * The reference's `_get_embeddings` (mel over the whole clip, then an embedding of every 76-row window, 8 rows
 * apart), computed with the streaming model: the rows are fed 8 at a time after a few rows of zero padding in
 * front, so that the first window's step is preceded by the 9 warm-up steps it needs (the padding lies outside
 * every window's receptive field).
 */
export async function embeddingsOfClip(models: FeatureModels, samples: Float32Array): Promise<NoiseEmbeddings> {
  const spec = await melOf(models.mel, samples);
  const windows = clipWindows(spec.length / MEL_BINS);
  const pad = STREAM_WARMUP_STEPS * MEL_ROWS_PER_CHUNK + STREAM_INPUT_ROWS - EMBEDDING_MEL_ROWS;
  const rows = new Float32Array(spec.length + pad * MEL_BINS);
  rows.set(spec, pad * MEL_BINS);
  const stepper = new EmbeddingStepper(models.embedding, 1);
  const data = new Float32Array(windows * EMBEDDING_DIM);
  for (let j = 0; j < STREAM_WARMUP_STEPS + windows; j++) {
    stepper.input.set(rows.subarray(j * MEL_ROWS_PER_CHUNK * MEL_BINS, (j * MEL_ROWS_PER_CHUNK + STREAM_INPUT_ROWS) * MEL_BINS));
    const out = await stepper.step();
    if (j >= STREAM_WARMUP_STEPS) data.set(out, (j - STREAM_WARMUP_STEPS) * EMBEDDING_DIM);
  }
  return { rows: windows, data };
}

export class EmbeddingTrack {
  /** Ring of embeddings indexed by chunk number (chunks ≤ 0 are the warm-up noise rows). */
  readonly rows = new Float32Array(EMBEDDING_BUFFER_MAX_ROWS * EMBEDDING_DIM);
  /** Chunk number held by each slot; NaN = empty. */
  readonly slotChunk = new Float64Array(EMBEDDING_BUFFER_MAX_ROWS).fill(Number.NaN);

  constructor(
    /** Mel rows between the newest row and this track's window end. */
    readonly offsetRows: number,
    noise: NoiseEmbeddings,
  ) {
    // Noise row i stands for chunk i − (rows − 1): the newest noise row is "chunk 0".
    const keep = Math.min(noise.rows, EMBEDDING_BUFFER_MAX_ROWS);
    for (let i = noise.rows - keep; i < noise.rows; i++) {
      const chunk = i - (noise.rows - 1);
      const slot = EmbeddingTrack.slot(chunk);
      this.rows.set(noise.data.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM), slot * EMBEDDING_DIM);
      this.slotChunk[slot] = chunk;
    }
  }

  static slot(chunk: number): number {
    return ((chunk % EMBEDDING_BUFFER_MAX_ROWS) + EMBEDDING_BUFFER_MAX_ROWS) % EMBEDDING_BUFFER_MAX_ROWS;
  }

  has(chunk: number): boolean {
    return this.slotChunk[EmbeddingTrack.slot(chunk)] === chunk;
  }

  store(chunk: number, data: Float32Array): void {
    const slot = EmbeddingTrack.slot(chunk);
    this.rows.set(data, slot * EMBEDDING_DIM);
    this.slotChunk[slot] = chunk;
  }
}

export class FeatureStream {
  /**
   * Mel rows that are ones at start (absolute indices 0..83): the reference's ones(76, 32) plus 8 more rows of
   * ones in front, so shifted tracks can read up to 7 rows further back. Track 0 reads exactly the reference's.
   * The streaming model's warm-up before chunk 1 reads rows from 0 on (9 steps of 8 + 10 rows, 7 rows back).
   */
  static readonly INITIAL_ROWS = EMBEDDING_MEL_ROWS + MEL_ROWS_PER_CHUNK;
  /** Absolute end row of chunk 1 (the first chunk's window is 1280 samples: 5 rows). */
  private static readonly FIRST_CHUNK_END = FeatureStream.INITIAL_ROWS + melRowsFor(FRAME_SAMPLES);

  /** The last ≤ 1760 samples, right-aligned. */
  private readonly raw = new Float32Array(MEL_WINDOW_SAMPLES);
  private rawCount = 0;
  /** The very first chunk's window (1280 samples, no context yet), also fixed and overwritten in place. */
  private readonly firstWindow = new Float32Array(FRAME_SAMPLES);
  /** Mel rows, linear storage of twice the cap so trimming is an occasional copyWithin, not a per-chunk shift. */
  private readonly mel = new Float32Array(2 * MEL_BUFFER_MAX_ROWS * MEL_BINS);
  private melStart = 0;
  private melRows = 0;
  /** Absolute index of the next mel row (the initial ones rows are 0..83). */
  private melTotal = 0;
  /** Absolute end row of each chunk's mel output, by chunk number (ring). */
  private readonly chunkMelEnd = new Float64Array(EMBEDDING_BUFFER_MAX_ROWS);
  protected readonly tracks: EmbeddingTrack[];
  /** All phases step together: the stepper's batch index is the phase. */
  private readonly stepper: EmbeddingStepper | undefined;
  /** Chunk of the last streaming step (the stepper's state is the state after it); NaN = empty state. */
  private streamChunk = Number.NaN;
  /** First chunk whose step output is exact since the state was last emptied. */
  private exactFrom = Number.POSITIVE_INFINITY;
  /** Ring of pending chunks (deferring stream only): chunk c in slot c mod deferMelChunks, zeroed once used. */
  private readonly pending: Float32Array | undefined;
  private readonly placeholderRows = new Float32Array(MEL_ROWS_PER_CHUNK * MEL_BINS);
  /** Chunks whose mel rows are in the buffer (computed, or given up as placeholder rows). */
  private melChunks = 0;
  /** Absolute mel row from which the rows are real (rows before it may be placeholders of dropped chunks). */
  private melValidFrom = 0;
  /** Mel-model calls made. */
  melCalls = 0;
  /** Chunks whose mel rows were never computed (the deferral outlasted the ring). */
  droppedMelChunks = 0;
  /** Chunks processed so far; the newest chunk's number. */
  chunks = 0;
  /** Embeddings computed and kept, per phase (for metrics and the gating test); warm-up steps not included. */
  embeddingCalls = 0;
  /** Times the stream was resumed over skipped chunks, and re-warmed from an empty state (start-up included). */
  resumes = 0;
  rewarms = 0;

  /** The stepper is a multi-phase model: one batch item, rows ending at the newest row, one output per phase. */
  private readonly phasedStep: boolean;
  private readonly phasedSessionOf: Session | undefined;

  constructor(
    protected readonly models: { mel: MelSpectrogram; embedding?: Session; phased?: FeatureModels['phased'] },
    private readonly noise: NoiseEmbeddings,
    readonly phases: number,
    /**
     * 0 (default): mel rows are computed as each chunk arrives. N > 0: they are computed only when embeddings
     * are asked for, and up to N chunks of raw audio wait for that in a fixed ring (the quiet gate's use: a
     * quiet stretch costs no mel call; N must cover what a resume or re-warm reads, see WakeScorer).
     */
    readonly deferMelChunks = 0,
  ) {
    if (!Number.isInteger(phases) || phases < 1 || phases > MEL_ROWS_PER_CHUNK) {
      throw new EarshotError('BAD_ARGUMENT', `phases must be an integer from 1 to ${MEL_ROWS_PER_CHUNK} (got ${phases})`);
    }
    if (!Number.isInteger(deferMelChunks) || deferMelChunks < 0) throw new EarshotError('BAD_ARGUMENT', `deferMelChunks must be a whole number (got ${deferMelChunks})`);
    this.pending = deferMelChunks > 0 ? new Float32Array(deferMelChunks * FRAME_SAMPLES) : undefined;
    this.tracks = Array.from({ length: phases }, (_, p) => new EmbeddingTrack(Math.round((p * MEL_ROWS_PER_CHUNK) / phases), noise));
    const phased = models.embedding ? models.phased?.find((m) => m.phases === phases) : undefined;
    // The multi-phase model's oldest output ends (P − 1) · 8/P rows back, so its warm-up needs that many more
    // fed rows; it is used only where the usual 9 warm-up steps still cover them (P = 2, 4: 82 ≥ 76 + 6).
    this.phasedStep =
      phased !== undefined &&
      phases > 1 &&
      STREAM_INPUT_ROWS + STREAM_WARMUP_STEPS * MEL_ROWS_PER_CHUNK >= EMBEDDING_MEL_ROWS + this.tracks[phases - 1]!.offsetRows &&
      this.tracks.every((t, p) => t.offsetRows * phases === p * MEL_ROWS_PER_CHUNK);
    this.phasedSessionOf = this.phasedStep ? phased!.session : undefined;
    this.stepper = !models.embedding
      ? undefined
      : this.phasedStep
        ? new EmbeddingStepper(phased!.session, 1, phases)
        : new EmbeddingStepper(models.embedding, phases);
    this.resetMel();
  }

  private resetMel(): void {
    this.mel.fill(0);
    this.mel.fill(1, 0, FeatureStream.INITIAL_ROWS * MEL_BINS);
    this.melStart = 0;
    this.melRows = FeatureStream.INITIAL_ROWS;
    this.melTotal = FeatureStream.INITIAL_ROWS;
  }

  /** Back to the state of a fresh stream (drops every trace of the audio heard so far). */
  reset(): void {
    this.raw.fill(0);
    this.firstWindow.fill(0);
    this.rawCount = 0;
    this.pending?.fill(0);
    this.melChunks = 0;
    this.melValidFrom = 0;
    this.resetMel();
    this.chunkMelEnd.fill(0);
    this.chunks = 0;
    for (let p = 0; p < this.tracks.length; p++) this.tracks[p] = new EmbeddingTrack(this.tracks[p]!.offsetRows, this.noise);
    // The model state is derived from the mel rows just dropped: it goes with them.
    this.stepper?.reset();
    this.stepper?.input.fill(0);
    this.streamChunk = Number.NaN;
    this.exactFrom = Number.POSITIVE_INFINITY;
  }

  /** Streaming-model calls made (warm-up steps included; each call covers every phase). */
  get streamSteps(): number {
    return this.stepper?.calls ?? 0;
  }

  /**
   * Consumes exactly one 1280-sample chunk. Eager stream: updates the raw window and appends its mel rows.
   * Deferring stream (`deferMelChunks` > 0): keeps the chunk in the ring of pending chunks; its mel rows are
   * computed by `ensureMel` (called by `ensureAllEmbeddings`), or dropped when more than `deferMelChunks`
   * chunks are pending (no embedding the caller can still ask for reads them; `rowsEnding` checks).
   */
  async pushChunk(chunk: Int16Array): Promise<void> {
    if (chunk.length !== FRAME_SAMPLES) throw new EarshotError('INTERNAL', `pushChunk needs ${FRAME_SAMPLES} samples`);
    this.chunks++;
    // Chunk 1 brings 5 rows (its window has no context yet), every later chunk 8.
    this.chunkMelEnd[EmbeddingTrack.slot(this.chunks)] = FeatureStream.FIRST_CHUNK_END + MEL_ROWS_PER_CHUNK * (this.chunks - 1);
    const ring = this.pending;
    if (!ring) {
      this.advanceRaw(chunk);
      await this.computeMel();
      return;
    }
    const slot = (this.chunks % this.deferMelChunks) * FRAME_SAMPLES;
    // The oldest pending chunk's slot is about to be reused: its rows are given up (placeholder rows).
    if (this.chunks - this.melChunks > this.deferMelChunks) this.dropOldestPending();
    for (let i = 0; i < FRAME_SAMPLES; i++) ring[slot + i] = chunk[i]!;
  }

  /** Computes the mel rows of every pending chunk, oldest first (a no-op on an eager stream). */
  async ensureMel(): Promise<void> {
    const ring = this.pending;
    if (!ring) return;
    while (this.melChunks < this.chunks) {
      const slot = ((this.melChunks + 1) % this.deferMelChunks) * FRAME_SAMPLES;
      this.advanceRaw(ring.subarray(slot, slot + FRAME_SAMPLES));
      ring.fill(0, slot, slot + FRAME_SAMPLES); // now in the raw window: the ring keeps no copy
      await this.computeMel();
    }
  }

  /** Chunks whose mel rows are not computed yet (deferring stream only). */
  get pendingMelChunks(): number {
    return this.chunks - this.melChunks;
  }

  private dropOldestPending(): void {
    const ring = this.pending!;
    const slot = ((this.melChunks + 1) % this.deferMelChunks) * FRAME_SAMPLES;
    // Still through the raw window: its tail is the next chunk's mel context.
    this.advanceRaw(ring.subarray(slot, slot + FRAME_SAMPLES));
    ring.fill(0, slot, slot + FRAME_SAMPLES);
    const rows = melRowsFor(this.rawCount);
    this.appendMel(this.placeholderRows.subarray(0, rows * MEL_BINS), rows);
    this.melChunks++;
    this.melValidFrom = this.melTotal;
    this.droppedMelChunks++;
  }

  /** Shifts one chunk (int16 values) into the 1760-sample raw window. */
  private advanceRaw(chunk: ArrayLike<number>): void {
    const raw = this.raw;
    raw.copyWithin(0, FRAME_SAMPLES);
    const base = MEL_WINDOW_SAMPLES - FRAME_SAMPLES;
    for (let i = 0; i < FRAME_SAMPLES; i++) raw[base + i] = chunk[i]!;
    this.rawCount = Math.min(MEL_WINDOW_SAMPLES, this.rawCount + FRAME_SAMPLES);
  }

  /** Runs the mel model on the raw window and appends the rows of the chunk just shifted in. */
  private async computeMel(): Promise<void> {
    const raw = this.raw;
    const base = MEL_WINDOW_SAMPLES - FRAME_SAMPLES;
    // Only the very first chunk has a shorter window (the reference's deque holds just 1280 samples then).
    let window = raw;
    if (this.rawCount < MEL_WINDOW_SAMPLES) {
      this.firstWindow.set(raw.subarray(base));
      window = this.firstWindow;
    }
    const data = await this.models.mel.run(window);
    this.melCalls++;
    if (window === this.firstWindow) this.firstWindow.fill(0); // used once; keep no audio outside the raw window
    const rows = melRowsFor(this.rawCount);
    if (data.length !== rows * MEL_BINS) throw new EarshotError('INTERNAL', 'unexpected mel model output size');
    this.appendMel(data, rows, true);
    this.melChunks++;
    if (this.melTotal !== this.chunkEnd(this.melChunks)) throw new EarshotError('INTERNAL', `mel rows of chunk ${this.melChunks} end at ${this.melTotal}, expected ${this.chunkEnd(this.melChunks)}`);
  }

  private appendMel(data: Float32Array, rows: number, scale = false): void {
    const overflow = this.melRows + rows - MEL_BUFFER_MAX_ROWS;
    if (overflow > 0) {
      this.melStart += overflow;
      this.melRows -= overflow;
    }
    if ((this.melStart + this.melRows + rows) * MEL_BINS > this.mel.length) {
      this.mel.copyWithin(0, this.melStart * MEL_BINS, (this.melStart + this.melRows) * MEL_BINS);
      this.melStart = 0;
    }
    const dst = (this.melStart + this.melRows) * MEL_BINS;
    const mel = this.mel;
    if (scale) for (let i = 0; i < rows * MEL_BINS; i++) mel[dst + i] = data[i]! / 10 + 2;
    else mel.set(data, dst);
    this.melRows += rows;
    this.melTotal += rows;
  }

  /** Absolute end row of chunk c's mel output; chunks ≤ 0 stand for the rows of ones before the first chunk. */
  private chunkEnd(chunk: number): number {
    return chunk >= 1 ? this.chunkMelEnd[EmbeddingTrack.slot(chunk)]! : FeatureStream.FIRST_CHUNK_END + MEL_ROWS_PER_CHUNK * (chunk - 1);
  }

  /** Absolute mel row where chunk c's embedding window ends on track p. */
  protected windowEnd(track: EmbeddingTrack, chunk: number): number {
    return this.chunkEnd(chunk) - track.offsetRows;
  }

  /** True when chunk c's embedding on track p was computed from real mel rows only (no initial ones). */
  embeddingIsReal(phase: number, chunk: number): boolean {
    return this.embeddingIsRealAt(this.tracks[phase]!.offsetRows, chunk);
  }

  /** The same for a window ending `offsetRows` before chunk c's newest row (tracks kept outside, the second look's). */
  embeddingIsRealAt(offsetRows: number, chunk: number): boolean {
    return chunk >= 1 && chunk <= this.chunks && this.chunkEnd(chunk) - offsetRows - EMBEDDING_MEL_ROWS >= FeatureStream.INITIAL_ROWS;
  }

  /**
   * One streaming step's input for chunk c (c ≤ 0: the rows of ones), ending `shiftRows` before its newest row:
   * for steppers kept outside the stream (the second look). Call `ensureMel` first; a view, valid until the next chunk.
   */
  stepRows(chunk: number, shiftRows: number): Float32Array {
    return this.rowsEnding(this.chunkEnd(chunk) - shiftRows, STREAM_INPUT_ROWS);
  }

  /** The multi-phase model this stream steps with, when it uses one (the second look steps it on shifted rows). */
  get phasedSession(): Session | undefined {
    return this.phasedStep ? this.phasedSessionOf : undefined;
  }

  /** True when the last `window` embeddings of track p all come from real audio. */
  windowIsReal(phase: number, window: number): boolean {
    return this.embeddingIsReal(phase, this.chunks - window + 1);
  }

  /** Computes any of the last `window` embeddings of track p that are missing (phases step together, so all of them). */
  async ensureEmbeddings(_phase: number, window: number): Promise<void> {
    return this.ensureAllEmbeddings(window);
  }

  /**
   * Computes every missing embedding of the last `window` chunks on all tracks: one streaming step per chunk,
   * all phases in one batched call. Resumes from the held state when it is at most 9 chunks behind the first
   * missing embedding (the quiet gate's skipped chunks are run through the stream); otherwise empties the state
   * and warms up over the 9 chunks before it.
   */
  async ensureAllEmbeddings(window: number): Promise<void> {
    const stepper = this.stepper;
    if (!stepper) throw new EarshotError('INTERNAL', 'feature stream without a streaming embedding model');
    await this.ensureMel();
    const from = Math.max(1, this.chunks - window + 1);
    let first = Number.NaN;
    for (let c = from; c <= this.chunks; c++) {
      if (!this.tracks[0]!.has(c)) {
        first = c;
        break;
      }
    }
    if (Number.isNaN(first)) return;
    let start: number;
    const held = this.streamChunk;
    if (held < first && held >= first - 1 - STREAM_WARMUP_STEPS && held >= this.exactFrom - 1) {
      start = held + 1;
      if (held < this.chunks - 1) this.resumes++; // it had fallen behind (the quiet gate skipped chunks)
    } else {
      this.rewarms++;
      stepper.reset();
      start = first - STREAM_WARMUP_STEPS;
      this.exactFrom = first;
    }
    const per = STREAM_INPUT_ROWS * MEL_BINS;
    const P = this.tracks.length;
    for (let k = start; k <= this.chunks; k++) {
      if (this.phasedStep) stepper.input.set(this.rowsEnding(this.chunkEnd(k), STREAM_INPUT_ROWS));
      else for (let p = 0; p < P; p++) stepper.input.set(this.rowsEnding(this.windowEnd(this.tracks[p]!, k), STREAM_INPUT_ROWS), p * per);
      const out = await stepper.step();
      this.streamChunk = k;
      if (k < this.exactFrom || k < 1) continue;
      // The multi-phase model yields the oldest window first: output i is track P − 1 − i.
      for (let p = 0; p < P; p++) {
        const i = this.phasedStep ? P - 1 - p : p;
        this.tracks[p]!.store(k, out.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM));
      }
      this.embeddingCalls += P;
    }
  }

  /** `rows` mel rows ending at absolute row `end` (a view into the mel buffer). */
  protected rowsEnding(end: number, rows: number): Float32Array {
    const start = end - rows;
    const oldest = this.melTotal - this.melRows;
    if (start < oldest) throw new EarshotError('INTERNAL', `mel rows from ${start} are no longer held`);
    if (start < this.melValidFrom) throw new EarshotError('INTERNAL', `mel rows from ${start} were never computed (deferred too long)`);
    if (end > this.melTotal) throw new EarshotError('INTERNAL', `mel rows up to ${end} are not computed yet (call ensureMel first)`);
    const from = (this.melStart + (start - oldest)) * MEL_BINS;
    return this.mel.subarray(from, from + rows * MEL_BINS);
  }

  /** Copies the last `window` embeddings of track p (oldest first) into `out` (window × 96). */
  copyWindow(phase: number, window: number, out: Float32Array): void {
    const track = this.tracks[phase]!;
    for (let i = 0; i < window; i++) {
      const c = this.chunks - window + 1 + i;
      if (!track.has(c)) throw new EarshotError('INTERNAL', `embedding for chunk ${c} missing (call ensureEmbeddings first)`);
      const slot = EmbeddingTrack.slot(c);
      out.set(track.rows.subarray(slot * EMBEDDING_DIM, (slot + 1) * EMBEDDING_DIM), i * EMBEDDING_DIM);
    }
  }

  /** The newest `rows` mel rows computed so far (tests and tools; a deferring stream: after `ensureMel`). */
  lastMelRows(rows: number): Float32Array {
    const from = (this.melStart + this.melRows - rows) * MEL_BINS;
    return this.mel.slice(from, from + rows * MEL_BINS);
  }
}
