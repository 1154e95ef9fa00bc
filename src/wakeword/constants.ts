/**
 * openWakeWord's streaming constants (openwakeword/utils.py AudioFeatures and model.py Model), see design §3.
 */
import { FRAME_SAMPLES } from '../core/index.js';

export { FRAME_SAMPLES };
/** Extra samples before each chunk fed to the mel model (3 hops of 160). */
export const MEL_CONTEXT_SAMPLES = 480;
/** Mel window for one chunk: the last 1280 + 480 samples of the raw buffer. */
export const MEL_WINDOW_SAMPLES = FRAME_SAMPLES + MEL_CONTEXT_SAMPLES;
/** Mel model hop: one mel row per 10 ms. */
export const MEL_HOP_SAMPLES = 160;
export const MEL_BINS = 32;
/** Mel rows produced per full chunk window. */
export const MEL_ROWS_PER_CHUNK = 8;
/** Rows the embedding model looks at. */
export const EMBEDDING_MEL_ROWS = 76;
export const EMBEDDING_DIM = 96;
/** The mel buffer starts as ones(76, 32) and is capped at 970 rows (10 × 97). */
export const MEL_BUFFER_MAX_ROWS = 970;
/** The embedding buffer is capped at 120 rows (~10 s). */
export const EMBEDDING_BUFFER_MAX_ROWS = 120;
/** Initial embeddings come from 4 s of int16 noise in [-1000, 1000). */
export const NOISE_SAMPLES = 16_000 * 4;
export const NOISE_AMPLITUDE = 1000;
/** The reference zeroes the first 5 scores of every classifier. */
export const REFERENCE_SUPPRESSED_FRAMES = 5;
/** Default classifier window when a model's input shape does not say. */
export const DEFAULT_CLASSIFIER_WINDOW = 16;
/** Streaming embedding model: mel rows per step (8 new + the first 3-tall convolution's 2 rows of context). */
export const STREAM_INPUT_ROWS = 10;
/**
 * Steps from an empty state before a step's output is exact: its receptive field (76 rows) must lie inside
 * what has been fed, and 9 earlier steps + this one feed 9 · 8 + 10 = 82 ≥ 76 rows.
 */
export const STREAM_WARMUP_STEPS = 9;
