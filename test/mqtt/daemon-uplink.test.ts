/**
 * The uplink in a running daemon: `earshot run --input FILE` as a child process (built CLI in dist/), against a
 * real Mosquitto with `log_type all`, whose log shows every PUBLISH it received.
 *
 * Issue 10 §1: exactly one PUBLISH per recording on a healthy connection, one `recording.uploaded` audit entry
 * per upload, and `status` counts recordings (not publishes) and is not stale after the daemon exits (§7).
 * Issue 10 §3: a broker that accepts but never acknowledges does not keep the daemon alive after its input
 * ends, and nothing unacknowledged is marked sent.
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav, readWavFile } from '../../src/audio/wav.js';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.js';
import { startSilentBroker } from '../uplink/support/silent-broker.js';

const execp = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const SCENARIO = path.join(ROOT, 'test', 'fixtures', 'scenario.wav');
const WAKES = 20;

let work: string;
let input: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-daemon-uplink-'));
  // WAKES × (wake phrase + command + silence), cut from the committed scenario: one capture each.
  const pcm = (await readWavFile(SCENARIO)).pcm16k;
  // (The detector needs a couple of seconds of audio before the first wake word: the scenario's quiet start.)
  const lead = pcm.subarray(0, 16 * 2000);
  const one = pcm.subarray(16 * 13_000, 16 * 19_000);
  const all = new Int16Array(lead.length + one.length * WAKES);
  all.set(lead, 0);
  for (let i = 0; i < WAKES; i++) all.set(one, lead.length + i * one.length);
  input = path.join(work, 'wakes.wav');
  await fs.writeFile(input, encodeWav(all));
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

interface Device {
  env: NodeJS.ProcessEnv;
  config: string;
  earshot(args: string[]): Promise<string>;
}

/** A fresh data dir with one owner who granted cloud-processing, and a config pointing at `brokerUrl`. */
async function device(name: string, brokerUrl: string): Promise<Device> {
  const dir = path.join(work, name);
  await fs.mkdir(dir);
  const config = path.join(dir, 'config.json');
  await fs.writeFile(
    config,
    JSON.stringify({
      configVersion: 1,
      device: { id: `spk-${name}`, groups: [] },
      dataDir: path.join(dir, 'data'),
      uplink: { brokerUrl, reconnectMinMs: 100, reconnectMaxMs: 500, maxInFlight: 8 },
      log: { level: 'warn' },
    }),
  );
  const env = { ...process.env, HOME: dir };
  const earshot = async (args: string[]) => (await execp(process.execPath, [CLI, ...args, '--config', config], { env, maxBuffer: 64 << 20 })).stdout;
  await earshot(['init']);
  await earshot(['owners', 'add', '--name', 'Uplink Owner']);
  await earshot(['consent', 'grant', '--purpose', 'cloud-processing']);
  return { env, config, earshot };
}

/** Runs the daemon on the input file; resolves with its exit code, events and how long it took. */
async function runDaemon(
  d: Device,
  timeoutMs: number,
): Promise<{ code: number | null; events: { type: string; queued?: boolean }[]; stderr: string; ms: number; exitAfterStoppedMs: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'run', '--input', input, '--json', '--config', d.config], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let stoppedAt = Number.NaN;
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    if (Number.isNaN(stoppedAt) && stdout.includes('"type":"stopped"')) stoppedAt = performance.now();
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(timer);
  const events = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; queued?: boolean });
  const end = performance.now();
  return { code, events, stderr, ms: end - t0, exitAfterStoppedMs: end - stoppedAt };
}

describe('the uplink in a running daemon (real Mosquitto, log_type all)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker({ tls: false, extraConfig: ['log_type all'] });
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('publishes each recording exactly once, audits each upload once, and status counts recordings', async () => {
    const d = await device('once', broker.url);
    const r = await runDaemon(d, 120_000);
    expect(r.code, r.stderr.slice(-800)).toBe(0);
    const captured = r.events.filter((e) => e.type === 'captured');
    expect(captured.length).toBe(WAKES);
    expect(captured.every((e) => e.queued)).toBe(true);
    expect(r.events.at(-1)?.type).toBe('stopped');

    // The broker's own account: one PUBLISH per recording (different packet ids for one recording = a resend).
    const publishes = [...broker.log().matchAll(/Received PUBLISH from spk-once \(d(\d), q1, r0, m\d+, '[^']*\/recordings\/([^']+)'/g)];
    const perRecording = new Map<string, number>();
    for (const m of publishes) perRecording.set(m[2]!, (perRecording.get(m[2]!) ?? 0) + 1);
    expect(perRecording.size, 'recordings that reached the broker').toBe(WAKES);
    expect([...perRecording.values()].filter((n) => n > 1), 'recordings published more than once').toEqual([]);
    expect(publishes.every((m) => m[1] === '0'), 'no DUP resends on a healthy connection').toBe(true);

    const audit = (await d.earshot(['audit', 'log', '--json'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; recordingId?: string });
    const uploaded = audit.filter((e) => e.type === 'recording.uploaded');
    expect(uploaded.length, 'recording.uploaded audit entries').toBe(WAKES);
    expect(new Set(uploaded.map((e) => e.recordingId)).size).toBe(WAKES);

    const status = JSON.parse(await d.earshot(['status', '--json'])) as { uplink: Record<string, unknown> };
    expect(status.uplink).toMatchObject({ sent: WAKES, queued: 0, inFlight: 0, running: false, stale: true, link: 'not-connected' });
    const text = await d.earshot(['status']);
    expect(text).toMatch(new RegExp(`upload queue +0 queued, 0 in flight, ${WAKES} sent, 0 refused/retrying \\(no daemon draining; uplink stopped `));
  }, 180_000);
});

describe('the daemon against a broker that accepts but never acknowledges', () => {
  it('exits after its input with the usual summary; nothing is marked sent; the recordings stay queued', async () => {
    const silent = await startSilentBroker();
    try {
      const d = await device('silent', silent.url);
      const r = await runDaemon(d, 90_000);
      expect(r.code, r.stderr.slice(-800)).toBe(0);
      expect(r.events.at(-1)?.type).toBe('stopped');
      // The uplink's stop is bounded (5 s), then the process ends: it is not kept alive by the silent broker.
      expect(r.exitAfterStoppedMs, 'ms from the "stopped" summary to the exit').toBeLessThan(8000);
      expect(silent.recordingPublishes.length, 'recordings were handed to the broker').toBeGreaterThan(0);
      // The connection did not outlive the process (destroyed at the end of the bounded stop).
      expect(silent.open()).toBe(0);
      const status = JSON.parse(await d.earshot(['status', '--json'])) as { uplink: Record<string, unknown> };
      expect(status.uplink).toMatchObject({ sent: 0, queued: WAKES, inFlight: 0, running: false });
      const audit = (await d.earshot(['audit', 'log', '--json'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string });
      expect(audit.filter((e) => e.type === 'recording.uploaded')).toEqual([]);
    } finally {
      await silent.close();
    }
  }, 120_000);
});
