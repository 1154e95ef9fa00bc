/**
 * The upload payload: a complete 16 kHz mono s16le WAV file. WAV rather than raw PCM because the cloud
 * can play or decode it without out-of-band format knowledge, at a cost of 44 bytes per recording.
 */
export { encodeWav } from '../audio/index.js';

export const RECORDING_CONTENT_TYPE = 'audio/wav';
