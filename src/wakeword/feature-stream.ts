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
 * Embeddings are computed lazily per track (`ensureEmbeddings`), so a caller that skips the classifier in
 * silence also skips the embeddings; when it needs them again they are backfilled from the retained mel rows,
 * giving exactly the values an eager pipeline would have had.
 *
 * Privacy: raw audio lives only in the 1760-sample window, overwritten in place every chunk. Mel rows and
 * embeddings are features, not audio.
 */
import { EarshotError } from '../core/errors.js';
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
} from './constants.js';
import { ort, type Session } from './onnx-sessions.js';

export interface FeatureModels {
  mel: Session;
  embedding: Session;
}

/** Embeddings of the warm-up noise, shared by every stream of a process (computing them costs ~40 embeddings). */
export interface NoiseEmbeddings {
  rows: number;
  data: Float32Array;
}

function io(session: Session): { input: string; output: string } {
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  if (input === undefined || output === undefined) throw new EarshotError('MODEL_LOAD_FAILED', 'feature model without input/output');
  return { input, output };
}

/** mel rows for a window of n samples: the model drops 3 hops of context. */
export function melRowsFor(samples: number): number {
  return Math.floor(samples / MEL_HOP_SAMPLES) - 3;
}

/** Runs the mel model on float32 samples; returns rows × 32 after x/10 + 2. */
export async function melOf(mel: Session, samples: Float32Array): Promise<Float32Array> {
  const { input, output } = io(mel);
  const out = await mel.run({ [input]: new ort.Tensor('float32', samples, [1, samples.length]) });
  const data = out[output]?.data as Float32Array;
  const res = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) res[i] = data[i]! / 10 + 2;
  return res;
}

/** The reference's `_get_embeddings`: mel over the whole clip, then windows of 76 rows every 8 rows, one batch. */
export async function embeddingsOfClip(models: FeatureModels, samples: Float32Array): Promise<NoiseEmbeddings> {
  const spec = await melOf(models.mel, samples);
  const rows = spec.length / MEL_BINS;
  const windows: number[] = [];
  for (let i = 0; i + EMBEDDING_MEL_ROWS <= rows; i += MEL_ROWS_PER_CHUNK) windows.push(i);
  const batch = new Float32Array(windows.length * EMBEDDING_MEL_ROWS * MEL_BINS);
  windows.forEach((start, w) => batch.set(spec.subarray(start * MEL_BINS, (start + EMBEDDING_MEL_ROWS) * MEL_BINS), w * EMBEDDING_MEL_ROWS * MEL_BINS));
  const { input, output } = io(models.embedding);
  const out = await models.embedding.run({ [input]: new ort.Tensor('float32', batch, [windows.length, EMBEDDING_MEL_ROWS, MEL_BINS, 1]) });
  const data = out[output]?.data as Float32Array;
  return { rows: windows.length, data: Float32Array.from(data) };
}

class EmbeddingTrack {
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
}

export class FeatureStream {
  /**
   * Mel rows that are ones at start (absolute indices 0..83): the reference's ones(76, 32) plus 8 more rows of
   * ones in front, so shifted tracks can read up to 7 rows further back. Track 0 reads exactly the reference's.
   */
  static readonly INITIAL_ROWS = EMBEDDING_MEL_ROWS + MEL_ROWS_PER_CHUNK;

  private readonly melIO: { input: string; output: string };
  private readonly embIO: { input: string; output: string };
  /** The last ≤ 1760 samples, right-aligned. */
  private readonly raw = new Float32Array(MEL_WINDOW_SAMPLES);
  private rawCount = 0;
  private readonly rawTensor: ort.Tensor;
  /** The very first chunk's window (1280 samples, no context yet), also fixed and overwritten in place. */
  private readonly firstWindow = new Float32Array(FRAME_SAMPLES);
  private readonly firstTensor: ort.Tensor;
  /** Mel rows, linear storage of twice the cap so trimming is an occasional copyWithin, not a per-chunk shift. */
  private readonly mel = new Float32Array(2 * MEL_BUFFER_MAX_ROWS * MEL_BINS);
  private melStart = 0;
  private melRows = 0;
  /** Absolute index of the next mel row (the initial ones rows are 0..75). */
  private melTotal = 0;
  /** Absolute end row of each chunk's mel output, by chunk number (ring). */
  private readonly chunkMelEnd = new Float64Array(EMBEDDING_BUFFER_MAX_ROWS);
  private readonly embInput = new Float32Array(EMBEDDING_MEL_ROWS * MEL_BINS);
  private readonly embTensor: ort.Tensor;
  private readonly tracks: EmbeddingTrack[];
  /** Chunks processed so far; the newest chunk's number. */
  chunks = 0;
  /** Embeddings computed (for metrics and the gating test); several may share one batched model call. */
  embeddingCalls = 0;
  /** Batched embedding input for the usual case (one new embedding per phase), reused every frame. */
  private batchInput: Float32Array | undefined;
  private batchTensor: ort.Tensor | undefined;

  constructor(
    private readonly models: FeatureModels,
    private readonly noise: NoiseEmbeddings,
    readonly phases: number,
  ) {
    if (!Number.isInteger(phases) || phases < 1 || phases > MEL_ROWS_PER_CHUNK) {
      throw new EarshotError('BAD_ARGUMENT', `phases must be an integer from 1 to ${MEL_ROWS_PER_CHUNK} (got ${phases})`);
    }
    this.melIO = io(models.mel);
    this.embIO = io(models.embedding);
    this.rawTensor = new ort.Tensor('float32', this.raw, [1, MEL_WINDOW_SAMPLES]);
    this.firstTensor = new ort.Tensor('float32', this.firstWindow, [1, FRAME_SAMPLES]);
    this.embTensor = new ort.Tensor('float32', this.embInput, [1, EMBEDDING_MEL_ROWS, MEL_BINS, 1]);
    this.tracks = Array.from({ length: phases }, (_, p) => new EmbeddingTrack(Math.round((p * MEL_ROWS_PER_CHUNK) / phases), noise));
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
    this.resetMel();
    this.chunkMelEnd.fill(0);
    this.chunks = 0;
    for (let p = 0; p < this.tracks.length; p++) this.tracks[p] = new EmbeddingTrack(this.tracks[p]!.offsetRows, this.noise);
  }

  /** Consumes exactly one 1280-sample chunk: updates the raw window and appends its mel rows. */
  async pushChunk(chunk: Int16Array): Promise<void> {
    if (chunk.length !== FRAME_SAMPLES) throw new EarshotError('INTERNAL', `pushChunk needs ${FRAME_SAMPLES} samples`);
    const raw = this.raw;
    raw.copyWithin(0, FRAME_SAMPLES);
    const base = MEL_WINDOW_SAMPLES - FRAME_SAMPLES;
    for (let i = 0; i < FRAME_SAMPLES; i++) raw[base + i] = chunk[i]!;
    this.rawCount = Math.min(MEL_WINDOW_SAMPLES, this.rawCount + FRAME_SAMPLES);
    // Only the very first chunk has a shorter window (the reference's deque holds just 1280 samples then).
    let tensor = this.rawTensor;
    if (this.rawCount < MEL_WINDOW_SAMPLES) {
      this.firstWindow.set(raw.subarray(base));
      tensor = this.firstTensor;
    }
    const out = await this.models.mel.run({ [this.melIO.input]: tensor });
    if (tensor === this.firstTensor) this.firstWindow.fill(0); // used once; keep no audio outside the raw window
    const data = out[this.melIO.output]?.data as Float32Array | undefined;
    const rows = melRowsFor(this.rawCount);
    if (!data || data.length !== rows * MEL_BINS) throw new EarshotError('INTERNAL', 'unexpected mel model output size');
    this.appendMel(data, rows);
    this.chunks++;
    this.chunkMelEnd[EmbeddingTrack.slot(this.chunks)] = this.melTotal;
  }

  private appendMel(data: Float32Array, rows: number): void {
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
    for (let i = 0; i < rows * MEL_BINS; i++) mel[dst + i] = data[i]! / 10 + 2;
    this.melRows += rows;
    this.melTotal += rows;
  }

  /** Absolute mel row where chunk c's embedding window ends on track p. */
  private windowEnd(track: EmbeddingTrack, chunk: number): number {
    return this.chunkMelEnd[EmbeddingTrack.slot(chunk)]! - track.offsetRows;
  }

  /** True when chunk c's embedding on track p was computed from real mel rows only (no initial ones). */
  embeddingIsReal(phase: number, chunk: number): boolean {
    const track = this.tracks[phase]!;
    return chunk >= 1 && chunk <= this.chunks && this.windowEnd(track, chunk) - EMBEDDING_MEL_ROWS >= FeatureStream.INITIAL_ROWS;
  }

  /** True when the last `window` embeddings of track p all come from real audio. */
  windowIsReal(phase: number, window: number): boolean {
    return this.embeddingIsReal(phase, this.chunks - window + 1);
  }

  /** Computes any of the last `window` embeddings of track p that are missing (all of them after a gap). */
  async ensureEmbeddings(phase: number, window: number): Promise<void> {
    const track = this.tracks[phase]!;
    for (let c = Math.max(1, this.chunks - window + 1); c <= this.chunks; c++) {
      if (!track.has(c)) await this.computeEmbedding(track, c);
    }
  }

  /**
   * Computes every missing embedding of the last `window` chunks on all tracks in one batched model call.
   * With several phases each frame needs one new embedding per phase; one call of batch 2 costs 2–5 % less
   * than two calls of batch 1 here (interleaved A/B, test/fixtures/MEASUREMENTS.md §6). One phase: the plain call.
   */
  async ensureAllEmbeddings(window: number): Promise<void> {
    const todo: { track: EmbeddingTrack; chunk: number }[] = [];
    for (const track of this.tracks) {
      for (let c = Math.max(1, this.chunks - window + 1); c <= this.chunks; c++) if (!track.has(c)) todo.push({ track, chunk: c });
    }
    if (todo.length === 0) return;
    if (todo.length === 1) return this.computeEmbedding(todo[0]!.track, todo[0]!.chunk);
    const per = EMBEDDING_MEL_ROWS * MEL_BINS;
    let input: Float32Array;
    let tensor: ort.Tensor;
    if (todo.length === this.tracks.length) {
      // The steady state: reuse one buffer and tensor.
      this.batchInput ??= new Float32Array(this.tracks.length * per);
      this.batchTensor ??= new ort.Tensor('float32', this.batchInput, [this.tracks.length, EMBEDDING_MEL_ROWS, MEL_BINS, 1]);
      input = this.batchInput;
      tensor = this.batchTensor;
    } else {
      // A back-fill after the quiet gate: rare, sized to what is missing.
      input = new Float32Array(todo.length * per);
      tensor = new ort.Tensor('float32', input, [todo.length, EMBEDDING_MEL_ROWS, MEL_BINS, 1]);
    }
    todo.forEach(({ track, chunk }, i) => input.set(this.melWindow(track, chunk), i * per));
    const out = await this.models.embedding.run({ [this.embIO.input]: tensor });
    const data = out[this.embIO.output]?.data as Float32Array | undefined;
    if (!data || data.length !== todo.length * EMBEDDING_DIM) throw new EarshotError('INTERNAL', 'unexpected embedding model output size');
    this.embeddingCalls += todo.length;
    todo.forEach(({ track, chunk }, i) => this.storeEmbedding(track, chunk, data.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM)));
    if (input !== this.batchInput) input.fill(0);
  }

  /** The 76 mel rows chunk c's embedding reads on a track (a view into the mel buffer). */
  private melWindow(track: EmbeddingTrack, chunk: number): Float32Array {
    const end = this.windowEnd(track, chunk);
    const start = end - EMBEDDING_MEL_ROWS;
    const oldest = this.melTotal - this.melRows;
    if (start < oldest) throw new EarshotError('INTERNAL', `mel rows for chunk ${chunk} are no longer held`);
    const from = (this.melStart + (start - oldest)) * MEL_BINS;
    return this.mel.subarray(from, from + EMBEDDING_MEL_ROWS * MEL_BINS);
  }

  private storeEmbedding(track: EmbeddingTrack, chunk: number, data: Float32Array): void {
    const slot = EmbeddingTrack.slot(chunk);
    track.rows.set(data, slot * EMBEDDING_DIM);
    track.slotChunk[slot] = chunk;
  }

  private async computeEmbedding(track: EmbeddingTrack, chunk: number): Promise<void> {
    this.embInput.set(this.melWindow(track, chunk));
    const out = await this.models.embedding.run({ [this.embIO.input]: this.embTensor });
    this.embeddingCalls++;
    const data = out[this.embIO.output]?.data as Float32Array | undefined;
    if (!data || data.length !== EMBEDDING_DIM) throw new EarshotError('INTERNAL', 'unexpected embedding model output size');
    this.storeEmbedding(track, chunk, data);
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

  /** The newest `rows` mel rows (tests and tools). */
  lastMelRows(rows: number): Float32Array {
    const from = (this.melStart + this.melRows - rows) * MEL_BINS;
    return this.mel.slice(from, from + rows * MEL_BINS);
  }
}
