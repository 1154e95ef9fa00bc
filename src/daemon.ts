/**
 * The composition root: the only module that imports the whole tree. It builds every part from the config
 * and wires the data flow
 *
 *   audio source → WakeLoop(WakeDetector) → CaptureSession(Silero VAD) → RecordingStore (sealed per owner)
 *        → outbox → ConsentGate (checked at send time) → Uplink (MQTT 5)
 *
 * and the fleet flow the other way (broker → FleetConfigReceiver → live settings → status report).
 */
import { resilientMicrophone, WavFileSource, PcmStreamSource } from './audio/index.js';
import { CaptureSession, type CaptureOutcome } from './capture/index.js';
import type { DeviceConfig } from './config/types.js';
import { resolveDeviceId } from './config/index.js';
import type { AudioChunks } from './core/audio-format.js';
import { systemClock, type Clock } from './core/clock.js';
import { errorMessage } from './core/errors.js';
import { silentLogger, type Logger } from './core/logger.js';
import type { Capture } from './core/recording.js';
import { FleetConfigReceiver, type FleetReceiveResult } from './fleet/index.js';
import { openApp } from './open-app.js';
import { createUplink, type FleetConfigReport, type Uplink } from './uplink/index.js';
import { SileroVad, WakeDetector, WakeLoop, type WakeDetection, type WakeLoopMetrics } from './wakeword/index.js';
import { SwappableDetector } from './wakeword/swappable-detector.js';
import { saveWakeHealth } from './wake-health.js';
import { AppOwnerBackend, pageTls, startOwnerPage } from './web/index.js';

const PRIVACY_WATCH_MS = 2_000;
const RETENTION_SWEEP_MS = 3_600_000;
const SOURCE = 'daemon';
const METRICS_LOG_MS = 60_000;
const HEALTH_SAVE_MS = 10_000;
/** 1 s of audio waiting to be processed. */
const BACKLOG_WARN_FRAMES = 12.5;

/** What the daemon tells its operator (the CLI prints these as lines or JSON). */
export type DaemonEvent =
  | { type: 'listening'; startupMs: number; words: string[]; source: string }
  | { type: 'wake'; wakeword: string; score: number; atMs: number; owner: 'active' | 'none' }
  | { type: 'captured'; recordingId: string; wakeword: string; atMs: number; durationMs: number; endReason: Capture['endReason']; queued: boolean }
  | { type: 'discarded'; wakeword: string; atMs: number; reason: string }
  | { type: 'stored-failed'; recordingId: string; error: string }
  | { type: 'fleet'; result: FleetReceiveResult['status']; target: string | null; version: number | null; reason?: string }
  | { type: 'source-failed'; error: string; retryInMs: number }
  | { type: 'stopped'; metrics: WakeLoopMetrics; captures: number };

export interface DaemonOptions {
  config: DeviceConfig;
  /** `--input FILE.wav`, '-' for raw 16 kHz s16le PCM on stdin, or undefined for the microphone. */
  input?: string;
  /** Replay --input at real-time pace (the microphone always is). */
  realtime?: boolean;
  stdin?: NodeJS.ReadableStream;
  signal?: AbortSignal;
  logger?: Logger;
  clock?: Clock;
  onEvent?: (e: DaemonEvent) => void;
  /** Use MQTT 3.1.1 (the aedes demo broker). */
  mqttProtocolVersion?: 4 | 5;
  /** Started before the audio, e.g. to measure start-up. Default performance.now() at call. */
  startedAt?: number;
}

export interface DaemonResult {
  metrics: WakeLoopMetrics;
  captures: number;
}

/** Runs until the source ends (file/stdin) or the signal aborts (microphone). Resolves after a clean shutdown. */
export async function runDaemon(opts: DaemonOptions): Promise<DaemonResult> {
  const startedAt = opts.startedAt ?? performance.now();
  const log = opts.logger ?? silentLogger;
  const clock = opts.clock ?? systemClock;
  const emit = opts.onEvent ?? (() => {});
  const baseConfig = opts.config;
  const deviceId = await resolveDeviceId(baseConfig);
  const config: DeviceConfig = { ...baseConfig, device: { ...baseConfig.device, id: deviceId } };

  let uplink: Uplink | undefined;
  // The policy reads the live receiver (created just below; nothing asks the policy before it exists).
  let receiver: FleetConfigReceiver | undefined;
  const { app, store, close } = await openApp({
    config,
    deviceId,
    logger: log,
    clock,
    fleetPrivacy: () => receiver?.state().privacy ?? {},
    // A withdrawal made in this process: drop what the MQTT client still holds for the owner.
    onConsentWithdrawn: async (ownerId, purpose) => {
      if (purpose === 'cloud-processing') await uplink?.purgeOwner(ownerId);
    },
  });
  const closers: (() => Promise<void>)[] = [close];
  try {
    let lastConfig: FleetConfigReport | undefined;

    // Fleet config: restore what was applied before (signature re-checked), then live updates.
    receiver = new FleetConfigReceiver({
      deviceId,
      deviceConfig: config,
      settings: store.settings,
      audit: store.audit,
      clock,
      logger: log,
      baseline: () => app.privacyBaseline(),
      report: async (r) => {
        if (r.status === 'unchanged') return;
        emit({ type: 'fleet', result: r.status, target: r.target, version: r.version, ...(r.reason ? { reason: r.reason } : {}) });
        lastConfig = {
          result: r.status,
          ...(r.target ? { target: r.target } : {}),
          ...(r.version !== null ? { version: r.version } : {}),
          ...(r.reason ? { reason: r.reason } : {}),
          at: r.at,
        };
        await uplink?.publishStatus();
      },
    });
    const fleet = receiver;
    await fleet.restore();
    if (config.web.enabled) {
      // The owners' page on this process's application layer (after the fleet state is restored, so the page shows
      // what is in force); a start-up error (port, certificate) stops the start.
      const tls = await pageTls({ host: config.web.host, certFile: config.web.certFile, keyFile: config.web.keyFile, dataDir: config.dataDir });
      const page = await startOwnerPage({
        backend: new AppOwnerBackend(app),
        clock,
        host: config.web.host,
        port: config.web.port,
        ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
        logger: log,
      });
      closers.unshift(() => page.close());
      log.info("serving the owners' page", { url: page.url, ...(tls ? { fingerprint256: tls.fingerprint256 } : {}) });
    }
    let live = fleet.state().config;
    const activePrivacy = async () => (await app.privacyInEffect()).privacy;

    // Retention: the owner's choice capped by the fleet (the app's one policy), at start and hourly.
    let sweeping: Promise<unknown> = Promise.resolve();
    const sweep = () => {
      sweeping = sweeping
        .then(() => app.sweepRetention({ source: SOURCE }))
        .then(
          (res) => {
            const deleted = res.reduce((n, r) => n + r.deleted, 0);
            if (deleted > 0) log.info('retention sweep deleted recordings', { deleted });
          },
          (e: unknown) => log.error('retention sweep failed', { error: errorMessage(e) }),
        );
      return sweeping;
    };
    await sweep();
    const sweepTimer = setInterval(sweep, RETENTION_SWEEP_MS);
    sweepTimer.unref();
    closers.unshift(async () => {
      clearInterval(sweepTimer);
      await sweeping;
    });

    if (config.uplink.brokerUrl) {
      uplink = createUplink({
        config,
        outbox: store.outbox,
        ...app.uplinkPorts(),
        audit: store.audit,
        settings: store.settings,
        logger: log,
        clock,
        ...(opts.mqttProtocolVersion ? { protocolVersion: opts.mqttProtocolVersion } : {}),
        statusFields: async () => {
          const p = await activePrivacy();
          return {
            localOnly: p.localOnly,
            uploadsEnabled: p.uploadsEnabled,
            configVersions: { ...fleet.state().versions } as Record<string, number>,
            ...(lastConfig ? { lastConfig } : {}),
          };
        },
        onConfigMessage: async (topic, payload) => {
          await fleet.receive(topic, payload);
        },
      });
      const u = uplink;
      if (u) {
        u.start();
        closers.unshift(() => u.stop());
      }
    }

    // The audio side.
    const detector = new SwappableDetector(await WakeDetector.fromConfig(live.wake));
    let words = (detector.active as WakeDetector).words;
    const vad = await SileroVad.create();
    const capture = new CaptureSession({
      vad: (chunk) => vad.process(chunk),
      resetVad: () => vad.reset(),
      settings: live.capture,
      clock,
    });
    fleet.onChange((s) => {
      // Non-privacy settings apply live; the detector's thresholds and timing are updated in place.
      const wakeChanged = JSON.stringify(s.config.wake) !== JSON.stringify(live.wake);
      live = s.config;
      try {
        capture.reconfigure(live.capture);
      } catch (e) {
        log.error('capture settings from fleet config not applied', { error: errorMessage(e) });
      }
      log.setLevel(live.log.level);
      if (wakeChanged) {
        WakeDetector.fromConfig(live.wake).then(
          (d) => {
            detector.swap(d);
            words = d.words;
            log.info('wake-word settings applied live', { words: d.words });
          },
          (e: unknown) => log.error('wake-word settings from fleet config not applied', { error: errorMessage(e) }),
        );
      }
    });

    // The owner is fixed at wake time: a capture belongs to whoever was active when the wake word was heard.
    const ownerAtWake = new Map<number, string>();
    const uplinkOn = uplink !== undefined;
    const pendingSaves = new Set<Promise<void>>();
    let captures = 0;

    const storeCapture = async (c: Capture): Promise<void> => {
      const ownerId = ownerAtWake.get(c.wakeAtMs);
      ownerAtWake.delete(c.wakeAtMs);
      if (!ownerId) return; // cannot happen: wakes without an owner never start a capture
      try {
        const { queued } = await app.storeCapture(ownerId, c, { uplink: uplinkOn });
        captures++;
        emit({ type: 'captured', recordingId: c.id, wakeword: c.wakeword, atMs: c.wakeAtMs, durationMs: c.durationMs, endReason: c.endReason, queued });
        if (queued) uplink?.notify();
      } catch (e) {
        log.error('storing a capture failed', { error: errorMessage(e), recordingId: c.id });
        emit({ type: 'stored-failed', recordingId: c.id, error: errorMessage(e) });
      }
    };
    const onOutcome = (o: CaptureOutcome): void => {
      if (o.kind === 'finished') {
        const p = storeCapture(o.capture).finally(() => pendingSaves.delete(p));
        pendingSaves.add(p);
      } else {
        ownerAtWake.delete(o.wakeAtMs);
        emit({ type: 'discarded', wakeword: o.wakeword, atMs: o.wakeAtMs, reason: o.reason });
      }
    };

    let accepted: WakeDetection[] = [];
    const loop = new WakeLoop(detector, {
      onDetection: async (d) => {
        const ownerId = await app.activeOwnerId();
        emit({ type: 'wake', wakeword: d.wakeword, score: d.score, atMs: d.atMs, owner: ownerId ? 'active' : 'none' });
        if (!ownerId) {
          log.warn('wake word heard but no owner is active: nothing is captured (earshot owners add / use)');
          return;
        }
        if (capture.wantsAudio) return; // a wake inside a command is part of that command
        ownerAtWake.set(d.atMs, ownerId);
        accepted.push(d);
      },
      onProcessed: async (samples) => {
        const wakes = accepted;
        accepted = [];
        for (const o of await capture.processChunk(samples, wakes)) onOutcome(o);
      },
      onError: (e) => log.error('wake loop failed', { error: errorMessage(e) }),
    });

    // Watchers: the owner may toggle local-only or consent from another process (the CLI); the retained status
    // must show the mode promptly and a lifted hold must resume uploads. The loop's health goes to the log.
    let lastPrivacy = '';
    const watchPrivacy = async () => {
      const p = JSON.stringify(await activePrivacy());
      if (p === lastPrivacy) return;
      const first = lastPrivacy === '';
      lastPrivacy = p;
      if (!first && uplink) {
        await uplink.publishStatus();
        uplink.notify();
      }
    };
    await watchPrivacy();
    const privacyTimer = setInterval(() => {
      watchPrivacy().catch((e: unknown) => log.warn('privacy watch failed', { error: errorMessage(e) }));
      // An owner erased by another process (the CLI): drop our handle on their removed audio file.
      store.releaseErasedFiles().catch((e: unknown) => log.warn('releasing erased audio files failed', { error: errorMessage(e) }));
    }, PRIVACY_WATCH_MS);
    privacyTimer.unref();
    closers.unshift(async () => clearInterval(privacyTimer));
    const source = describeSource(opts.input);
    const healthTimer = setInterval(() => {
      saveWakeHealth(store.settings, { running: true, source, words }, loop.metrics(), clock.now()).catch((e: unknown) =>
        log.warn('saving wake-loop health failed', { error: errorMessage(e) }),
      );
    }, HEALTH_SAVE_MS);
    healthTimer.unref();
    closers.unshift(async () => {
      clearInterval(healthTimer);
      await saveWakeHealth(store.settings, { running: false, source, words }, loop.metrics(), clock.now());
    });
    const metricsTimer = setInterval(() => {
      const m = loop.metrics();
      const fields = { framesProcessed: m.framesProcessed, backlogFrames: m.backlogFrames, maxBacklogFrames: m.maxBacklogFrames, maxLagMs: Math.round(m.maxLagMs) };
      // A backlog means the device is slower than real time: nothing is dropped, but it must be visible.
      if (m.backlogFrames > BACKLOG_WARN_FRAMES) log.warn('wake loop is behind real time', fields);
      else log.info('wake loop', fields);
    }, METRICS_LOG_MS);
    metricsTimer.unref();
    closers.unshift(async () => clearInterval(metricsTimer));

    const audio = await openSource(config, opts, log, emit);
    emit({ type: 'listening', startupMs: Math.round(performance.now() - startedAt), words, source });
    await saveWakeHealth(store.settings, { running: true, source, words }, loop.metrics(), clock.now());
    await loop.run(audio, opts.signal);
    const last = await capture.end();
    if (last.kind === 'finished' || last.kind === 'discarded') onOutcome(last);
    await Promise.all([...pendingSaves]);
    if (uplink && !opts.signal?.aborted) {
      // A replayed file: give the uplink a moment to send what was just queued before shutting down.
      await uplink.publisher.waitForDrain(5_000);
    }
    const metrics = loop.metrics();
    emit({ type: 'stopped', metrics, captures });
    return { metrics, captures };
  } finally {
    for (const close of closers) {
      try {
        await close();
      } catch (e) {
        log.error('shutdown step failed', { error: errorMessage(e) });
      }
    }
  }
}

function describeSource(input: string | undefined): string {
  if (input === undefined) return 'microphone';
  return input === '-' ? 'stdin' : input;
}

async function openSource(
  config: DeviceConfig,
  opts: DaemonOptions,
  log: Logger,
  emit: (e: DaemonEvent) => void,
): Promise<AudioChunks> {
  const signal = opts.signal;
  if (opts.input === '-') {
    const stdin = opts.stdin ?? process.stdin;
    return new PcmStreamSource(stdin as AsyncIterable<Uint8Array>, signal ? { signal } : {});
  }
  if (opts.input !== undefined) {
    return WavFileSource.open(opts.input, { realtime: opts.realtime ?? false, ...(signal ? { signal } : {}) });
  }
  return resilientMicrophone(config.audio, {
    logger: log,
    ...(signal ? { signal } : {}),
    onFailure: (f) => emit({ type: 'source-failed', error: errorMessage(f.error), retryInMs: f.retryInMs }),
  });
}

