export { SileroVad, VAD_CHUNK_SAMPLES } from './silero-vad.js';
