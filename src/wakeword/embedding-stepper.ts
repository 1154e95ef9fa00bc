/**
 * One ONNX call of the streaming embedding model for a batch of tracks: the caller fills `input` (batch × 10
 * mel rows × 32), `step()` runs the model with the states the previous step returned and keeps the new ones.
 * States stay inside ONNX Runtime's output tensors and are fed straight back (no copies); `reset()` returns to
 * the empty (all-zero) state.
 */
import { EarshotError } from '../core/index.js';
import { EMBEDDING_DIM, MEL_BINS, STREAM_INPUT_ROWS } from './constants.js';
import { ort, type Session } from './onnx-sessions.js';

interface StateIO {
  input: string;
  output: string;
  /** Per-track shape after the batch dimension. */
  dims: number[];
}

export interface StreamIO {
  input: string;
  output: string;
  states: StateIO[];
}

/** Reads the streaming model's inputs and outputs from the session (main tensor first, then states in order). */
export function streamIO(session: Session): StreamIO {
  const [input, ...stateInputs] = session.inputNames;
  const [output, ...stateOutputs] = session.outputNames;
  if (input === undefined || output === undefined || stateInputs.length === 0 || stateInputs.length !== stateOutputs.length) {
    throw new EarshotError('MODEL_LOAD_FAILED', 'the streaming embedding model needs one input and one output plus matching state inputs/outputs');
  }
  const states = stateInputs.map((name, i): StateIO => {
    const meta = session.inputMetadata.find((m) => m.name === name);
    const shape = meta && 'shape' in meta ? meta.shape : undefined;
    const dims = shape?.slice(1).map((d) => (typeof d === 'number' ? d : Number.NaN)) ?? [];
    // [size] for a packed state (every bundled streaming model), or [channels, rows, width] for one state per convolution.
    if ((dims.length !== 3 && dims.length !== 1) || dims.some((d) => !(d > 0))) throw new EarshotError('MODEL_LOAD_FAILED', `streaming embedding state ${name} has no fixed shape`);
    return { input: name, output: stateOutputs[i]!, dims };
  });
  return { input, output, states };
}

export class EmbeddingStepper {
  /** Filled by the caller before each step: batch × STREAM_INPUT_ROWS × MEL_BINS. */
  readonly input: Float32Array;
  private readonly io: StreamIO;
  private readonly feeds: Record<string, ort.Tensor>;
  private readonly zeros: ort.Tensor[];
  /** Model calls made (warm-up steps included). */
  calls = 0;

  constructor(
    private readonly session: Session,
    readonly batch: number,
    /** Embeddings each batch item yields per step: 1, or P for a P-phase model (kind embedding-phases). */
    readonly perItem = 1,
  ) {
    this.io = streamIO(session);
    this.input = new Float32Array(batch * STREAM_INPUT_ROWS * MEL_BINS);
    this.feeds = { [this.io.input]: new ort.Tensor('float32', this.input, [batch, STREAM_INPUT_ROWS, MEL_BINS, 1]) };
    // ONNX Runtime never writes its inputs, so one zero tensor per state serves every reset.
    this.zeros = this.io.states.map((s) => new ort.Tensor('float32', new Float32Array(batch * s.dims.reduce((a, b) => a * b, 1)), [batch, ...s.dims]));
    this.reset();
  }

  reset(): void {
    this.io.states.forEach((s, i) => (this.feeds[s.input] = this.zeros[i]!));
  }

  /** Runs one step; returns batch × perItem × 96 embeddings (valid until the next step). */
  async step(): Promise<Float32Array> {
    const out = await this.session.run(this.feeds);
    this.calls++;
    const emb = out[this.io.output]?.data as Float32Array | undefined;
    if (!emb || emb.length !== this.batch * this.perItem * EMBEDDING_DIM) throw new EarshotError('INTERNAL', 'unexpected streaming embedding output size');
    for (const s of this.io.states) {
      const next = out[s.output];
      if (!next) throw new EarshotError('INTERNAL', `streaming embedding model returned no ${s.output}`);
      this.feeds[s.input] = next;
    }
    return emb;
  }
}
