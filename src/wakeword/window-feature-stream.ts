/**
 * The faithfulness oracle: the same feature stream, but every embedding computed by the 76-row window model
 * (`embedding_model.onnx`, the pinned source of the streaming model) exactly as before the streaming model
 * existed. Used by tests and the bench to prove the streaming path gives the same embeddings and scores; the
 * detector never uses it.
 */
import { EarshotError } from '../core/index.js';
import { EMBEDDING_DIM, EMBEDDING_MEL_ROWS, MEL_BINS, MEL_ROWS_PER_CHUNK } from './constants.js';
import { clipWindows, FeatureStream, melOf, type NoiseEmbeddings } from './feature-stream.js';
import type { MelSpectrogram } from './mel-spectrogram.js';
import { ort, type Session } from './onnx-sessions.js';

export interface WindowModels {
  mel: MelSpectrogram;
  /** The window model (input [N, 76, 32, 1]). */
  window: Session;
}

/** Embeddings of batch × 76 mel rows with the window model. */
export async function windowEmbeddings(window: Session, rows: Float32Array, batch: number): Promise<Float32Array> {
  const input = window.inputNames[0]!;
  const output = window.outputNames[0]!;
  const out = await window.run({ [input]: new ort.Tensor('float32', rows, [batch, EMBEDDING_MEL_ROWS, MEL_BINS, 1]) });
  const data = out[output]?.data as Float32Array | undefined;
  if (!data || data.length !== batch * EMBEDDING_DIM) throw new EarshotError('INTERNAL', 'unexpected embedding model output size');
  return Float32Array.from(data);
}

/** The reference's `_get_embeddings` with the window model: one batch of every 76-row window, 8 rows apart. */
export async function embeddingsOfClipWindow(models: WindowModels, samples: Float32Array): Promise<NoiseEmbeddings> {
  const spec = await melOf(models.mel, samples);
  const windows = clipWindows(spec.length / MEL_BINS);
  const per = EMBEDDING_MEL_ROWS * MEL_BINS;
  const batch = new Float32Array(windows * per);
  for (let w = 0; w < windows; w++) batch.set(spec.subarray(w * MEL_ROWS_PER_CHUNK * MEL_BINS, w * MEL_ROWS_PER_CHUNK * MEL_BINS + per), w * per);
  return { rows: windows, data: await windowEmbeddings(models.window, batch, windows) };
}

export class WindowFeatureStream extends FeatureStream {
  /** Window-model calls (one per batch). */
  windowCalls = 0;

  constructor(
    private readonly windowModels: WindowModels,
    noise: NoiseEmbeddings,
    phases: number,
  ) {
    super({ mel: windowModels.mel }, noise, phases);
  }

  /** Every missing embedding of the last `window` chunks on every track, in one window-model batch. */
  override async ensureAllEmbeddings(window: number): Promise<void> {
    await this.ensureMel();
    const todo: { p: number; chunk: number }[] = [];
    for (let p = 0; p < this.tracks.length; p++) {
      for (let c = Math.max(1, this.chunks - window + 1); c <= this.chunks; c++) if (!this.tracks[p]!.has(c)) todo.push({ p, chunk: c });
    }
    if (todo.length === 0) return;
    const per = EMBEDDING_MEL_ROWS * MEL_BINS;
    const input = new Float32Array(todo.length * per);
    todo.forEach(({ p, chunk }, i) => input.set(this.rowsEnding(this.windowEnd(this.tracks[p]!, chunk), EMBEDDING_MEL_ROWS), i * per));
    const data = await windowEmbeddings(this.windowModels.window, input, todo.length);
    this.windowCalls++;
    this.embeddingCalls += todo.length;
    todo.forEach(({ p, chunk }, i) => this.tracks[p]!.store(chunk, data.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM)));
  }
}
