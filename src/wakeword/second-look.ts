/**
 * The second look: the odd half of 8 phases, stepped only when asked (issue 13 §6).
 *
 * The 4-phase streaming model (models/embedding_streaming_4phases.onnx) yields the windows ending 0, 2, 4 and
 * 6 mel rows before the newest row it is given. Given the rows ending one row earlier, the same model yields
 * the windows ending 1, 3, 5 and 7 rows back: the phases an 8-phase stream has and a 4-phase one lacks. This
 * keeps that second stepper and its four tracks next to a 4-phase FeatureStream, reading the stream's mel rows.
 *
 * It is stepped only for frames the caller asks for (SecondLookGate decides). Its state then lags behind the
 * stream; `ensureEmbeddings` catches up exactly like the stream after the quiet gate: it resumes from the held
 * state when that is at most 9 chunks behind the first missing embedding, else it empties the state and warms
 * up over the 9 chunks before it (16 + 9 = 25 steps for a 16-embedding window). The mel buffer keeps 970 rows
 * (121 chunks), far more than that reads. Outputs are exactly the 8-phase stream's odd tracks (tested).
 */
import { EarshotError } from '../core/index.js';
import { EMBEDDING_DIM, MEL_ROWS_PER_CHUNK, STREAM_WARMUP_STEPS } from './constants.js';
import { EmbeddingStepper } from './embedding-stepper.js';
import { EmbeddingTrack, type FeatureStream, type NoiseEmbeddings } from './feature-stream.js';
import type { Session } from './onnx-sessions.js';

/** The phases of the stream the second look completes: 4, the multi-phase model it steps. */
export const SECOND_LOOK_PHASES = 4;

export class SecondLook {
  /** Track j reads the window ending 2j + 1 rows before the newest row (phases 1, 3, 5, 7 of 8). */
  private tracks: EmbeddingTrack[];
  private readonly stepper: EmbeddingStepper;
  /** Chunk of the last step (the stepper's state is the state after it); NaN = empty state. */
  private streamChunk = Number.NaN;
  /** First chunk whose step output is exact since the state was last emptied. */
  private exactFrom = Number.POSITIVE_INFINITY;
  /** Model calls made (warm-up steps included), catch-ups that resumed and that re-warmed. */
  steps = 0;
  resumes = 0;
  rewarms = 0;

  constructor(
    private readonly stream: FeatureStream,
    private readonly noise: NoiseEmbeddings,
  ) {
    const session: Session | undefined = stream.phasedSession;
    if (stream.phases !== SECOND_LOOK_PHASES || session === undefined) {
      throw new EarshotError('BAD_ARGUMENT', `the second look completes a ${SECOND_LOOK_PHASES}-phase stream with its multi-phase model (got ${stream.phases} phases${session === undefined ? ', no multi-phase model' : ''})`);
    }
    this.stepper = new EmbeddingStepper(session, 1, SECOND_LOOK_PHASES);
    this.tracks = this.freshTracks();
  }

  private freshTracks(): EmbeddingTrack[] {
    return Array.from({ length: SECOND_LOOK_PHASES }, (_, j) => new EmbeddingTrack(this.offsetRows(j), this.noise));
  }

  /** Rows between the newest mel row and track j's window end. */
  offsetRows(j: number): number {
    return (2 * j + 1) * (MEL_ROWS_PER_CHUNK / (2 * SECOND_LOOK_PHASES));
  }

  /** Back to a fresh look (with the stream's reset: the state came from the mel rows it drops). */
  reset(): void {
    this.tracks = this.freshTracks();
    this.stepper.reset();
    this.streamChunk = Number.NaN;
    this.exactFrom = Number.POSITIVE_INFINITY;
  }

  /** Computes any of the last `window` embeddings of the odd tracks that are missing (the stream's mel must be current). */
  async ensureEmbeddings(window: number): Promise<void> {
    const chunks = this.stream.chunks;
    const from = Math.max(1, chunks - window + 1);
    let first = Number.NaN;
    for (let c = from; c <= chunks; c++) {
      if (!this.tracks[0]!.has(c)) {
        first = c;
        break;
      }
    }
    if (Number.isNaN(first)) return;
    await this.stream.ensureMel();
    let start: number;
    const held = this.streamChunk;
    if (held < first && held >= first - 1 - STREAM_WARMUP_STEPS && held >= this.exactFrom - 1) {
      start = held + 1;
      if (held < chunks - 1) this.resumes++;
    } else {
      this.rewarms++;
      this.stepper.reset();
      start = first - STREAM_WARMUP_STEPS;
      this.exactFrom = first;
    }
    const P = SECOND_LOOK_PHASES;
    for (let k = start; k <= chunks; k++) {
      // One row earlier than the stream's own step: the model's outputs end 1, 3, 5, 7 rows back.
      this.stepper.input.set(this.stream.stepRows(k, 1));
      const out = await this.stepper.step();
      this.steps++;
      this.streamChunk = k;
      if (k < this.exactFrom || k < 1) continue;
      // The multi-phase model yields the oldest window first: output i is track P − 1 − i.
      for (let j = 0; j < P; j++) this.tracks[j]!.store(k, out.subarray((P - 1 - j) * EMBEDDING_DIM, (P - j) * EMBEDDING_DIM));
    }
  }

  /** True when the last `window` embeddings of track j come from real audio only. */
  windowIsReal(j: number, window: number): boolean {
    return this.stream.embeddingIsRealAt(this.offsetRows(j), this.stream.chunks - window + 1);
  }

  /** Copies the last `window` embeddings of track j (oldest first) into `out` (window × 96). */
  copyWindow(j: number, window: number, out: Float32Array): void {
    const track = this.tracks[j]!;
    const chunks = this.stream.chunks;
    for (let i = 0; i < window; i++) {
      const c = chunks - window + 1 + i;
      if (!track.has(c)) throw new EarshotError('INTERNAL', `second-look embedding for chunk ${c} missing (call ensureEmbeddings first)`);
      const slot = EmbeddingTrack.slot(c);
      out.set(track.rows.subarray(slot * EMBEDDING_DIM, (slot + 1) * EMBEDDING_DIM), i * EMBEDDING_DIM);
    }
  }
}
