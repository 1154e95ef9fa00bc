/**
 * Lets fleet config change wake words and thresholds while the loop keeps running: a replacement detector
 * is built in the background and swapped in at the next chunk boundary. Detections keep stream time
 * (the new detector counts from 0, so its `atMs` is offset by the audio processed before the swap).
 * The new detector warms up on real audio first, exactly like a fresh start, so it cannot fire on its
 * initial noise windows.
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../core/index.js';
import type { WakeDetection } from './detector-state.js';
import type { FrameProcessor } from './wake-loop.js';

export class SwappableDetector implements FrameProcessor {
  private offsetMs = 0;
  private processedSamples = 0;
  private next: FrameProcessor | undefined;

  constructor(private current: FrameProcessor) {}

  /** Use `replacement` from the next chunk on. */
  swap(replacement: FrameProcessor): void {
    this.next = replacement;
  }

  get active(): FrameProcessor {
    return this.current;
  }

  async push(samples: Int16Array): Promise<WakeDetection[]> {
    if (!this.next) return this.pushCurrent(samples);
    // Swap on a frame boundary of the stream, so the new detector's frames line up with stream time: the
    // current detector takes the samples up to the boundary, the replacement everything after it.
    const toBoundary = (FRAME_SAMPLES - (this.processedSamples % FRAME_SAMPLES)) % FRAME_SAMPLES;
    if (toBoundary >= samples.length) return this.pushCurrent(samples);
    const found = toBoundary > 0 ? await this.pushCurrent(samples.subarray(0, toBoundary)) : [];
    this.current = this.next;
    this.next = undefined;
    this.offsetMs = (this.processedSamples * 1000) / SAMPLE_RATE;
    return found.concat(await this.pushCurrent(samples.subarray(toBoundary)));
  }

  private async pushCurrent(samples: Int16Array): Promise<WakeDetection[]> {
    const found = await this.current.push(samples);
    this.processedSamples += samples.length;
    if (this.offsetMs === 0) return found;
    return found.map((d) => ({ ...d, atMs: d.atMs + this.offsetMs }));
  }
}
