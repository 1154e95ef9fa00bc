/**
 * Adapter the daemon drives with audio: runs the injected VAD (Silero, from src/vad) on each 640-sample half of a
 * post-wake frame and feeds the probabilities to the pure CaptureStateMachine. While listening the VAD is not run
 * and audio is not looked at (only its length is counted, to place wake events).
 *
 * Generic over the wake event: whatever the caller attached to the wake that started a capture (e.g. the owner
 * decided at wake time) comes back with that capture's outcome, as a value.
 *
 * Two ways to drive it:
 * - `processChunk(samples, detections)`: give it every chunk the wake detector processed, in stream order, with
 *   the detections that chunk produced (WakeLoop's onProcessed). It cuts the chunk at each detection's `atMs`
 *   so exactly the samples after the detecting frame are captured, whatever the chunk size.
 * - `wake(event)` + `pushFrame(frame)`: when the caller already works frame by frame (frames after the wake).
 */
import { SAMPLE_RATE } from '../core/index.js';
import type { Clock } from '../core/index.js';
import { FrameSplitter } from '../audio/index.js';
import { VAD_CHUNK_SAMPLES } from '../core/index.js';
import type { Capture } from '../core/index.js';
import {
  CaptureStateMachine,
  type CaptureSettings,
  type CaptureState,
  type CaptureStep,
  type WakeEvent,
} from './capture-state-machine.js';

/** Speech probability (0..1) of one 640-sample, 16 kHz chunk. */
export type SpeechProbabilityFn = (chunk640: Int16Array) => Promise<number>;

export interface CaptureSessionOptions {
  vad: SpeechProbabilityFn;
  settings: CaptureSettings;
  /** Called at each accepted wake, before the first post-wake chunk is scored (e.g. reset Silero's state). */
  resetVad?: () => void | Promise<void>;
  clock?: Clock;
  newId?: () => string;
}

/** A capture's outcome: kept (finished) or dropped (discarded), with the wake event that started it. */
export type CaptureOutcome<W extends WakeEvent = WakeEvent> = Extract<CaptureStep, { kind: 'finished' | 'discarded' }> & { readonly wake: W };

export class CaptureSession<W extends WakeEvent = WakeEvent> {
  private machine: CaptureStateMachine;
  private readonly opts: CaptureSessionOptions;
  /** New settings waiting for the capture in progress to end (a capture keeps the rules it started with). */
  private nextSettings: CaptureSettings | undefined;
  /** Post-wake audio waiting to complete a 1280-sample frame (empty whenever listening). */
  private readonly splitter = new FrameSplitter();
  /** Samples of the stream seen by processChunk so far (positions wake events). */
  private streamSamples = 0;
  /** The wake that started the capture in progress. */
  private current: W | undefined;

  constructor(opts: CaptureSessionOptions) {
    this.opts = opts;
    this.machine = this.makeMachine(opts.settings);
  }

  private makeMachine(settings: CaptureSettings): CaptureStateMachine {
    return new CaptureStateMachine(settings, {
      ...(this.opts.clock !== undefined ? { clock: this.opts.clock } : {}),
      ...(this.opts.newId !== undefined ? { newId: this.opts.newId } : {}),
    });
  }

  /**
   * Live settings change (fleet config): validated now, applied at once when listening, otherwise as soon
   * as the capture in progress ends.
   */
  reconfigure(settings: CaptureSettings): void {
    const next = this.makeMachine(settings); // throws BAD_ARGUMENT on invalid settings, before anything changes
    if (this.machine.wantsAudio) this.nextSettings = settings;
    else {
      this.machine = next;
      this.nextSettings = undefined;
    }
  }

  get state(): CaptureState {
    return this.machine.state;
  }

  get wantsAudio(): boolean {
    return this.machine.wantsAudio;
  }

  /** Audio held right now (0 whenever listening). */
  get heldSamples(): number {
    return this.machine.heldSamples + this.splitter.pending;
  }

  /** Starts a capture with the frames that follow; false (ignored) while one is in progress. */
  async wake(event: W): Promise<boolean> {
    if (this.machine.wantsAudio) return false;
    if (this.nextSettings !== undefined) {
      this.machine = this.makeMachine(this.nextSettings);
      this.nextSettings = undefined;
    }
    await this.opts.resetVad?.();
    const started = this.machine.wake(event);
    if (started) this.current = event;
    return started;
  }

  /** Feeds the next frame (any multiple of 640 samples; normally 1280). */
  async pushFrame(frame: Int16Array): Promise<CaptureStep | CaptureOutcome<W>> {
    if (!this.machine.wantsAudio) return { kind: 'idle' };
    const chunks = Math.ceil(frame.length / VAD_CHUNK_SAMPLES);
    const probs = new Array<number>(chunks);
    for (let c = 0; c < chunks; c++) {
      let chunk = frame.subarray(c * VAD_CHUNK_SAMPLES, (c + 1) * VAD_CHUNK_SAMPLES);
      if (chunk.length < VAD_CHUNK_SAMPLES) {
        const padded = new Int16Array(VAD_CHUNK_SAMPLES);
        padded.set(chunk);
        chunk = padded;
      }
      probs[c] = await this.opts.vad(chunk);
    }
    return this.deliver(this.machine.push(frame, probs));
  }

  /**
   * Feeds one chunk of the stream (any size) with the detections the wake detector produced for it. Must see
   * every chunk from the start of the stream, in order, because detections are placed by their `atMs`.
   * Returns the captures that finished or were discarded within this chunk.
   */
  async processChunk(samples: Int16Array, detections: readonly W[] = []): Promise<CaptureOutcome<W>[]> {
    const start = this.streamSamples;
    this.streamSamples += samples.length;
    const outcomes: CaptureOutcome<W>[] = [];
    let cursor = 0;
    const ordered = detections.length > 1 ? [...detections].sort((a, b) => a.atMs - b.atMs) : detections;
    for (const d of ordered) {
      const at = Math.min(samples.length, Math.max(cursor, Math.round((d.atMs * SAMPLE_RATE) / 1000) - start));
      if (this.machine.wantsAudio) await this.feed(samples.subarray(cursor, at), outcomes);
      cursor = at;
      if (!this.machine.wantsAudio) await this.wake(d);
    }
    if (this.machine.wantsAudio) await this.feed(samples.subarray(cursor), outcomes);
    return outcomes;
  }

  private async feed(segment: Int16Array, outcomes: CaptureOutcome<W>[]): Promise<void> {
    for (const frame of this.splitter.push(segment)) {
      const step = await this.pushFrame(frame);
      if ('wake' in step) {
        outcomes.push(step);
        // The rest of this chunk is after the capture: not kept.
        this.splitter.reset();
        return;
      }
    }
  }

  /** The stream ended: keeps a capture that had speech (including a last partial frame), discards one that had none. */
  async end(): Promise<CaptureOutcome<W> | { kind: 'idle' }> {
    if (this.machine.wantsAudio) {
      const last = this.splitter.flush();
      if (last !== undefined) {
        const step = await this.pushFrame(last);
        if ('wake' in step) return step;
      }
    }
    this.splitter.reset();
    const step = this.deliver(this.machine.end());
    return 'wake' in step ? step : { kind: 'idle' };
  }

  /** Drops a capture in progress without keeping anything. */
  cancel(): void {
    this.splitter.reset();
    this.machine.cancel();
    this.current = undefined;
  }

  /** A finished or discarded step gets the wake that started it; the capture is over, so it is forgotten. */
  private deliver(step: CaptureStep): CaptureStep | CaptureOutcome<W> {
    if (step.kind !== 'finished' && step.kind !== 'discarded') return step;
    const wake = this.current!;
    this.current = undefined;
    return { ...step, wake };
  }
}

export type { Capture };
