/**
 * The always-on loop around a detector: audio is accepted the moment it arrives (never blocking the source,
 * never dropped), queued, and processed strictly in order by one worker. If processing is slower than real
 * time the queue grows and the metrics say so; nothing is skipped, so no wake word is missed because the
 * detector was busy.
 *
 * The queue holds references to the source's chunks only until they are processed (no copies are made here).
 */
import { FRAME_SAMPLES, SAMPLE_RATE } from '../core/audio-format.js';
import { EarshotError, errorMessage } from '../core/errors.js';
import type { WakeDetection } from './detector-state.js';

export interface FrameProcessor {
  push(samples: Int16Array): Promise<WakeDetection[]>;
}

export interface WakeLoopMetrics {
  /** Complete 80 ms frames' worth of samples processed. */
  framesProcessed: number;
  /** Frames' worth of samples accepted but not processed yet. */
  backlogFrames: number;
  maxBacklogFrames: number;
  /** Longest time from a chunk's arrival to the end of its processing. */
  maxLagMs: number;
  /** Detections emitted so far. */
  detections: number;
}

export interface WakeLoopOptions {
  /** Called for each detection, in audio order. */
  onDetection?: (d: WakeDetection) => void | Promise<void>;
  /**
   * Called after each accepted chunk has been processed, with the detections it produced and the index (since
   * the stream started) of its first sample. A capture session uses it to take the audio after the wake word:
   * for a detection d in this chunk, that audio starts at `samples.subarray(d.atMs * 16 - startSample)`.
   * It must not keep `samples` beyond the call unless they are post-wake audio.
   */
  onProcessed?: (samples: Int16Array, detections: readonly WakeDetection[], startSample: number) => void | Promise<void>;
  /** Called once if processing fails; the loop stops accepting audio. */
  onError?: (e: unknown) => void;
  now?: () => number;
}

interface Pending {
  samples: Int16Array;
  arrivedAt: number;
}

export class WakeLoop {
  private readonly queue: Pending[] = [];
  private head = 0;
  private queuedSamples = 0;
  private processedSamples = 0;
  private maxBacklogSamples = 0;
  private maxLag = 0;
  private detectionCount = 0;
  private running: Promise<void> | undefined;
  private failure: unknown;
  private readonly now: () => number;

  constructor(
    private readonly processor: FrameProcessor,
    private readonly opts: WakeLoopOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Accepts a chunk of any size; returns immediately. Throws only if the loop already failed. */
  accept(samples: Int16Array): void {
    if (this.failure !== undefined) throw new EarshotError('INTERNAL', `wake loop stopped after an error: ${errorMessage(this.failure)}`);
    if (samples.length === 0) return;
    this.queue.push({ samples, arrivedAt: this.now() });
    this.queuedSamples += samples.length;
    if (this.queuedSamples > this.maxBacklogSamples) this.maxBacklogSamples = this.queuedSamples;
    this.running ??= this.work();
  }

  /** Resolves once everything accepted so far has been processed (rejects if processing failed). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Feeds a whole source through the loop and waits until it is processed. */
  async run(source: AsyncIterable<Int16Array>, signal?: AbortSignal): Promise<void> {
    for await (const chunk of source) {
      if (signal?.aborted) break;
      this.accept(chunk);
    }
    await this.drain();
  }

  metrics(): WakeLoopMetrics {
    return {
      framesProcessed: Math.floor(this.processedSamples / FRAME_SAMPLES),
      backlogFrames: this.queuedSamples / FRAME_SAMPLES,
      maxBacklogFrames: this.maxBacklogSamples / FRAME_SAMPLES,
      maxLagMs: this.maxLag,
      detections: this.detectionCount,
    };
  }

  /** Audio time processed so far, ms. */
  get processedMs(): number {
    return (this.processedSamples * 1000) / SAMPLE_RATE;
  }

  private async work(): Promise<void> {
    try {
      while (this.head < this.queue.length) {
        const item = this.queue[this.head]!;
        const startSample = this.processedSamples;
        const detections = await this.processor.push(item.samples);
        this.queue[this.head] = undefined as unknown as Pending; // release the chunk now
        this.head++;
        this.queuedSamples -= item.samples.length;
        this.processedSamples += item.samples.length;
        const lag = this.now() - item.arrivedAt;
        if (lag > this.maxLag) this.maxLag = lag;
        for (const d of detections) {
          this.detectionCount++;
          await this.opts.onDetection?.(d);
        }
        await this.opts.onProcessed?.(item.samples, detections, startSample);
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
      }
    } catch (e) {
      this.failure = e;
      this.opts.onError?.(e);
    } finally {
      this.queue.length = 0;
      this.head = 0;
      this.running = undefined;
    }
  }
}
