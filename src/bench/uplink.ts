/**
 * Uplink benchmark: drain 1,700 queued 5-s recordings to a local Mosquitto over TLS with client
 * certificates and the shipped ACL, with a "cloud" subscriber receiving them, and the consent-check cost.
 * By default the recordings sit in the real encrypted SQLite store and the real ConsentGate is asked before
 * each publish, as in the daemon (`store: 'memory'` measures the uplink alone).
 *
 * uplink.drainPerS      recordings confirmed (PUBACK) per second, start of drain → outbox empty
 * uplink.consentCheckUs mean time of one UploadGate.check during the drain (µs)
 * uplink.receivedPerS   recordings received by the subscriber per second
 * uplink.mbPerS         payload megabytes per second confirmed
 * uplink.maxInFlight    the window used
 * daemon.idleCpuPct     an idle `earshot run` process's CPU (% of one core), uplink connected, empty outbox;
 *                       daemon.idleCpuPctNoUplink the same with the uplink off (see bench/daemon-idle.ts)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import type { AuditSink, OutboxRepo, RecordingReader, UploadDecision, UploadGate } from '../core/index.js';
import { defaultConfig } from '../config/index.js';
import { silentLogger } from '../core/index.js';
import { openApp } from '../open-app.js';
import { initDataDir } from '../store/index.js';
import type { Recording } from '../core/index.js';
import { SAMPLE_RATE } from '../core/index.js';
import { MqttConnection } from '../uplink/index.js';
import { OutboxPublisher } from '../uplink/index.js';
import { recordingIdFromTopic, TOPIC_ROOT } from '../core/index.js';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, ScriptedGate } from '../uplink/index.js';
import { startTestBroker } from '../uplink/index.js';
import { idleDaemonCpuPct } from './daemon-idle.js';

export interface BenchUplinkOptions {
  log?: (line: string) => void;
  recordings?: number;
  seconds?: number;
  maxInFlight?: number;
  /** 'sqlite' (default): encrypted store + real ConsentGate; 'memory': in-memory ports and gate. */
  store?: 'sqlite' | 'memory';
  /** Seconds each idle-daemon measurement lasts (default 10); 0 skips it. */
  idleSeconds?: number;
}

interface BenchSource {
  outbox: OutboxRepo;
  recordings: RecordingReader;
  gate: UploadGate;
  audit: AuditSink;
  firstOwner(): Promise<string | undefined>;
  close(): Promise<void>;
}

const BENCH_PRIVACY = { localOnly: false, retentionDays: 30, uploadsEnabled: true, humanReview: false };

async function memorySource(deviceId: string, recs: Recording[]): Promise<BenchSource> {
  const outbox = new MemoryOutbox();
  const audit = new MemoryAudit();
  const recordings = new MemoryRecordings(outbox, audit);
  const gate = new ScriptedGate();
  gate.grant(recs[0]?.ownerId ?? '', 0);
  for (const r of recs) {
    recordings.add({ ...r, deviceId });
    await outbox.enqueue({ recordingId: r.id, ownerId: r.ownerId, capturedAt: r.startedAt, enqueuedAt: r.startedAt });
  }
  return { outbox, recordings, gate, audit, firstOwner: async () => recs[0]?.ownerId, close: async () => {} };
}

async function sqliteSource(deviceId: string, make: (ownerId: string, startedAt: number, i: number) => Recording, n: number): Promise<BenchSource> {
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-bench-uplink-'));
  await initDataDir(dataDir, { deviceId });
  const { app, store, close } = await openApp({ config: { ...defaultConfig(), dataDir, privacy: BENCH_PRIVACY }, deviceId, logger: silentLogger });
  const origin = { source: 'bench' };
  const owner = await app.addOwner({ name: 'bench owner', ...origin });
  const grant = await app.grantConsent(owner, 'cloud-processing', origin);
  for (let i = 0; i < n; i++) await app.storeCapture(owner, make(owner, grant.event.at + 1 + i, i), { uplink: true });
  return {
    outbox: store.outbox,
    ...app.uplinkPorts(),
    audit: store.audit,
    firstOwner: async () => owner,
    close: async () => {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Wraps a gate and measures each call. */
class TimedGate implements UploadGate {
  totalNs = 0n;
  calls = 0;
  constructor(private readonly inner: UploadGate) {}
  async check(entry: { ownerId: string; capturedAt: number }, now: number): Promise<UploadDecision> {
    const t0 = process.hrtime.bigint();
    try {
      return await this.inner.check(entry, now);
    } finally {
      this.totalNs += process.hrtime.bigint() - t0;
      this.calls++;
    }
  }
}

export async function benchUplink(opts: BenchUplinkOptions = {}): Promise<Record<string, number>> {
  const log = opts.log ?? (() => {});
  const n = opts.recordings ?? 1700;
  const seconds = opts.seconds ?? 5;
  const maxInFlight = opts.maxInFlight ?? 32;
  const broker = await startTestBroker({ tls: true, acl: true });
  let cleanup: () => Promise<void> = async () => {};
  try {
    const deviceId = 'bench-spk';
    // One 5-s buffer shared by every recording keeps the benchmark's memory small; each recording is still
    // stored (sealed), opened, encoded and sent on its own.
    const pcm = new Int16Array(seconds * SAMPLE_RATE);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(4000 * Math.sin((2 * Math.PI * 220 * i) / SAMPLE_RATE));
    const make = (ownerId: string, startedAt: number, i: number): Recording => ({
      id: `bench-${i.toString().padStart(5, '0')}`,
      ownerId,
      deviceId,
      wakeword: 'hey_jarvis',
      score: 0.9,
      startedAt,
      wakeAtMs: 0,
      durationMs: seconds * 1000,
      endReason: 'end-of-speech',
      pcm,
    });
    const setupStart = Date.now();
    const source =
      (opts.store ?? 'sqlite') === 'sqlite'
        ? await sqliteSource(deviceId, make, n)
        : await memorySource(deviceId, Array.from({ length: n }, (_, i) => make('bench-owner', Date.now() - n * 10_000 + i * 5000, i)));
    cleanup = source.close;
    const setupS = (Date.now() - setupStart) / 1000;
    log(`uplink: ${n} recordings queued in ${setupS.toFixed(1)} s (${opts.store ?? 'sqlite'} store)`);
    const { outbox, recordings } = source;
    const gate = new TimedGate(source.gate);

    const ca = readFileSync(broker.caFile!);
    const cloudCert = broker.clientCert('cloud-ingest');
    const cloud = await connectAsync(broker.url, { protocolVersion: 5, clientId: 'cloud-ingest', ca, cert: readFileSync(cloudCert.certFile), key: readFileSync(cloudCert.keyFile), reconnectPeriod: 0 });
    const received = new Set<string>();
    let lastReceiveAt = 0;
    cloud.on('message', (topic) => {
      const id = recordingIdFromTopic(topic);
      if (id) received.add(id);
      lastReceiveAt = Date.now();
    });
    await cloud.subscribeAsync(`${TOPIC_ROOT}/devices/+/recordings/#`, { qos: 1 });

    const cert = broker.clientCert(deviceId);
    const conn = new MqttConnection({ brokerUrl: broker.url, deviceId, caFile: broker.caFile, certFile: cert.certFile, keyFile: cert.keyFile, sessionExpirySec: 300, keepaliveSec: 30, reconnectMinMs: 200, reconnectMaxMs: 2000 });
    conn.start();
    const readyBy = Date.now() + 10_000;
    while (!conn.ready) {
      if (Date.now() > readyBy) throw new Error('bench: device could not connect to the local broker');
      await new Promise((r) => setTimeout(r, 10));
    }
    const publisher = new OutboxPublisher({ deviceId, outbox, recordings, gate, audit: source.audit, transport: conn, maxInFlight });
    log(`uplink: draining ${n} × ${seconds}-s recordings over TLS, window ${maxInFlight}`);
    const start = process.hrtime.bigint();
    const startWall = Date.now();
    publisher.start();
    const drained = await publisher.waitForDrain(300_000);
    const drainS = Number(process.hrtime.bigint() - start) / 1e9;
    const receiveBy = Date.now() + 10_000;
    while (received.size < n && Date.now() < receiveBy) await new Promise((r) => setTimeout(r, 20));
    // Time from the start of the drain to the subscriber's last delivery.
    const receivedS = Math.max(0.001, (lastReceiveAt - startWall) / 1000);
    await publisher.stop(100);
    await conn.stop();
    await publisher.close();
    await cloud.endAsync();
    // The gate alone, nothing else using the store: its own cost per publish.
    const probe = { ownerId: (await source.firstOwner()) ?? 'bench-owner', capturedAt: Date.now() - 1000 };
    const isolated = new TimedGate(source.gate);
    for (let i = 0; i < 500; i++) await isolated.check(probe, Date.now());
    if (!drained) throw new Error(`bench: outbox not drained (${await outbox.count()} left)`);
    const payloadMb = (n * (44 + pcm.length * 2)) / 1e6;
    const result: Record<string, number> = {
      'uplink.drainPerS': round(n / drainS),
      'uplink.consentCheckUs': round(Number(isolated.totalNs) / 1000 / Math.max(1, isolated.calls)),
      // Same check during the drain, including waiting for the store that publishes also use.
      'uplink.consentCheckUnderLoadUs': round(Number(gate.totalNs) / 1000 / Math.max(1, gate.calls)),
      'uplink.consentChecksPerPublish': round(gate.calls / n),
      'uplink.receivedPerS': round(received.size / receivedS),
      'uplink.received': received.size,
      'uplink.mbPerS': round(payloadMb / drainS),
      'uplink.maxInFlight': maxInFlight,
      'uplink.setupS': round(setupS),
    };
    const idleS = opts.idleSeconds ?? 10;
    if (idleS > 0) {
      log(`daemon: idle CPU of \`earshot run --input -\` (stdin open, no audio) over ${idleS} s, with and without the uplink`);
      const idleCert = broker.clientCert('bench-idle');
      result['daemon.idleCpuPct'] = round(await idleDaemonCpuPct('bench-idle', { brokerUrl: broker.url, caFile: broker.caFile!, ...idleCert }, idleS));
      result['daemon.idleCpuPctNoUplink'] = round(await idleDaemonCpuPct('bench-idle-off', undefined, idleS));
      log(`daemon: idle ${result['daemon.idleCpuPct']} % of a core with the uplink connected, ${result['daemon.idleCpuPctNoUplink']} % without`);
    }
    log(`uplink: ${n} confirmed in ${drainS.toFixed(2)} s (${result['uplink.drainPerS']}/s, ${result['uplink.mbPerS']} MB/s), subscriber got ${received.size}; consent check ${result['uplink.consentCheckUs']} µs alone, ${result['uplink.consentCheckUnderLoadUs']} µs during the drain`);
    return result;
  } finally {
    await cleanup();
    await broker.dispose();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
