/**
 * Silero VAD (silero_vad.onnx from the pinned manifest): speech probability per 640-sample (40 ms) chunk.
 * The recurrent state (h, c: 2×1×64) is carried between calls, so chunks must arrive in order; reset()
 * starts a new stream. Audio is scaled to ±1 as the model expects.
 */
import { EarshotError } from '../core/index.js';
import { SAMPLE_RATE, VAD_CHUNK_SAMPLES } from '../core/index.js';
import { DEFAULT_MANIFEST, loadManifest, modelOfKind, openModel, ort, type ModelManifest, type Session } from '../models/index.js';

export { VAD_CHUNK_SAMPLES };
const STATE_SIZE = 2 * 1 * 64;

export class SileroVad {
  private readonly input = new Float32Array(VAD_CHUNK_SAMPLES);
  private readonly inputTensor: ort.Tensor;
  private readonly srTensor: ort.Tensor;
  private readonly h = new Float32Array(STATE_SIZE);
  private readonly c = new Float32Array(STATE_SIZE);
  private readonly hTensor: ort.Tensor;
  private readonly cTensor: ort.Tensor;
  private busy = false;

  private constructor(private readonly session: Session) {
    for (const name of ['input', 'sr', 'h', 'c']) {
      if (!session.inputNames.includes(name)) throw new EarshotError('MODEL_LOAD_FAILED', `VAD model lacks input '${name}'`);
    }
    for (const name of ['output', 'hn', 'cn']) {
      if (!session.outputNames.includes(name)) throw new EarshotError('MODEL_LOAD_FAILED', `VAD model lacks output '${name}'`);
    }
    this.inputTensor = new ort.Tensor('float32', this.input, [1, VAD_CHUNK_SAMPLES]);
    this.srTensor = new ort.Tensor('int64', BigInt64Array.from([BigInt(SAMPLE_RATE)]), []);
    this.hTensor = new ort.Tensor('float32', this.h, [2, 1, 64]);
    this.cTensor = new ort.Tensor('float32', this.c, [2, 1, 64]);
  }

  /** Loads the manifest's VAD model (hash verified before the session is created). */
  static async create(manifest?: ModelManifest | string): Promise<SileroVad> {
    const m = typeof manifest === 'object' ? manifest : await loadManifest(manifest ?? DEFAULT_MANIFEST);
    return new SileroVad(await openModel(m, modelOfKind(m, 'vad')));
  }

  /** Speech probability (0..1) of the next 640-sample chunk. */
  async process(chunk: Int16Array): Promise<number> {
    if (chunk.length !== VAD_CHUNK_SAMPLES) {
      throw new EarshotError('BAD_ARGUMENT', `SileroVad.process needs ${VAD_CHUNK_SAMPLES} samples (got ${chunk.length})`);
    }
    if (this.busy) throw new EarshotError('INTERNAL', 'SileroVad.process called again before the previous call finished');
    this.busy = true;
    try {
      for (let i = 0; i < VAD_CHUNK_SAMPLES; i++) this.input[i] = chunk[i]! / 32768;
      const out = await this.session.run({ input: this.inputTensor, sr: this.srTensor, h: this.hTensor, c: this.cTensor });
      this.h.set(out['hn']!.data as Float32Array);
      this.c.set(out['cn']!.data as Float32Array);
      return (out['output']!.data as Float32Array)[0]!;
    } finally {
      this.busy = false;
    }
  }

  reset(): void {
    this.h.fill(0);
    this.c.fill(0);
    this.input.fill(0);
  }
}
