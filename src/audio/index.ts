/**
 * Audio in: WAV files, raw PCM streams and the microphone, all as `AudioChunks` (16 kHz mono int16).
 *
 *   microphone:  resilientMicrophone(config.audio, { signal, logger })   // restarts the recorder with backoff
 *   replay:      await WavFileSource.open(path, { realtime, signal })     // AUDIO_FILE / AUDIO_FORMAT up front
 *   stdin:       new PcmStreamSource(process.stdin, { signal })
 *   exact frames: toFrames(source, 1280) or new FrameSplitter(1280)
 */
export { SAMPLE_RATE, FRAME_SAMPLES, type AudioChunks } from '../core/index.js';
export { parseWav, readWav, readWavFile, encodeWav, type WavFormat, type DecodedWav, type ParsedWav, type SampleEncoding } from './wav.js';
export { resample, resampleToInt16, resampledLength, downmixToMono, toInt16 } from './resample.js';
export { FrameSplitter, toFrames } from './frame-splitter.js';
export { PcmByteDecoder } from './pcm-bytes.js';
export { sleep } from './sleep.js';
export { WavFileSource, type WavFileSourceOptions } from './sources/wav-file-source.js';
export { PcmStreamSource, type PcmStreamSourceOptions } from './sources/pcm-stream-source.js';
export { MicrophoneSource, defaultRecorder, summariseStderr, type MicrophoneOptions, type RecorderName } from './sources/microphone-source.js';
export { superviseSource, type SourceFailure, type SourceRetryPolicy, type SuperviseOptions } from './sources/supervise.js';
export { resilientMicrophone, type ResilientMicrophoneOptions } from './sources/resilient-microphone.js';
export { toneShare, longestToneMs } from './goertzel.js';
