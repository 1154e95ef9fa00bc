/**
 * Consent withdrawn from the CLI while the daemon runs (issue 9 §8): the daemon withdraws what its MQTT client
 * still holds for that owner. Real Mosquitto, real daemon process: the broker is paused so the recordings'
 * publishes stay unacknowledged in the client, consent is revoked with `earshot consent revoke`, then the broker
 * dies and comes back. Before the fix the daemon's client kept holding both publishes after the withdrawal (they
 * were only let go when the connection dropped) and no withdrawal was audited; now they are withdrawn within the
 * privacy watch interval, audited once with the count, and nothing of theirs reaches the cloud after a reconnect.
 * (Bytes the kernel already handed to a broker cannot be called back; that is why the broker is killed, not resumed.)
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.js';
import { startObserver, type Observer } from '../mqtt/support/observer.js';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let work: string;
let broker: TestBroker;
let observer: Observer;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-withdraw-'));
  broker = await startTestBroker({ tls: true });
  observer = await startObserver(broker, { topic: 'earshot/v1/+/recordings/#' });
});

afterAll(async () => {
  await observer?.close();
  await broker?.dispose();
  await fs.rm(work, { recursive: true, force: true });
});

async function waitFor(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('consent withdrawn from the CLI while the daemon runs', () => {
  it('withdraws the publishes the MQTT client still holds for that owner: nothing reaches the cloud after a reconnect', async () => {
    const deviceId = 'spk-withdraw';
    const cert = broker.clientCert(deviceId);
    const config = path.join(work, 'config.json');
    await fs.writeFile(
      config,
      JSON.stringify({
        device: { id: deviceId, groups: [] },
        uplink: { brokerUrl: broker.url, caFile: broker.caFile, certFile: cert.certFile, keyFile: cert.keyFile, reconnectMinMs: 100, reconnectMaxMs: 300, keepaliveSec: 60 },
        log: { level: 'error' },
      }),
    );
    const env = { ...process.env, HOME: work, EARSHOT_DATA_DIR: path.join(work, 'data'), EARSHOT_CONFIG: config };
    const cli = async (args: string[]) => (await run(process.execPath, [CLI, ...args], { env })).stdout;
    await cli(['init']);
    await cli(['owners', 'add', '--name', 'Withdrawing Owner']);
    await cli(['consent', 'grant', '--purpose', 'cloud-processing']);

    const daemon = spawn(process.execPath, [CLI, 'run', '--input', '-', '--json'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    daemon.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    daemon.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((r) => daemon.on('close', r));
    // The uplink's counters as the running daemon reports them (running: true = asked live, not a snapshot).
    const live = async () => {
      const u = (JSON.parse(await cli(['status', '--json'])) as { uplink: { running: boolean; connected: boolean; inFlight: number; sent: number } }).uplink;
      return u.running ? u : undefined;
    };
    try {
      await waitFor(async () => (await live())?.connected === true, 20_000, 'the daemon connected');

      // The broker stops answering: what the daemon publishes now stays unacknowledged in its MQTT client.
      broker.pause();
      const jarvis = (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav'))).pcm16k;
      const silence = new Int16Array(16_000 * 2);
      for (let i = 0; i < 2; i++) {
        daemon.stdin.write(Buffer.from(jarvis.buffer, jarvis.byteOffset, jarvis.byteLength));
        daemon.stdin.write(Buffer.from(silence.buffer));
      }
      await waitFor(() => (stdout.match(/"type":"captured"[^\n]*"queued":true/g) ?? []).length === 2, 30_000, 'two captures queued');
      await waitFor(async () => (await live())!.inFlight === 2, 10_000, 'both publishes held by the client');

      await cli(['consent', 'revoke', '--purpose', 'cloud-processing']);
      // The daemon notices within its privacy watch interval and withdraws them from its client.
      await waitFor(async () => (await live())!.inFlight === 0, 10_000, 'the held publishes withdrawn');

      // The paused broker dies without reading them, comes back; the client reconnects and would resend.
      await broker.kill();
      await broker.restart();
      await waitFor(() => observer.client.connected, 10_000, 'the observer reconnected');
      await waitFor(async () => (await live())?.connected === true, 20_000, 'the daemon reconnected');
      await new Promise((r) => setTimeout(r, 2_000));
      expect(observer.ids.size).toBe(0);
      expect((await live())!.sent).toBe(0);

      const log = (await cli(['audit', 'log', '--json']))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; detail?: { withdrawnFromClient?: number } });
      const refused = log.filter((e) => e.type === 'recording.upload-refused');
      expect(refused.some((e) => (e.detail?.withdrawnFromClient ?? 0) === 2)).toBe(true);
    } finally {
      daemon.kill('SIGTERM');
      expect(await closed, stderr).toBe(0);
    }
  }, 120_000);
});
