/**
 * Fleet config takes effect live in the running daemon: a signed document that replaces the wake word is
 * applied while audio keeps flowing, without a restart; the old word stops firing and the new one fires.
 * A forged document sent meanwhile is refused and changes nothing.
 */
import { createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import { loadConfig } from '../../src/config/load.js';
import { runDaemon, type DaemonEvent } from '../../src/daemon/index.js';
import { generateFleetKeyPair, pushFleetDocument, signFleetDocument } from '../../src/fleet/index.js';
import { defaultConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir } from '../../src/store/index.js';

const ROOT = path.resolve(__dirname, '../..');
const clip = async (name: string) => (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', name))).pcm16k;

let work: string;
let server: Server;
let aedes: Aedes;
let url: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-live-'));
  aedes = await Aedes.createBroker();
  server = createServer(aedes.handle as unknown as (s: Socket) => void);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => aedes.close(() => server.close(() => r())));
  await fs.rm(work, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('live fleet configuration in the running daemon', () => {
  it('changes the wake words without a restart and ignores a forged document', async () => {
    const fleet = generateFleetKeyPair();
    const forger = generateFleetKeyPair();
    const dataDir = path.join(work, 'data');
    await initDataDir(dataDir, { deviceId: 'spk-live' });
    const { app, close } = await openApp({ config: { ...defaultConfig(), dataDir }, deviceId: 'spk-live', logger: silentLogger });
    await app.addOwner({ name: 'Live Owner', source: 'test' });
    await close();
    const configFile = path.join(work, 'config.json');
    await fs.writeFile(
      configFile,
      JSON.stringify({
        configVersion: 1,
        device: { id: 'spk-live', groups: [] },
        uplink: { brokerUrl: url, reconnectMinMs: 100, reconnectMaxMs: 500 },
        fleet: { publicKeys: [fleet.publicKeyPem] },
        // Both words on the device; the fleet may only remove one (issue 9 §7: never add a wake word).
        wake: { words: [{ name: 'hey_jarvis' }, { name: 'alexa' }] },
        log: { level: 'error' },
      }),
    );
    const config = await loadConfig(configFile, { dataDir });

    const stdin = new PassThrough();
    const events: DaemonEvent[] = [];
    const done = runDaemon({ config, input: '-', stdin, mqttProtocolVersion: 4, onEvent: (e) => events.push(e) });
    const feed = (pcm: Int16Array) => stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    const silence = new Int16Array(16_000 * 3);
    const jarvis = await clip('hey_jarvis__en-us.wav');
    const alexa = await clip('alexa__en-us.wav');
    const wakes = () => events.filter((e): e is Extract<DaemonEvent, { type: 'wake' }> => e.type === 'wake').map((e) => e.wakeword);

    feed(jarvis);
    feed(silence);
    await waitFor(() => wakes().length === 1, 20_000, 'hey_jarvis before the change');
    expect(wakes()).toEqual(['hey_jarvis']);

    const push = async (key: string, version: number, words: string[]) => {
      const doc = signFleetDocument({ wake: { words: words.map((name) => ({ name })) } }, createPrivateKey(key), { target: 'device:spk-live', version });
      await pushFleetDocument(Buffer.from(JSON.stringify(doc)), { brokerUrl: url, protocolVersion: 4 });
    };
    // The retained status carries the audit head (entry number and hash, nothing personal): issue 9 §2.
    const statuses: Record<string, unknown>[] = [];
    const watcher = await connectAsync(url, { protocolVersion: 4 });
    watcher.on('message', (_t, payload) => statuses.push(JSON.parse(payload.toString('utf8')) as Record<string, unknown>));
    await watcher.subscribeAsync('earshot/v1/devices/spk-live/status');

    await push(forger.privateKeyPem, 5, ['alexa']);
    await waitFor(() => events.some((e) => e.type === 'fleet' && e.result === 'refused'), 10_000, 'the forged document refused');
    await push(fleet.privateKeyPem, 1, ['alexa']);
    await waitFor(() => events.some((e) => e.type === 'fleet' && e.result === 'applied'), 10_000, 'the signed document applied');
    await new Promise((r) => setTimeout(r, 500)); // the new detector is built in the background

    feed(silence);
    feed(jarvis);
    feed(silence);
    feed(alexa);
    feed(silence);
    stdin.end();
    const result = await done;
    expect(wakes()).toEqual(['hey_jarvis', 'alexa']);
    expect(result.captures).toBe(2);
    const withHead = statuses.filter((st) => st['online'] === true && st['auditHead'] !== undefined);
    expect(withHead.length).toBeGreaterThan(0);
    const head = withHead.at(-1)!['auditHead'] as { seq: number; hash: string };
    expect(Object.keys(head).sort()).toEqual(['hash', 'seq']);
    expect(head.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(head.seq).toBeGreaterThan(0);
    const after = await openApp({ config: { ...defaultConfig(), dataDir }, deviceId: 'spk-live', logger: silentLogger });
    const log = await after.app.auditLog();
    expect(log.find((e) => e.seq === head.seq)?.hash).toBe(head.hash);
    await after.close();
    await watcher.endAsync();
  }, 90_000);
});
