/**
 * Noise suppression in front of the wake-word features (issue 13 §6, the pink-noise case): SpeexDSP's
 * preprocessor — the suppressor openWakeWord itself offers (`enable_speex_noise_suppression`: 10 ms frames at
 * 16 kHz) — from the WebAssembly build `@sapphi-red/speex-preprocess-wasm` (no native build, no download:
 * the .wasm ships in the npm package). Denoise only: no automatic gain, no VAD, no dereverberation.
 *
 * Only the wake side hears the suppressed audio (mel, embeddings, classifiers and the quiet gate); what is
 * captured after a wake word is the microphone's audio, untouched.
 *
 * Privacy: speex keeps, inside its WebAssembly memory, the last frame of input (10 ms, for its overlapping
 * window) beside its spectral noise estimate. `reset` first pushes silent frames through, so no audio is left
 * in that memory, then frees the state; a suppressor that is garbage-collected is wiped and freed the same way
 * (a FinalizationRegistry: detectors and scorers have no close, and each holds ~25 KB of the shared heap).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadSpeexModule, type SpeexModule } from '@sapphi-red/speex-preprocess-wasm';
import { EarshotError, FRAME_SAMPLES, SAMPLE_RATE } from '../core/index.js';

/** Speex frame: 10 ms at 16 kHz, as openWakeWord uses it; 8 frames per 80 ms chunk. */
export const NOISE_SUPPRESSION_FRAME_SAMPLES = 160;
/**
 * The most noise is attenuated, dB. Speex's own default (and openWakeWord's) is 15; 20 missed fewest wake
 * phrases on the tuning voices without any word missing more than unsuppressed (README "Noise suppression").
 * The device config default (config/defaults.ts) holds the same value; noise-suppression.test.ts keeps them equal.
 */
export const DEFAULT_NOISE_SUPPRESSION_DB = 20;
/** Allowed attenuation limits (speex takes any; beyond 60 dB speech goes too). */
export const NOISE_SUPPRESSION_DB_RANGE = { min: 1, max: 60 } as const;

let speexModule: Promise<SpeexModule> | undefined;

/** The WebAssembly module, compiled once per process. */
function speex(): Promise<SpeexModule> {
  speexModule ??= (async () => {
    const wasmPath = createRequire(import.meta.url).resolve('@sapphi-red/speex-preprocess-wasm/speex.wasm');
    const wasmBinary = await readFile(wasmPath);
    // Copy into an ArrayBuffer of its own: emscripten wants the whole buffer to be the module.
    return loadSpeexModule({ wasmBinary: wasmBinary.buffer.slice(wasmBinary.byteOffset, wasmBinary.byteOffset + wasmBinary.byteLength) });
  })().catch((e: unknown) => {
    speexModule = undefined;
    throw new EarshotError('MODEL_LOAD_FAILED', `the speex noise suppressor did not load: ${e instanceof Error ? e.message : String(e)}`);
  });
  return speexModule;
}

function checkNoiseSuppressionDb(db: number): void {
  if (!Number.isFinite(db) || db < NOISE_SUPPRESSION_DB_RANGE.min || db > NOISE_SUPPRESSION_DB_RANGE.max) {
    throw new EarshotError('BAD_ARGUMENT', `noiseSuppressionDb must be from ${NOISE_SUPPRESSION_DB_RANGE.min} to ${NOISE_SUPPRESSION_DB_RANGE.max} dB (got ${db})`);
  }
}

/** speex_preprocess.h requests (the package does not export its table). */
const SET_DENOISE = 0;
const SET_AGC = 2;
const SET_NOISE_SUPPRESS = 18;

/** A suppressor's allocations in the shared WebAssembly heap (apart from the object, so a finaliser can free them). */
interface SpeexHandle {
  module: SpeexModule;
  /** Speex's state (0 = none), one frame of samples, one int for its ctl calls. */
  state: number;
  frame: number;
  ctlArg: number;
}

/** Pushes silent frames through (speex holds the last frame of input), zeroes the frame and frees the state. */
function wipe(h: SpeexHandle): void {
  const m = h.module;
  const from = h.frame >> 1;
  for (let i = 0; i < 2; i++) {
    m.HEAP16.fill(0, from, from + NOISE_SUPPRESSION_FRAME_SAMPLES);
    m._speex_preprocess_run(h.state, h.frame);
  }
  m.HEAP16.fill(0, from, from + NOISE_SUPPRESSION_FRAME_SAMPLES);
  m._speex_preprocess_state_destroy(h.state);
  h.state = 0;
}

const freed = new FinalizationRegistry<SpeexHandle>((h) => {
  if (h.state) wipe(h);
  h.module._free(h.frame);
  h.module._free(h.ctlArg);
});

export class NoiseSuppressor {
  private readonly h: SpeexHandle;

  private constructor(
    module: SpeexModule,
    /** The most the suppressor attenuates noise, dB (positive). */
    readonly attenuationDb: number,
  ) {
    this.h = { module, state: 0, frame: module._malloc(NOISE_SUPPRESSION_FRAME_SAMPLES * 2), ctlArg: module._malloc(4) };
    if (!this.h.frame || !this.h.ctlArg) throw new EarshotError('INTERNAL', 'the speex noise suppressor could not allocate its buffers');
    freed.register(this, this.h);
    this.open();
  }

  static async create(attenuationDb: number = DEFAULT_NOISE_SUPPRESSION_DB): Promise<NoiseSuppressor> {
    checkNoiseSuppressionDb(attenuationDb);
    return new NoiseSuppressor(await speex(), attenuationDb);
  }

  private open(): void {
    const h = this.h;
    h.state = h.module._speex_preprocess_state_init(NOISE_SUPPRESSION_FRAME_SAMPLES, SAMPLE_RATE);
    if (!h.state) throw new EarshotError('INTERNAL', 'the speex noise suppressor could not create its state');
    this.ctl(SET_DENOISE, 1);
    this.ctl(SET_AGC, 0);
    this.ctl(SET_NOISE_SUPPRESS, -this.attenuationDb);
  }

  private ctl(request: number, value: number): void {
    const h = this.h;
    h.module.HEAP32[h.ctlArg >> 2] = value;
    if (h.module._speex_preprocess_ctl(h.state, request, h.ctlArg) !== 0) throw new EarshotError('INTERNAL', `speex refused preprocessor request ${request}`);
  }

  /** Suppresses noise in one 80 ms chunk, in place (8 speex frames: the chunk grid is the frame grid). */
  processChunk(chunk: Int16Array): void {
    if (chunk.length !== FRAME_SAMPLES) throw new EarshotError('INTERNAL', `processChunk needs ${FRAME_SAMPLES} samples`);
    const { module: m, state, frame } = this.h;
    const at16 = frame >> 1;
    for (let at = 0; at < FRAME_SAMPLES; at += NOISE_SUPPRESSION_FRAME_SAMPLES) {
      // HEAP16 is re-read each time: a heap that grows replaces the view.
      m.HEAP16.set(chunk.subarray(at, at + NOISE_SUPPRESSION_FRAME_SAMPLES), at16);
      m._speex_preprocess_run(state, frame);
      chunk.set(m.HEAP16.subarray(at16, at16 + NOISE_SUPPRESSION_FRAME_SAMPLES), at);
    }
  }

  /** A fresh state: the noise estimate starts again (a new stream). */
  reset(): void {
    wipe(this.h);
    this.open();
  }
}
