/**
 * `earshot run` (the daemon), `earshot status` and `earshot bench`.
 */
import { loadConfigDetailed } from '../../config/index.js';
import { EarshotError } from '../../core/index.js';
import { createLogger, type LogLevel } from '../../core/index.js';
import { askDaemon, runDaemon, type DaemonAnswer, type DaemonEvent, type ServiceStatus } from '../../daemon/index.js';
import { readAppliedFleetState } from '../../fleet/index.js';
import { describeDrain, readDrainProgress, type DrainProgress, type DrainStatus } from '../../uplink/index.js';
import { readWakeHealth } from '../../wake-health.js';
import type { WakeLoopMetrics } from '../../wakeword/index.js';
import { globalPaths, writeLine, type Command, type CommandIO, type ParsedArgs } from '../command.js';
import { withApp } from '../command-context.js';

const t = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

const WAKE_OWNER_NOTE: Record<Extract<DaemonEvent, { type: 'wake' }>['owner'], string> = {
  active: '',
  claimer: ' — claimed word: for the owner who claimed it',
  none: ' — no active owner, not captured',
  withheld: " — an owner's wake-word claims do not open: not captured (see earshot notices)",
};

/** One human-readable line per daemon event (the --json form prints the event itself). */
export function describeEvent(e: DaemonEvent): string {
  switch (e.type) {
    case 'listening':
      return `listening on ${e.source} for ${e.words.join(', ')} (ready ${e.startupMs} ms after start)`;
    case 'wake':
      return `[${t(e.atMs)}] wake word "${e.wakeword}" (score ${e.score.toFixed(2)})${WAKE_OWNER_NOTE[e.owner]}`;
    case 'captured':
      return `[${t(e.atMs)}] captured ${t(e.durationMs)} after the wake word (${e.endReason}), stored encrypted as ${e.recordingId}${e.queued ? ', queued for upload' : ', kept on the device'}`;
    case 'discarded':
      return `[${t(e.atMs)}] capture discarded: ${e.reason === 'no-speech' ? 'no speech followed the wake word' : e.reason}`;
    case 'stored-failed':
      return `capture ${e.recordingId} could not be stored: ${e.error}`;
    case 'fleet':
      return `fleet config ${e.target ?? '?'} v${e.version ?? '?'}: ${e.result}${e.reason ? ` (${e.reason})` : ''}`;
    case 'source-failed':
      return `audio source failed: ${e.error}; retrying in ${e.retryInMs} ms`;
    case 'service-failed':
      return `${e.service} failed: ${e.error}${e.retryInMs !== undefined ? `; restarting in ${e.retryInMs} ms` : '; not restarted'}`;
    case 'input-truncated':
      return `the input ended with ${e.droppedBytes} odd byte (half a 16-bit sample): it was dropped`;
    case 'stopped':
      return `stopped (${e.reason}): ${e.metrics.framesProcessed} frames processed, ${e.captures} captures stored, max backlog ${e.metrics.maxBacklogFrames.toFixed(1)} frames, max lag ${e.metrics.maxLagMs.toFixed(1)} ms`;
  }
}

const run: Command = {
  path: ['run'],
  summary: 'Run the daemon: listen, detect wake words, capture, store encrypted, upload with consent',
  usage: 'earshot run [--config FILE] [--data-dir DIR] [--input FILE.wav | --input -] [--realtime] [--log-near-misses] [--json]',
  help: [
    'Options:',
    '  --input FILE.wav  replay a WAV file instead of the microphone; exits once it is processed and stored',
    '  --input -         read raw 16 kHz mono s16le PCM from stdin',
    '  --realtime        replay --input at real-time pace (default: as fast as possible)',
    '  --log-near-misses log each near miss (a score above half a word\'s threshold that did not fire) at info',
    '                    level: the word, the peak score and the audio time only, never audio',
    '  --json            one JSON object per event on stdout',
    '',
    'Stops cleanly on SIGINT/SIGTERM within a second or so, even mid-replay: the capture in progress is stored,',
    'the outbox is kept (what the broker did not acknowledge stays queued); every shutdown step is bounded.',
    'One daemon per data directory: a second one exits at once naming the running one\'s pid.',
    'A failed wake loop is restarted with backoff (reported as service-failed and in `earshot status`).',
    'Logs go to stderr as JSON lines (level from config log.level); they never contain audio or owner names.',
  ].join('\n'),
  options: { input: { type: 'string' }, realtime: { type: 'boolean' }, 'log-near-misses': { type: 'boolean' } },
  async run(args: ParsedArgs, io: CommandIO): Promise<number> {
    const startedAt = performance.now();
    const { configFile, dataDir } = globalPaths(args, io.env);
    const { config, source } = await loadConfigDetailed(configFile, dataDir !== undefined ? { dataDir } : {});
    const logger = createLogger({ level: config.log.level as LogLevel, out: io.stderr });
    const json = args.values['json'] === true;
    const input = args.values['input'] as string | undefined;
    await runDaemon({
      config,
      configSource: source,
      ...(input !== undefined ? { input } : {}),
      realtime: args.values['realtime'] === true,
      logNearMisses: args.values['log-near-misses'] === true,
      stdin: io.stdin,
      signal: io.signal,
      logger,
      startedAt,
      onEvent: (e) => writeLine(io.stdout, json ? JSON.stringify(e) : describeEvent(e)),
    });
    return 0;
  },
};

const status: Command = {
  path: ['status'],
  summary: 'Show the device: owner, privacy in effect, the live daemon (or since when none runs), upload queue, fleet config, audit head',
  usage: 'earshot status [--config FILE] [--data-dir DIR] [--json]',
  help: [
    'The daemon section and the upload counters come from the running daemon itself (asked through its lock',
    'socket), never from a saved snapshot: without a daemon, status says it is not running and since when.',
  ].join('\n'),
  options: {},
  async run(args: ParsedArgs, io: CommandIO): Promise<number> {
    return withApp(args, io, async (app, { store, config, deviceId }) => {
      const fleet = await readAppliedFleetState(store.settings, deviceId, config.device.groups, config.fleet.publicKeys);
      const { ownerId, privacy } = await app.privacyInEffect();
      const audit = await app.auditHead();
      const quarantined = (await app.listQuarantine()).length;
      const live = await askDaemon(config.dataDir);
      const saved = live ? undefined : await readWakeHealth(store.settings, Date.now());
      const daemon = live ? liveDaemon(live) : { running: false as const, lastSeenAt: saved?.at ?? null, lastRun: saved ? lastRunOf(saved) : null };
      // The uplink's counters: from the live daemon when one answers, else its last snapshot (which says it stopped).
      const liveUplink = live ? (live['uplink'] as DrainProgress | null) : null;
      const drain: DrainStatus = liveUplink
        ? { ...liveUplink, queued: await store.outbox.count(), running: true, stale: false, ended: null }
        : await readDrainProgress(store.settings, store.outbox);
      const versions = Object.fromEntries([...fleet.records].map(([target, r]) => [target, r.version]));
      const doc = {
        deviceId,
        groups: config.device.groups,
        dataDir: config.dataDir,
        activeOwner: ownerId ?? null,
        privacy,
        daemon,
        uplink: { brokerUrl: config.uplink.brokerUrl || null, ...drain },
        fleet: { versions, documents: fleet.documents.length },
        audit,
        quarantined,
      };
      if (args.values['json'] === true) {
        writeLine(io.stdout, JSON.stringify(doc));
        return 0;
      }
      const lines = [
        `device        ${deviceId}${config.device.groups.length ? ` (groups: ${config.device.groups.join(', ')})` : ''}`,
        `data dir      ${config.dataDir}`,
        `active owner  ${ownerId ?? '(none: earshot owners add --name NAME)'}`,
        `local-only    ${privacy.localOnly ? 'on' : 'off'}${privacy.localOnlyForcedByFleet ? ' (forced by fleet config)' : ''}`,
        `uploads       ${privacy.uploadsEnabled ? 'enabled' : 'disabled'}; retention ${privacy.retentionDays} days`,
        `daemon        ${describeDaemon(daemon)}`,
        `upload queue  ${config.uplink.brokerUrl === '' && !liveUplink ? `${drain.queued} queued (uplink disabled)` : describeDrain(drain)}`,
        `fleet config  ${Object.entries(versions).map(([k, v]) => `${k} v${v}`).join(', ') || 'none applied'}`,
        `audit log     ${audit.seq} entries, head ${audit.head.slice(0, 16)}…`,
        ...(quarantined > 0 ? [`quarantine    ${quarantined} item(s) that did not match the metadata: earshot repair`] : []),
      ];
      for (const l of lines) writeLine(io.stdout, l);
      return 0;
    });
  },
};

interface LiveDaemon {
  running: true;
  pid: number;
  startedAt: number;
  source: string;
  sourceHealth: { failures: number; lastError?: string; state: string } | null;
  services: ServiceStatus[];
  wake: WakeLoopMetrics | null;
  captures: number;
}

function liveDaemon(a: DaemonAnswer): LiveDaemon {
  return {
    running: true,
    pid: a.pid,
    startedAt: a.startedAt,
    source: String(a['source'] ?? 'unknown'),
    sourceHealth: (a['sourceHealth'] as LiveDaemon['sourceHealth']) ?? null,
    services: Array.isArray(a['services']) ? (a['services'] as ServiceStatus[]) : [],
    wake: (a['wake'] as WakeLoopMetrics | null) ?? null,
    captures: Number(a['captures'] ?? 0),
  };
}

function lastRunOf(h: NonNullable<Awaited<ReturnType<typeof readWakeHealth>>>) {
  return { source: h.source, framesProcessed: h.framesProcessed, detections: h.detections, maxBacklogFrames: h.maxBacklogFrames, maxLagMs: h.maxLagMs, stoppedCleanly: !h.running };
}

type DaemonSection = LiveDaemon | { running: false; lastSeenAt: number | null; lastRun: ReturnType<typeof lastRunOf> | null };

function describeDaemon(d: DaemonSection): string {
  if (!d.running) {
    if (d.lastSeenAt === null) return 'not running (no daemon has run on this data directory)';
    const r = d.lastRun!;
    return `not running since ${new Date(d.lastSeenAt).toISOString()}${r.stoppedCleanly ? '' : ' (it did not stop cleanly)'}; last run: ${r.source}, ${r.framesProcessed} frames, ${r.detections} wake words`;
  }
  const troubled = d.services.filter((s) => s.state !== 'running' && s.state !== 'finished');
  const w = d.wake;
  return (
    `running (pid ${d.pid}, since ${new Date(d.startedAt).toISOString()}) on ${d.source}` +
    (w ? `: ${w.framesProcessed} frames, ${w.detections} wake words, ${d.captures} captures, backlog ${w.backlogFrames.toFixed(1)} (max ${w.maxBacklogFrames.toFixed(1)}) frames, max lag ${Math.round(w.maxLagMs)} ms` : '') +
    troubled.map((s) => `; ${s.name} ${s.state}${s.lastError ? ` (${s.failures} failures, last: ${s.lastError})` : ''}`).join('') +
    (d.sourceHealth && d.sourceHealth.failures > 0
      ? `; ${d.source} ${d.sourceHealth.state === 'retrying' ? 'failed, retrying' : 'recovered'} (${d.sourceHealth.failures} failures, last: ${d.sourceHealth.lastError})`
      : '')
  );
}


const bench: Command = {
  path: ['bench'],
  summary: 'Measure wake-word, store and uplink performance on this machine (numbers, not pass/fail)',
  usage: 'earshot bench [--json] [--only wake|store|uplink] [--minutes N]',
  help: [
    'Options:',
    '  --only AREA   run one area: wake (detector on 10 min of speech + openwakeword-js peer, peak RSS of',
    '                `earshot run` on a 2-hour file and a 4-hour stdin flood), store, uplink',
    '  --minutes N   length of the wake benchmark speech file, 0.5 to 60 (default 10; each loop takes an',
    '                untimed 10-s warm-up turn, then timed 10-s turns)',
    '  --json        one JSON object with every measured number on stdout (progress goes to stderr)',
  ].join('\n'),
  options: { only: { type: 'string' }, minutes: { type: 'string' } },
  async run(args: ParsedArgs, io: CommandIO): Promise<number> {
    const only = args.values['only'] as string | undefined;
    if (only !== undefined && !['wake', 'store', 'uplink'].includes(only)) {
      throw new EarshotError('BAD_ARGUMENT', `--only must be wake, store or uplink (got '${only}')`);
    }
    const minutes = args.values['minutes'] !== undefined ? Number(args.values['minutes']) : undefined;
    // The lower bound (0.5) is the bench's own, checked by benchWake before any work (the bench module loads lazily).
    if (minutes !== undefined && !(minutes > 0 && minutes <= 60)) throw new EarshotError('BAD_ARGUMENT', `--minutes must be between 0.5 and 60 (got '${String(args.values['minutes'])}')`);
    const json = args.values['json'] === true;
    const log = (l: string) => writeLine(json ? io.stderr : io.stdout, l);
    const results: Record<string, number | string> = {};
    if (!only || only === 'wake') {
      const { benchWake } = await import('../../bench/index.js');
      Object.assign(results, await benchWake({ ...(minutes !== undefined ? { minutes } : {}), log }));
      const { benchLongInput } = await import('../../bench/index.js');
      Object.assign(results, await benchLongInput({ log }));
    }
    if (!only || only === 'store') {
      const { benchStore } = await import('../../bench/index.js');
      Object.assign(results, await benchStore({ log }));
    }
    if (!only || only === 'uplink') {
      const { benchUplink } = await import('../../bench/index.js');
      Object.assign(results, await benchUplink({ log }));
    }
    if (json) writeLine(io.stdout, JSON.stringify(results));
    else {
      writeLine(io.stdout, '');
      const width = Math.max(...Object.keys(results).map((k) => k.length));
      for (const [k, v] of Object.entries(results)) writeLine(io.stdout, `${k.padEnd(width)}  ${typeof v === 'number' ? round(v) : v}`);
    }
    return 0;
  },
};

function round(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
}

export const commands: Command[] = [run, status, bench];
