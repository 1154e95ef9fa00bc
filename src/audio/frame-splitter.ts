/**
 * Cuts a stream of arbitrarily sized chunks into frames of exactly `frameSize` samples, carrying the
 * remainder to the next push. Used for 1280-sample wake-word frames and 640-sample VAD chunks.
 */
import { FRAME_SAMPLES, type AudioChunks } from '../core/index.js';

export class FrameSplitter {
  readonly frameSize: number;
  private readonly carry: Int16Array;
  private carried = 0;

  constructor(frameSize: number = FRAME_SAMPLES) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer (got ${frameSize})`);
    this.frameSize = frameSize;
    this.carry = new Int16Array(frameSize);
  }

  /** Samples waiting for the next frame. */
  get pending(): number {
    return this.carried;
  }

  /** Adds a chunk; returns every frame it completes (each a new array the caller owns). */
  push(chunk: Int16Array): Int16Array[] {
    const frames: Int16Array[] = [];
    const size = this.frameSize;
    let pos = 0;
    if (this.carried > 0) {
      const take = Math.min(size - this.carried, chunk.length);
      this.carry.set(chunk.subarray(0, take), this.carried);
      this.carried += take;
      pos = take;
      if (this.carried < size) return frames;
      frames.push(this.carry.slice());
      this.carried = 0;
    }
    while (chunk.length - pos >= size) {
      frames.push(chunk.slice(pos, pos + size));
      pos += size;
    }
    const rest = chunk.length - pos;
    if (rest > 0) {
      this.carry.set(chunk.subarray(pos), 0);
      this.carried = rest;
    }
    return frames;
  }

  /**
   * Returns the incomplete last frame and empties the splitter: zero-padded to a full frame when `pad` is true,
   * else just the leftover samples; undefined when nothing is pending.
   */
  flush(pad = false): Int16Array | undefined {
    if (this.carried === 0) return undefined;
    const out = pad ? new Int16Array(this.frameSize) : new Int16Array(this.carried);
    out.set(this.carry.subarray(0, this.carried));
    this.reset();
    return out;
  }

  /** Drops the pending samples, overwriting them so no audio lingers in memory. */
  reset(): void {
    this.carry.fill(0);
    this.carried = 0;
  }
}

/**
 * Re-frames an audio stream into exact `frameSize` frames. The last incomplete frame is zero-padded when
 * `padLast` is true (so a file's tail is still scored), otherwise dropped.
 */
export async function* toFrames(source: AudioChunks, frameSize: number = FRAME_SAMPLES, padLast = false): AsyncGenerator<Int16Array> {
  const splitter = new FrameSplitter(frameSize);
  try {
    for await (const chunk of source) {
      for (const frame of splitter.push(chunk)) yield frame;
    }
    if (padLast) {
      const last = splitter.flush(true);
      if (last !== undefined) yield last;
    }
  } finally {
    splitter.reset();
  }
}
