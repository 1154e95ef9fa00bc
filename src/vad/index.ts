export { SileroVad, VAD_CHUNK_SAMPLES } from './SileroVad.js';
