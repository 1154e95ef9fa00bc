/**
 * Replays a WAV file as 16 kHz mono audio chunks, either as fast as the consumer pulls or at real-time pace
 * (each chunk is released when a microphone would have delivered it). The file is read, downmixed and
 * resampled block by block as the consumer pulls, so a replay of any length holds one block in memory.
 */
import { FRAME_SAMPLES, SAMPLE_RATE, type AudioChunks } from '../../core/index.js';
import { FrameSplitter } from '../frame-splitter.js';
import { probeWavFile, streamWavFile, type WavFileLayout } from '../wav.js';
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
  readonly wav: WavFileLayout;
  private readonly opts: WavFileSourceOptions;

  constructor(layout: WavFileLayout, opts: WavFileSourceOptions = {}) {
    const chunk = opts.chunkSamples ?? FRAME_SAMPLES;
    if (!Number.isInteger(chunk) || chunk <= 0) throw new RangeError(`chunkSamples must be a positive integer (got ${chunk})`);
    this.wav = layout;
    this.opts = opts;
  }

  /** Validates the file's header up front, so a bad file fails before any audio flows (AUDIO_FILE / AUDIO_FORMAT). */
  static async open(path: string, opts: WavFileSourceOptions = {}): Promise<WavFileSource> {
    return new WavFileSource(probeWavFile(path), opts);
  }

  /** Duration of the converted audio in ms. */
  get durationMs(): number {
    return (this.wav.samples16k / SAMPLE_RATE) * 1000;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    const { realtime = false, signal } = this.opts;
    const splitter = new FrameSplitter(this.opts.chunkSamples ?? FRAME_SAMPLES);
    const t0 = performance.now();
    let delivered = 0;
    const release = async (chunk: Int16Array): Promise<boolean> => {
      delivered += chunk.length;
      if (realtime) {
        // Schedule against the start time so timer lateness never accumulates into drift.
        const due = t0 + (delivered / SAMPLE_RATE) * 1000;
        if (!(await sleep(due - performance.now(), signal))) return false;
      }
      return !signal?.aborted;
    };
    if (signal?.aborted) return;
    try {
      for await (const piece of streamWavFile(this.wav)) {
        for (const chunk of splitter.push(piece)) {
          if (!(await release(chunk))) return;
          yield chunk;
        }
        if (signal?.aborted) return;
      }
      const last = splitter.flush();
      if (last !== undefined && (await release(last))) yield last;
    } finally {
      splitter.reset();
    }
  }
}
