/**
 * The audio side as a service: audio source → WakeLoop(detector) → CaptureSession(Silero VAD) → DaemonData.
 *
 * The owner is decided when the wake word is heard and travels with the wake event to the capture it starts:
 * the owner who claimed the word, else whoever was active at the wake (even if the active owner changes
 * mid-command); a wake whose owner cannot be told (claims that do not open) is not captured.
 *
 * Each word runs with the settings of the owner it routes to: their own threshold (never below the fleet's
 * floor) and their household verifier, at their verifier gate. The detector is rebuilt when any of that
 * changes — a claim, `earshot tune --apply`, another active owner, a verifier enrolled, retrained or removed, a
 * fleet document — and swapped in at a chunk boundary; a wake that fires between such a change and the swap is
 * checked against the threshold of the owner it now routes to.
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
import { wakeWithOwnerThresholds, type AppliedFleetDocument } from '../fleet/index.js';
import type { VerifierModel } from '../verifier/index.js';
import type { DaemonData } from './daemon-data.js';
import type { DaemonEvent } from './events.js';
import type { Service } from './service.js';

/** A wake word heard while an owner was active: the capture it starts belongs to that owner. */
export interface OwnedWake extends WakeDetection {
  readonly ownerId: string;
}

/** A replay may run ahead of the detector by this much audio before reading pauses (10 s). */
export const REPLAY_MAX_BACKLOG_SAMPLES = 10 * SAMPLE_RATE;

/**
 * What the detector runs with: the running config's wake settings with, per word, the threshold of the owner the
 * word routes to, and that owner's verifier at their gate. `owners` says whose settings each word has ('' for
 * nobody's); `key` identifies the whole (a rebuild only when it changes).
 */
export interface DetectorPlan {
  wake: DeviceConfig['wake'];
  verifiers: Record<string, VerifierModel>;
  owners: Record<string, string>;
  key: string;
}

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
  /** The applied fleet documents in layering order: an owner's threshold never goes below their floor. Default none. */
  fleetDocuments?: () => readonly AppliedFleetDocument[];
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
  /** The running config's wake section. */
  private wakeSettings: DeviceConfig['wake'] | undefined;
  /** What the current detector was built with. */
  private plan: DetectorPlan | undefined;
  /** Rebuilds run one after another, so an older one never swaps in after a newer one. */
  private refreshing: Promise<void> = Promise.resolve();
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
  /** The last problem reading the owners' settings or verifiers (reported once, not at every check). */
  private planProblem: string | undefined;

  constructor(private readonly deps: WakeServiceDeps) {}

  /** Words whose verifier the detector applies now (non-personal: names of models, no owner). */
  get verifiedWords(): string[] {
    return Object.keys(this.plan?.verifiers ?? {}).filter((w) => this.currentWords.includes(w));
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
    const plan = await this.planFor(this.wakeSettings!);
    let built: BuiltDetector;
    try {
      built = await this.build(plan);
    } catch (e) {
      throw wakeConfigError(e, this.wakeSettings!, this.deps.configSource);
    }
    this.plan = plan;
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
    if (this.wakeSettings === undefined || JSON.stringify(config.wake) === JSON.stringify(this.wakeSettings)) return;
    this.wakeSettings = config.wake;
    void this.refreshDetector();
  }

  /**
   * Looks again at what the detector should run with — the owners' claims, thresholds and verifiers and the
   * active owner may have changed in another process (the CLI, the owner page) — and swaps in a detector built
   * with it when it differs. Serialised; the daemon calls it when the audit log moves and after a stale wake.
   */
  refreshDetector(): Promise<void> {
    this.refreshing = this.refreshing.then(async () => {
      if (this.detector === undefined || this.wakeSettings === undefined) return;
      try {
        const next = await this.planFor(this.wakeSettings);
        if (next.key === this.plan?.key) return;
        const d = await this.build(next);
        this.plan = next;
        this.detector.swap(d.processor);
        this.currentWords = d.words;
        this.deps.logger.info('wake-word settings applied live', { words: d.words.length, verifiedWords: this.verifiedWords.length });
      } catch (e) {
        // Tried again at the next check; the current detector keeps running meanwhile.
        this.deps.logger.error('a detector with the new wake settings could not be built; the current one keeps running', { error: errorMessage(e) });
      }
    });
    return this.refreshing;
  }

  /**
   * The detector plan for the running config's wake settings: per word, the owner it routes to now, their
   * threshold under the fleet's floor, and their verifier at their gate (never above the word's threshold). What
   * cannot be read (a profile or verifier that does not open) is reported once and left out: the device config's
   * threshold and the base model decide, and a wake of a word whose owner cannot be told is withheld at admit.
   */
  private async planFor(live: DeviceConfig['wake']): Promise<DetectorPlan> {
    const names = live.words.map((w) => (typeof w === 'string' ? w : w.name));
    const problems: string[] = [];
    let owners: Awaited<ReturnType<DaemonData['wakeOwners']>> = {};
    try {
      owners = await this.deps.data.wakeOwners(names);
    } catch (e) {
      problems.push(`owners' wake settings: ${errorMessage(e)}`);
    }
    const wake = wakeWithOwnerThresholds(live, this.deps.fleetDocuments?.() ?? [], (w) => owners[w]?.threshold);
    const models = new Map<string, Record<string, VerifierModel>>();
    for (const ownerId of new Set(Object.values(owners).map((o) => o.ownerId))) {
      try {
        models.set(ownerId, await this.deps.data.verifiersFor(ownerId));
      } catch (e) {
        problems.push(`household verifiers: ${errorMessage(e)}`);
      }
    }
    const verifiers: Record<string, VerifierModel> = {};
    const whose: Record<string, string> = {};
    for (const w of names) {
      const o = owners[w];
      whose[w] = o?.ownerId ?? '';
      const m = o === undefined ? undefined : models.get(o.ownerId)?.[w];
      if (m === undefined) continue;
      const cfg = wake.words.find((x) => x.name === w);
      const threshold = cfg?.threshold ?? wake.threshold;
      const gate = Math.min(o!.verifierGate ?? m.gate, threshold);
      verifiers[w] = gate === m.gate ? m : { ...m, gate };
    }
    const problem = problems.join('; ') || undefined;
    if (problem !== undefined && problem !== this.planProblem) this.deps.logger.error('wake settings of owners not applied', { error: problem });
    this.planProblem = problem;
    const key = JSON.stringify({
      wake,
      whose,
      verifiers: Object.entries(verifiers)
        .map(([w, m]) => [w, m.trainedAt, m.bias, m.gate] as const)
        .sort(([a], [b]) => a.localeCompare(b)),
    });
    return { wake, verifiers, owners: whose, key };
  }

  /**
   * The detector for a plan. Verifiers the settings cannot take anyway are logged and the detector is built
   * without them: the speaker keeps listening with the base model rather than not at all.
   */
  private async build(plan: DetectorPlan): Promise<BuiltDetector> {
    if (Object.keys(plan.verifiers).length === 0) return this.deps.buildDetector(plan.wake, {});
    try {
      return await this.deps.buildDetector(plan.wake, plan.verifiers);
    } catch (e) {
      if (!isEarshotError(e, 'BAD_ARGUMENT')) throw e;
      this.deps.logger.error('household verifiers do not fit the wake settings; listening without them', { error: errorMessage(e) });
      return this.deps.buildDetector(plan.wake, {});
    }
  }

  private async admit(d: WakeDetection): Promise<OwnedWake | undefined> {
    const route = await this.deps.data.routeWake(d.wakeword);
    const owner = route.kind === 'owner' ? (route.by === 'claim' ? 'claimer' : 'active') : route.kind;
    this.deps.emit({ type: 'wake', wakeword: d.wakeword, score: d.score, atMs: d.atMs, owner });
    if (route.kind === 'none') {
      this.deps.logger.warn('wake word heard but no owner is active: nothing is captured (earshot owners add / use)');
      return undefined;
    }
    if (route.kind === 'withheld') {
      this.deps.logger.warn("wake word heard but an owner's wake-word claims do not open: nothing is captured (earshot notices)");
      return undefined;
    }
    // The word routes to another owner than the detector was built for: the next wake is judged by theirs.
    if (this.plan !== undefined && this.plan.owners[d.wakeword] !== route.ownerId) void this.refreshDetector();
    // Fired by a detector built before the owner's threshold changed: their threshold now decides.
    if (this.wakeSettings !== undefined) {
      const threshold = await this.thresholdNow(this.wakeSettings, d.wakeword);
      if (threshold !== undefined && d.score < threshold) {
        this.deps.emit({ type: 'discarded', wakeword: d.wakeword, atMs: d.atMs, reason: 'below-owner-threshold' });
        void this.refreshDetector();
        return undefined;
      }
    }
    return { ...d, ownerId: route.ownerId };
  }

  /** The threshold `word` has now for the owner it routes to (undefined when that cannot be read). */
  private async thresholdNow(live: DeviceConfig['wake'], word: string): Promise<number | undefined> {
    try {
      const owners = await this.deps.data.wakeOwners([word]);
      const wake = wakeWithOwnerThresholds(live, this.deps.fleetDocuments?.() ?? [], (w) => owners[w]?.threshold);
      const w = wake.words.find((x) => x.name === word);
      return w?.threshold ?? wake.threshold;
    } catch (e) {
      // The detector's own threshold stands; the next plan reports the problem too.
      this.deps.logger.warn("the owner's threshold could not be read at a wake", { error: errorMessage(e) });
      return undefined;
    }
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
