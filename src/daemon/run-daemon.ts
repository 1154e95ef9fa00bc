/**
 * The composition root: the only module that imports the whole tree. It builds every part from the config,
 * registers the services in data-flow order and runs them until the input ends or a signal stops the daemon:
 *
 *   audio input → wake (WakeLoop + CaptureSession) → DaemonData (sealed per owner) → outbox → uplink (MQTT 5)
 *   fleet (broker → FleetConfigReceiver → live settings), retention, privacy watch, health
 *
 * Start-up order: lock → data → fleet → retention → uplink → privacy watch → owner page (web.enabled) → health → wake →
 * verifier watch. Shutdown is the
 * reverse, each step bounded, so a broker that never acknowledges cannot keep the process alive.
 */
import { resolveDeviceId } from '../config/index.js';
import type { DeviceConfig } from '../config/index.js';
import { systemClock, type Clock } from '../core/index.js';

import { silentLogger, type Logger } from '../core/index.js';
import type { FleetConfigReport } from '../uplink/index.js';
import { SileroVad } from '../vad/index.js';
import { WakeDetector, type WakeLoopMetrics } from '../wakeword/index.js';
import type { DaemonEvent } from './events.js';
import { FleetService } from './fleet-service.js';
import { HealthService } from './health-service.js';
import { prepareInput } from './input.js';
import { InstanceLock } from './instance-lock.js';
import { NearMissWatch } from './near-miss-watch.js';
import { OwnerPageService } from './owner-page-service.js';
import { PrivacyWatchService } from './privacy-watch-service.js';
import { RetentionService } from './retention-service.js';
import { bounded, ServiceHost } from './service.js';
import { openAppDaemonData } from './app-daemon-data.js';
import { UplinkService } from './uplink-service.js';
import { WakeService, type BuiltDetector } from './wake-service.js';
import { VerifierWatchService } from './verifier-watch-service.js';
import type { VerifierModel } from '../verifier/index.js';

/** After a replay ends, how long the uplink may take to send what was just queued. */
const REPLAY_DRAIN_MS = 5_000;
/** Restarting a failed wake loop: 1 s, doubling up to 30 s. */
const WAKE_RESTART = { minMs: 1_000, maxMs: 30_000 };

export interface DaemonOptions {
  config: DeviceConfig;
  /** The config file the settings came from (named in configuration errors). */
  configSource?: string;
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
  /** Builds the wake-word detector (default: WakeDetector.fromConfig with the verifiers given); tests inject failing ones. */
  buildDetector?: (wake: DeviceConfig['wake'], verifiers: Record<string, VerifierModel>) => Promise<BuiltDetector>;
  /** How often the owners' wake settings and household verifiers are looked at again (default VERIFIER_WATCH_MS). */
  verifierWatchMs?: number;
  /** Log near misses (a score above half a word's threshold that did not fire): word, score, time; never audio. */
  logNearMisses?: boolean;
}

export interface DaemonResult {
  metrics: WakeLoopMetrics;
  captures: number;
}

/** Runs until the source ends (file/stdin) or the signal aborts. Resolves after a clean shutdown. */
export async function runDaemon(opts: DaemonOptions): Promise<DaemonResult> {
  const startedAt = opts.startedAt ?? performance.now();
  const log = opts.logger ?? silentLogger;
  const clock = opts.clock ?? systemClock;
  const startedAtMs = clock.now();
  const emit = opts.onEvent ?? (() => {});
  const signal = opts.signal ?? new AbortController().signal;
  const deviceId = await resolveDeviceId(opts.config);
  const config: DeviceConfig = { ...opts.config, device: { ...opts.config.device, id: deviceId } };
  // The audio source's own health (the microphone restarts itself with backoff), for the live status.
  const sourceHealth: { failures: number; lastError?: string; lastErrorAt?: number; state: 'ok' | 'retrying' } = { failures: 0, state: 'ok' };
  const input = await prepareInput(opts.input, {
    audio: config.audio,
    realtime: opts.realtime ?? false,
    stdin: opts.stdin ?? process.stdin,
    logger: log,
    emit,
    onSourceFailure: (error) => {
      sourceHealth.failures++;
      sourceHealth.lastError = error;
      sourceHealth.lastErrorAt = clock.now();
      sourceHealth.state = 'retrying';
    },
    onSourceRecovered: () => {
      sourceHealth.state = 'ok';
    },
  });

  const host = new ServiceHost({
    clock,
    logger: log,
    onFailure: (f) => emit({ type: 'service-failed', service: f.service, error: f.error, ...(f.retryInMs !== undefined ? { retryInMs: f.retryInMs } : {}) }),
  });
  let wake: WakeService | undefined;
  let uplink: UplinkService | undefined;
  // Live status for `earshot status` and for a second daemon (non-personal: any local user may connect to an
  // abstract socket, so error texts lose their file paths).
  const lock = await InstanceLock.acquire(config.dataDir, () => ({
    pid: process.pid,
    startedAt: startedAtMs,
    source: input.kind,
    sourceHealth: { ...sourceHealth, ...(sourceHealth.lastError ? { lastError: withoutPaths(sourceHealth.lastError) } : {}) },
    services: host.status().map((s) => (s.lastError ? { ...s, lastError: withoutPaths(s.lastError) } : s)),
    wake: wake?.metrics() ?? null,
    captures: wake?.capturesStored ?? 0,
    uplink: uplink?.progress() ?? null,
  }));
  try {
    let fleet: FleetService | undefined;
    const data = await openAppDaemonData({
      config,
      deviceId,
      clock,
      logger: log,
      // Read at each decision; nothing asks before the fleet service exists.
      fleetPrivacy: () => fleet?.state().privacy ?? {},
      // A withdrawal made in this process: the app tells us at once (one from the CLI: the privacy watch).
      onConsentWithdrawn: async (ownerId) => {
        await uplink?.purgeOwner(ownerId);
      },
    });
    try {
      let lastConfig: FleetConfigReport | undefined;
      fleet = new FleetService({
        deviceId,
        config,
        ports: data.fleetPorts,
        clock,
        logger: log,
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
      const fleetSvc = fleet;
      uplink = new UplinkService({
        config,
        data,
        logger: log,
        clock,
        ...(opts.mqttProtocolVersion ? { protocolVersion: opts.mqttProtocolVersion } : {}),
        statusFields: async () => {
          const p = await data.activePrivacy();
          return {
            localOnly: p.localOnly,
            uploadsEnabled: p.uploadsEnabled,
            configVersions: { ...fleetSvc.state().versions } as Record<string, number>,
            auditHead: await data.auditHead(),
            ...(lastConfig ? { lastConfig } : {}),
          };
        },
        onConfigMessage: (topic, payload) => fleetSvc.receive(topic, payload),
      });
      const uplinkSvc = uplink;
      const buildDetector =
        opts.buildDetector ??
        (async (w: DeviceConfig['wake'], verifiers: Record<string, VerifierModel>): Promise<BuiltDetector> => {
          const d = await WakeDetector.fromConfig(w, Object.keys(verifiers).length > 0 ? { verifiers } : {});
          if (opts.logNearMisses !== true) return { processor: d, words: d.words };
          const watch = new NearMissWatch(d.state.words, (n) => log.info('near miss', { wakeword: n.wakeword, score: Math.round(n.score * 1000) / 1000, atMs: n.atMs }));
          return { processor: { push: (samples) => d.push(samples, (f) => watch.onFrame(f)) }, words: d.words };
        });
      const vad = await SileroVad.create();
      const wakeSvc = new WakeService({
        data,
        buildDetector,
        live: () => fleetSvc.state().config,
        // An owner's threshold never goes below what the applied fleet documents set.
        fleetDocuments: () => fleetSvc.state().documents,
        ...(opts.configSource !== undefined ? { configSource: opts.configSource } : {}),
        vad: { process: (c) => vad.process(c), reset: () => vad.reset() },
        clock,
        openSource: (s) => input.open(s),
        replay: input.replay,
        uplinkEnabled: () => uplinkSvc.enabled,
        onStored: (queued) => {
          if (queued) uplinkSvc.notify();
        },
        emit,
        logger: log,
      });
      wake = wakeSvc;
      // Non-privacy settings from fleet documents apply live.
      fleetSvc.onChange((s) => {
        log.setLevel(s.config.log.level);
        wakeSvc.reconfigure(s.config);
      });

      host.add(fleetSvc, { required: true });
      host.add(new RetentionService({ data, logger: log }));
      if (uplinkSvc.enabled) host.add(uplinkSvc);
      host.add(new PrivacyWatchService({ data, uplink: uplinkSvc.enabled ? uplinkSvc : undefined, logger: log }));
      if (config.web.enabled) host.add(new OwnerPageService({ backend: data.ownerPage, config, clock, logger: log }), { required: true });
      host.add(new HealthService({ data, source: input.kind, metrics: () => wakeSvc.metrics(), clock, logger: log }));
      host.add(wakeSvc, { restart: WAKE_RESTART, required: true });
      // After the wake service: it reads the owners' settings and verifiers when it starts; the watch follows changes from then on.
      host.add(new VerifierWatchService({ data, wake: wakeSvc, logger: log, ...(opts.verifierWatchMs !== undefined ? { intervalMs: opts.verifierWatchMs } : {}) }));

      const aborted = new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      let reason: 'input-ended' | 'signal' | 'failed' = 'signal';
      try {
        await host.start();
        if (!signal.aborted) {
          emit({ type: 'listening', startupMs: Math.round(performance.now() - startedAt), words: wake?.words ?? [], source: input.kind });
          await Promise.race([host.finished('wake'), aborted]);
          reason = signal.aborted ? 'signal' : host.errorOf('wake') !== undefined ? 'failed' : 'input-ended';
          if (reason === 'input-ended' && uplinkSvc.enabled) {
            // A replayed file: give the uplink a moment to send what was just queued (a signal cuts it short).
            await Promise.race([uplinkSvc.waitForDrain(REPLAY_DRAIN_MS), aborted]);
          }
        }
      } finally {
        await host.stop();
      }
      const notice = input.endNotice();
      if (notice) {
        log.warn('the input ended with an odd byte: half a sample was dropped');
        emit(notice);
      }
      const metrics = wake?.metrics() ?? { framesProcessed: 0, backlogFrames: 0, maxBacklogFrames: 0, maxLagMs: 0, detections: 0 };
      const captures = wake?.capturesStored ?? 0;
      emit({ type: 'stopped', metrics, captures, reason });
      const failure = host.errorOf('wake');
      if (failure !== undefined) throw failure;
      return { metrics, captures };
    } finally {
      if ((await bounded(data.close(), 5_000)) === 'timeout') log.error('closing the store timed out');
    }
  } finally {
    await lock.release();
  }
}

/** An error text without absolute file paths (a replayed file's name can say whose recording it is). */
export function withoutPaths(text: string): string {
  return text.replace(/(^|[\s'"(=])\/[^\s'"),]*[^\s'"),:;.]/g, '$1<path>');
}
