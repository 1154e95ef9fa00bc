/**
 * The always-on loop around a detector: audio is accepted the moment it arrives, queued, and processed strictly
 * in order by one worker. If processing is slower than real time the queue grows and the metrics say so; nothing
 * is skipped, so no wake word is missed because the detector was busy.
 *
 * A live source (the microphone) is never blocked. A replay (file, stdin) is: `run` stops pulling from it while
 * more than `maxBacklogSamples` wait, so a fast input cannot fill memory (a paused stdin stops being read, and
 * the writer blocks on the pipe).
 *
 * The queue holds references to the source's chunks only until they are processed (no copies are made here).
 */
import { FRAME_SAMPLES } from '../core/index.js';
import { EarshotError, errorMessage } from '../core/index.js';
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

export interface WakeLoopOptions<W extends WakeDetection = WakeDetection> {
  /** Called for each detection, in audio order (observation only). */
  onDetection?: (d: WakeDetection) => void | Promise<void>;
  /**
   * Decides, for each detection, whether it starts anything downstream, and returns it as the value handed to
   * `onProcessed` (e.g. annotated with the owner active at wake time), or undefined to drop it. Without it
   * every detection is handed on as is.
   */
  admit?: (d: WakeDetection) => W | undefined | Promise<W | undefined>;
  /**
   * Called after each accepted chunk has been processed, with the admitted wakes it produced and the index (since
   * the stream started) of its first sample. A capture session uses it to take the audio after the wake word:
   * for a wake d in this chunk, that audio starts at `samples.subarray(d.atMs * 16 - startSample)`.
   * It must not keep `samples` beyond the call unless they are post-wake audio.
   */
  onProcessed?: (samples: Int16Array, wakes: readonly W[], startSample: number) => void | Promise<void>;
  /** Called once if processing fails; the loop stops accepting audio. */
  onError?: (e: unknown) => void;
  now?: () => number;
}

export interface WakeLoopRunOptions {
  /** Stops pulling from the source; audio already queued but not processed is dropped (see `stop`). */
  signal?: AbortSignal;
  /** Stop pulling from the source while more than this many samples wait (replays only). Default: never. */
  maxBacklogSamples?: number;
}

interface Pending {
  samples: Int16Array;
  arrivedAt: number;
}

export class WakeLoop<W extends WakeDetection = WakeDetection> {
  private readonly queue: (Pending | undefined)[] = [];
  private head = 0;
  private queuedSamples = 0;
  private processedSamples = 0;
  private maxBacklogSamples = 0;
  private maxLag = 0;
  private detectionCount = 0;
  private running: Promise<void> | undefined;
  private failure: unknown;
  private stopped = false;
  /** Woken whenever a chunk has been processed (backpressure in `run`). */
  private progressed: (() => void) | undefined;
  private readonly now: () => number;

  constructor(
    private readonly processor: FrameProcessor,
    private readonly opts: WakeLoopOptions<W> = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** The processing failure, if any. */
  get failed(): unknown {
    return this.failure;
  }

  /** Accepts a chunk of any size; returns immediately. Throws only if the loop already failed. */
  accept(samples: Int16Array): void {
    if (this.failure !== undefined) throw new EarshotError('INTERNAL', `wake loop stopped after an error: ${errorMessage(this.failure)}`);
    if (this.stopped || samples.length === 0) return;
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

  /**
   * Stops: the chunk being processed finishes, the rest of the queue is dropped and nothing more is accepted.
   * For a shutdown, where a replay's unprocessed backlog must not delay the exit.
   */
  stop(): void {
    this.stopped = true;
    for (let i = this.head; i < this.queue.length; i++) this.queue[i] = undefined;
    this.queue.length = 0;
    this.head = 0;
    this.queuedSamples = 0;
    this.progressed?.();
  }

  /** Feeds a source through the loop and waits until it is processed (or stopped by the signal). */
  async run(source: AsyncIterable<Int16Array>, opts: WakeLoopRunOptions = {}): Promise<void> {
    const { signal, maxBacklogSamples } = opts;
    const onAbort = () => this.stop();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (!this.stopped) {
        for await (const chunk of source) {
          if (this.stopped || this.failure !== undefined) break; // drain() reports the failure itself
          this.accept(chunk);
          if (maxBacklogSamples !== undefined) await this.belowBacklog(maxBacklogSamples);
          if (this.stopped || this.failure !== undefined) break;
        }
      }
      await this.drain();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async belowBacklog(max: number): Promise<void> {
    while (this.queuedSamples > max && !this.stopped && this.failure === undefined && this.running) {
      await new Promise<void>((resolve) => (this.progressed = resolve));
    }
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

  private async work(): Promise<void> {
    try {
      while (this.head < this.queue.length) {
        const item = this.queue[this.head]!;
        this.queue[this.head] = undefined; // release the chunk once processed
        this.head++;
        const startSample = this.processedSamples;
        const detections = await this.processor.push(item.samples);
        this.queuedSamples = Math.max(0, this.queuedSamples - item.samples.length);
        this.processedSamples += item.samples.length;
        const lag = this.now() - item.arrivedAt;
        if (lag > this.maxLag) this.maxLag = lag;
        const wakes: W[] = [];
        for (const d of detections) {
          this.detectionCount++;
          await this.opts.onDetection?.(d);
          const admitted = this.opts.admit ? await this.opts.admit(d) : (d as W);
          if (admitted !== undefined) wakes.push(admitted);
        }
        await this.opts.onProcessed?.(item.samples, wakes, startSample);
        this.progressed?.();
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
      this.queuedSamples = 0;
      this.running = undefined;
      this.progressed?.();
    }
  }
}
