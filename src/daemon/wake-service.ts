/**
 * The audio side as a service: audio source → WakeLoop(detector) → CaptureSession(Silero VAD) → DaemonData.
 *
 * The owner is decided when the wake word is heard and travels with the wake event to the capture it starts
 * (a capture belongs to whoever was active at the wake, even if the active owner changes mid-command).
 *
 * Failures: a detector that throws fails `run`; the host restarts the service with backoff, which builds a
 * new detector and carries on with the same source (a replay continues where it stopped, the microphone keeps
 * its recorder). A microphone that fails is restarted by `resilientMicrophone` and reported as `source-failed`.
 */
import { SAMPLE_RATE, type AudioChunks, type Capture } from '../core/index.js';
import { CaptureSession, type CaptureOutcome, type SpeechProbabilityFn } from '../capture/index.js';
import type { DeviceConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import { EarshotError, errorMessage, isEarshotError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { WakeDetection, WakeLoopMetrics } from '../wakeword/index.js';
import { WakeLoop, type FrameProcessor } from '../wakeword/index.js';
import { SwappableDetector } from '../wakeword/index.js';
import type { VerifierModel } from '../verifier/index.js';
import type { DaemonData } from './daemon-data.js';
import type { DaemonEvent } from './events.js';
import type { Service } from './service.js';

/** A wake word heard while an owner was active: the capture it starts belongs to that owner. */
export interface OwnedWake extends WakeDetection {
  readonly ownerId: string;
}

/** After an owner's verifiers failed to open, how long before they are tried again (10 min). */
export const VERIFIER_RETRY_MS = 600_000;

/** A replay may run ahead of the detector by this much audio before reading pauses (10 s). */
export const REPLAY_MAX_BACKLOG_SAMPLES = 10 * SAMPLE_RATE;

/** A detector with the words it listens for. */
export interface BuiltDetector {
  processor: FrameProcessor;
  words: string[];
}

export interface WakeServiceDeps {
  data: DaemonData;
  /**
   * Builds a detector for these settings and household verifiers (WakeDetector.fromConfig in the daemon; a fake in
   * tests). Verifiers for words the settings do not listen for are the builder's to leave out.
   */
  buildDetector: (wake: DeviceConfig['wake'], verifiers: Record<string, VerifierModel>) => Promise<BuiltDetector>;
  /** The running configuration (device config with the fleet's documents applied), read at the first start. */
  live: () => DeviceConfig;
  /** The config file, named in configuration errors. */
  configSource?: string;
  vad: { process: SpeechProbabilityFn; reset: () => void };
  clock: Clock;
  /** Opens the audio source once; a restart continues with the same one. */
  openSource: (signal: AbortSignal) => Promise<AudioChunks>;
  /** File and stdin replays: pause reading while the loop is behind. */
  replay: boolean;
  uplinkEnabled: () => boolean;
  onStored?: (queued: boolean) => void;
  emit: (e: DaemonEvent) => void;
  logger: Logger;
}

export class WakeService implements Service {
  readonly name = 'wake';
  private loop: WakeLoop<OwnedWake> | undefined;
  private detector: SwappableDetector | undefined;
  private capture: CaptureSession<OwnedWake> | undefined;
  private wakeSettings: DeviceConfig['wake'] | undefined;
  private currentWords: string[] = [];
  private iterator: AsyncIterator<Int16Array> | undefined;
  private readonly sourceAbort = new AbortController();
  private readonly pendingSaves = new Set<Promise<void>>();
  private captures = 0;
  /** Metrics of loops that ended (a restart starts a new loop). */
  private previous: WakeLoopMetrics = { framesProcessed: 0, backlogFrames: 0, maxBacklogFrames: 0, maxLagMs: 0, detections: 0 };
  /** Samples handed to the capture session so far: stream time for a restarted detector. */
  private streamSamples = 0;
  private sourceFailed = false;
  /** The household verifiers the detector runs with, and whose they are ('' when nobody is active). */
  private verifiers: { ownerId: string; models: Record<string, VerifierModel>; key: string } = { ownerId: '', models: {}, key: '' };
  /** Verifiers that did not open: whose, and when (see loadVerifiers). */
  private verifierFailure: { ownerId: string; at: number } | undefined;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: WakeServiceDeps) {}

  /** Words whose verifier the detector applies now (non-personal: names of models, no owner). */
  get verifiedWords(): string[] {
    return Object.keys(this.verifiers.models).filter((w) => this.currentWords.includes(w));
  }

  get words(): string[] {
    return this.currentWords;
  }

  get capturesStored(): number {
    return this.captures;
  }

  metrics(): WakeLoopMetrics {
    const p = this.previous;
    const m = this.loop?.metrics();
    if (!m) return { ...p };
    return {
      framesProcessed: p.framesProcessed + m.framesProcessed,
      backlogFrames: m.backlogFrames,
      maxBacklogFrames: Math.max(p.maxBacklogFrames, m.maxBacklogFrames),
      maxLagMs: Math.max(p.maxLagMs, m.maxLagMs),
      detections: p.detections + m.detections,
    };
  }

  /** First start: builds the capture session and detector from the running config. A restart: a new detector. */
  async start(): Promise<void> {
    if (this.capture === undefined) {
      const live = this.deps.live();
      this.wakeSettings = live.wake;
      const { vad, clock } = this.deps;
      this.capture = new CaptureSession<OwnedWake>({ vad: vad.process, resetVad: vad.reset, settings: live.capture, clock });
    }
    if (this.verifiers.key === '') this.verifiers = await this.loadVerifiers();
    let built: BuiltDetector;
    try {
      built = await this.build(this.wakeSettings!);
    } catch (e) {
      throw wakeConfigError(e, this.wakeSettings!, this.deps.configSource);
    }
    const capture = this.capture;
    this.detector = new SwappableDetector(built.processor);
    this.currentWords = built.words;
    if (this.loop) this.previous = this.metrics();
    // A restarted detector counts from 0: its detections are moved to stream time.
    this.loop = new WakeLoop<OwnedWake>(offsetBy(this.detector, (this.streamSamples * 1000) / SAMPLE_RATE), {
      admit: (d) => this.admit(d),
      onProcessed: async (samples, wakes) => {
        this.streamSamples += samples.length;
        for (const o of await capture.processChunk(samples, wakes)) this.onOutcome(o);
      },
      onError: (e) => this.deps.logger.error('wake loop failed', { error: errorMessage(e) }),
    });
    this.iterator ??= (await this.deps.openSource(this.sourceAbort.signal))[Symbol.asyncIterator]();
  }

  /** Runs until the source ends or the daemon stops; rejects when the loop fails (the host restarts it). */
  async run(signal: AbortSignal): Promise<void> {
    const it = this.iterator!;
    // Without `return`, leaving the loop (a failure) does not close the source: a restart continues it.
    const source: AsyncIterable<Int16Array> = { [Symbol.asyncIterator]: () => ({ next: () => it.next() }) };
    const loop = this.loop!;
    try {
      await loop.run(source, {
        signal,
        ...(this.deps.replay ? { maxBacklogSamples: REPLAY_MAX_BACKLOG_SAMPLES } : {}),
      });
    } catch (e) {
      if (loop.failed !== undefined) throw e; // the detector failed: restarted, the capture in progress continues
      // The input itself failed (a replay's file or pipe): that is the end of it.
      this.sourceFailed = true;
      await this.finish();
      throw e;
    }
    await this.finish();
  }

  /** The source ended or the daemon is stopping: keep the capture in progress if it had speech. */
  private async finish(): Promise<void> {
    const last = await this.capture!.end();
    if (last.kind !== 'idle') this.onOutcome(last);
    await Promise.all([...this.pendingSaves]);
  }

  restartable(): boolean {
    return !this.sourceFailed;
  }

  async stop(): Promise<void> {
    this.loop?.stop();
    this.sourceAbort.abort();
    await Promise.all([...this.pendingSaves]);
    await this.iterator?.return?.();
  }

  /**
   * The running configuration changed (a fleet document): capture settings apply at once when listening (else
   * when the capture in progress ends); new wake settings get a new detector, swapped in at a chunk boundary.
   */
  reconfigure(config: DeviceConfig): void {
    try {
      this.capture?.reconfigure(config.capture);
    } catch (e) {
      this.deps.logger.error('capture settings from fleet config not applied', { error: errorMessage(e) });
    }
    this.reconfigureWake(config.wake);
  }

  private reconfigureWake(wake: DeviceConfig['wake']): void {
    if (this.wakeSettings === undefined || JSON.stringify(wake) === JSON.stringify(this.wakeSettings)) return;
    this.wakeSettings = wake;
    this.build(wake).then(
      (d) => {
        this.detector?.swap(d.processor);
        this.currentWords = d.words;
        this.deps.logger.info('wake-word settings applied live', { words: d.words.length });
      },
      (e: unknown) => this.deps.logger.error('wake-word settings from fleet config not applied', { error: errorMessage(e) }),
    );
  }

  /**
   * Looks again at whose verifiers apply (the active owner may have changed, or enrolled, retrained or removed one,
   * from the CLI or the owner page) and swaps in a detector built with them when they changed. Serialised; the daemon
   * calls it on a timer and after each wake.
   */
  refreshVerifiers(): Promise<void> {
    this.refreshing = this.refreshing.then(async () => {
      if (this.detector === undefined || this.wakeSettings === undefined) return;
      try {
        const next = await this.loadVerifiers();
        if (next.key === this.verifiers.key) return;
        const d = await this.build(this.wakeSettings, next.models);
        this.verifiers = next;
        this.detector.swap(d.processor);
        this.currentWords = d.words;
        this.deps.logger.info('household verifiers applied', { verifiedWords: this.verifiedWords.length });
      } catch (e) {
        // Tried again at the next check; the current detector keeps running meanwhile.
        this.deps.logger.error('a detector with the new verifiers could not be built; the current one keeps running', { error: errorMessage(e) });
      }
    });
    return this.refreshing;
  }

  /**
   * The active owner's verifiers. Verifiers that do not open are left out (the base model decides), logged, and not
   * tried again for that owner for VERIFIER_RETRY_MS: each failed opening is an incident in the audit log, and a new
   * audit entry is what makes the watch look again.
   */
  private async loadVerifiers(): Promise<{ ownerId: string; models: Record<string, VerifierModel>; key: string }> {
    const ownerId = (await this.deps.data.ownerAtWake()) ?? '';
    let models: Record<string, VerifierModel> = {};
    const failed = this.verifierFailure;
    const backingOff = failed !== undefined && failed.ownerId === ownerId && this.deps.clock.now() - failed.at < VERIFIER_RETRY_MS;
    if (ownerId !== '' && !backingOff) {
      try {
        models = await this.deps.data.verifiersFor(ownerId);
        this.verifierFailure = undefined;
      } catch (e) {
        this.deps.logger.error('household verifiers not applied; the base model decides', { error: errorMessage(e) });
        this.verifierFailure = { ownerId, at: this.deps.clock.now() };
      }
    }
    const key = `${ownerId}|${Object.entries(models).map(([w, m]) => `${w}:${m.trainedAt}:${m.bias}`).sort().join(',')}`;
    return { ownerId, models, key };
  }

  /**
   * The detector for `wake` with the verifiers of the words it listens for. Verifiers the settings cannot take (a
   * fleet threshold below a verifier's gate) are logged and the detector is built without them: the speaker keeps
   * listening with the base model rather than not at all.
   */
  private async build(wake: DeviceConfig['wake'], models: Record<string, VerifierModel> = this.verifiers.models): Promise<BuiltDetector> {
    const names = wake.words.map((w) => (typeof w === 'string' ? w : w.name));
    const usable = Object.fromEntries(Object.entries(models).filter(([w]) => names.includes(w)));
    if (Object.keys(usable).length === 0) return this.deps.buildDetector(wake, {});
    try {
      return await this.deps.buildDetector(wake, usable);
    } catch (e) {
      if (!isEarshotError(e, 'BAD_ARGUMENT')) throw e;
      this.deps.logger.error('household verifiers do not fit the wake settings; listening without them', { error: errorMessage(e) });
      return this.deps.buildDetector(wake, {});
    }
  }

  private async admit(d: WakeDetection): Promise<OwnedWake | undefined> {
    const ownerId = await this.deps.data.ownerAtWake();
    this.deps.emit({ type: 'wake', wakeword: d.wakeword, score: d.score, atMs: d.atMs, owner: ownerId ? 'active' : 'none' });
    if (!ownerId) {
      this.deps.logger.warn('wake word heard but no owner is active: nothing is captured (earshot owners add / use)');
      return undefined;
    }
    // The owner changed since the verifiers were loaded: the next wake is judged by the new owner's.
    if (ownerId !== this.verifiers.ownerId) void this.refreshVerifiers();
    return { ...d, ownerId };
  }

  private onOutcome(o: CaptureOutcome<OwnedWake>): void {
    if (o.kind === 'discarded') {
      this.deps.emit({ type: 'discarded', wakeword: o.wakeword, atMs: o.wakeAtMs, reason: o.reason });
      return;
    }
    // The detection's window (embedding features of the wake phrase, not audio) travels with the wake event: kept
    // sealed with the recording so that flagging it as a false wake later can teach the owner's verifier.
    const c: Capture = o.wake.features !== undefined ? { ...o.capture, wakeFeatures: o.wake.features } : o.capture;
    const p = (async () => {
      try {
        const { queued } = await this.deps.data.storeCapture(o.wake.ownerId, c, { uplink: this.deps.uplinkEnabled() });
        this.captures++;
        this.deps.emit({ type: 'captured', recordingId: c.id, wakeword: c.wakeword, atMs: c.wakeAtMs, durationMs: c.durationMs, endReason: c.endReason, queued });
        this.deps.onStored?.(queued);
      } catch (e) {
        this.deps.logger.error('storing a capture failed', { error: errorMessage(e), recordingId: c.id });
        this.deps.emit({ type: 'stored-failed', recordingId: c.id, error: errorMessage(e) });
      }
    })();
    const tracked = p.finally(() => this.pendingSaves.delete(tracked));
    this.pendingSaves.add(tracked);
  }
}

function offsetBy(p: FrameProcessor, offsetMs: number): FrameProcessor {
  if (offsetMs === 0) return p;
  return { push: async (samples) => (await p.push(samples)).map((d) => ({ ...d, atMs: d.atMs + offsetMs })) };
}

/** A wake word the manifest does not know is a configuration error: name the file and the field. */
function wakeConfigError(e: unknown, wake: DeviceConfig['wake'], configSource: string | undefined): unknown {
  if (!isEarshotError(e, 'MODEL_MISSING')) return e;
  const name = e.details?.['name'];
  const index = typeof name === 'string' ? wake.words.findIndex((w) => (typeof w === 'string' ? w : w.name) === name) : -1;
  if (index < 0) return e;
  const field = typeof wake.words[index] === 'string' ? `wake.words[${index}]` : `wake.words[${index}].name`;
  return new EarshotError('CONFIG_INVALID', `${configSource ?? 'device config'}: ${field}: ${e.message}`, { cause: e, details: { field } });
}
