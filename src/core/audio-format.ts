/** The one internal audio format: 16 kHz, mono, signed 16-bit, processed in 80 ms frames. */
export const SAMPLE_RATE = 16_000;
/** openWakeWord's step: 1280 samples = 80 ms at 16 kHz. */
export const FRAME_SAMPLES = 1280;
/** Silero VAD's step: 640 samples = 40 ms, two per wake-word frame. */
export const VAD_CHUNK_SAMPLES = 640;
export const FRAME_MS = (FRAME_SAMPLES / SAMPLE_RATE) * 1000;

/** A stream of audio as the rest of Earshot sees it: chunks of any length, 16 kHz mono int16. */
export type AudioChunks = AsyncIterable<Int16Array>;
