/**
 * Replays a WAV file as 16 kHz mono audio chunks, either as fast as the consumer pulls or at real-time pace
 * (each chunk is released when a microphone would have delivered it).
 */
import { FRAME_SAMPLES, SAMPLE_RATE, type AudioChunks } from '../../core/audio-format.js';
import { readWavFile, type DecodedWav } from '../wav.js';
import { sleep } from '../sleep.js';

export interface WavFileSourceOptions {
  /** Pace chunks at real time instead of as fast as possible. Default false. */
  realtime?: boolean;
  /** Samples per chunk (default 1280 = 80 ms). */
  chunkSamples?: number;
  /** Stops the replay; iteration then ends normally. */
  signal?: AbortSignal;
}

export class WavFileSource implements AudioChunks {
  /** Format of the file as stored (before conversion to 16 kHz mono). */
  readonly wav: DecodedWav;
  private readonly opts: WavFileSourceOptions;

  constructor(wav: DecodedWav, opts: WavFileSourceOptions = {}) {
    const chunk = opts.chunkSamples ?? FRAME_SAMPLES;
    if (!Number.isInteger(chunk) || chunk <= 0) throw new RangeError(`chunkSamples must be a positive integer (got ${chunk})`);
    this.wav = wav;
    this.opts = opts;
  }

  /** Reads and validates the file up front, so a bad file fails before any audio flows (AUDIO_FILE / AUDIO_FORMAT). */
  static async open(path: string, opts: WavFileSourceOptions = {}): Promise<WavFileSource> {
    return new WavFileSource(await readWavFile(path), opts);
  }

  /** Duration of the converted audio in ms. */
  get durationMs(): number {
    return (this.wav.pcm16k.length / SAMPLE_RATE) * 1000;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    const { realtime = false, signal } = this.opts;
    const chunk = this.opts.chunkSamples ?? FRAME_SAMPLES;
    const pcm = this.wav.pcm16k;
    const t0 = performance.now();
    for (let pos = 0; pos < pcm.length; pos += chunk) {
      if (signal?.aborted) return;
      const end = Math.min(pos + chunk, pcm.length);
      if (realtime) {
        // Schedule against the start time so timer lateness never accumulates into drift.
        const due = t0 + (end / SAMPLE_RATE) * 1000;
        if (!(await sleep(due - performance.now(), signal))) return;
      }
      yield pcm.slice(pos, end);
    }
  }
}
