/**
 * Wake words per owner in the running daemon (issue 13 §4, §5): Alice claimed "alexa", Bob is active. An
 * "alexa" wake lands in Alice's recordings and a "hey_jarvis" wake in Bob's; each word's detector threshold is
 * that of the owner it routes to, and a threshold applied by another process (the CLI) while the daemon runs
 * rebuilds the detector. Real models, real fixtures, the real application layer on SQLite.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import { defaultConfig, type DeviceConfig } from '../../src/config/index.js';
import { runDaemon, type DaemonEvent } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir } from '../../src/store/index.js';
import { WakeDetector } from '../../src/wakeword/index.js';
import { tamper } from '../store/helpers.js';

const ROOT = path.resolve(__dirname, '../..');
const fixture = async (name: string) => (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', name))).pcm16k;
let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-claims-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('claimed wake words in the daemon', () => {
  it("an alexa wake is Alice's (she claimed it) and a hey_jarvis wake Bob's (active); each word runs at its owner's threshold", async () => {
    const dataDir = path.join(work, 'data');
    const device = 'spk-claims';
    await initDataDir(dataDir, { deviceId: device });
    const config: DeviceConfig = { ...defaultConfig(), dataDir, device: { id: device, groups: [] } };
    config.wake = { ...config.wake, words: [{ name: 'alexa' }, { name: 'hey_jarvis' }] };
    config.log.level = 'error';
    const setup = await openApp({ config, deviceId: device, logger: silentLogger });
    const alice = await setup.app.addOwner({ name: 'Alice', source: 'test' });
    const bob = await setup.app.addOwner({ name: 'Bob', source: 'test' });
    await setup.app.useOwner(bob, { source: 'test' });
    await setup.app.claimWakeword(alice, 'alexa', { source: 'test' });
    await setup.app.setWakeThreshold(alice, 'alexa', { threshold: 0.45 }, { source: 'test' });
    // Bob's own choice for alexa does not apply: alexa is Alice's.
    await setup.app.setWakeThreshold(bob, 'alexa', { threshold: 0.9 }, { source: 'test' });
    await setup.close();

    const builtWith: DeviceConfig['wake'][] = [];
    const buildDetector = async (wake: DeviceConfig['wake']) => {
      builtWith.push(structuredClone(wake));
      const d = await WakeDetector.fromConfig(wake);
      return { processor: d, words: d.words };
    };
    const stdin = new PassThrough();
    const events: DaemonEvent[] = [];
    const done = runDaemon({ config, input: '-', stdin, buildDetector, onEvent: (e) => events.push(e) });
    const feed = (pcm: Int16Array) => stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    try {
      await waitFor(() => events.some((e) => e.type === 'listening'), 60_000, 'listening');
      expect(builtWith[0]!.words).toEqual([{ name: 'alexa', threshold: 0.45 }, { name: 'hey_jarvis' }]);

      // Another process (the CLI) sets Bob's hey_jarvis threshold while the daemon runs: the detector is rebuilt.
      const cli = await openApp({ config, deviceId: device, logger: silentLogger });
      await cli.app.setWakeThreshold(bob, 'hey_jarvis', { threshold: 0.4 }, { source: 'owner-cli' });
      await cli.close();
      await waitFor(() => builtWith.length === 2, 20_000, 'the detector rebuilt with Bob\'s threshold');
      expect(builtWith[1]!.words).toEqual([{ name: 'alexa', threshold: 0.45 }, { name: 'hey_jarvis', threshold: 0.4 }]);

      feed(new Int16Array(16_000));
      feed(await fixture('alexa__en-us.wav'));
      feed(new Int16Array(16_000 * 4));
      feed(await fixture('hey_jarvis__en-us.wav'));
      feed(new Int16Array(16_000 * 4));
    } finally {
      stdin.end();
    }
    const result = await done;
    const wakes = events.filter((e): e is Extract<DaemonEvent, { type: 'wake' }> => e.type === 'wake').map((e) => [e.wakeword, e.owner]);
    expect(wakes).toEqual([
      ['alexa', 'claimer'],
      ['hey_jarvis', 'active'],
    ]);
    expect(result.captures).toBe(2);

    const after = await openApp({ config, deviceId: device, logger: silentLogger });
    try {
      expect((await after.app.listRecordings(alice)).map((r) => r.wakeword)).toEqual(['alexa']);
      expect((await after.app.listRecordings(bob)).map((r) => r.wakeword)).toEqual(['hey_jarvis']);
    } finally {
      await after.close();
    }
  }, 120_000);

  it("a claim that does not open (Alice's profile modified) hands nothing to Bob: both wakes withheld, nothing stored, incidents recorded", async () => {
    const dataDir = path.join(work, 'data-tampered');
    const device = 'spk-claims-2';
    await initDataDir(dataDir, { deviceId: device });
    const config: DeviceConfig = { ...defaultConfig(), dataDir, device: { id: device, groups: [] } };
    config.wake = { ...config.wake, words: [{ name: 'alexa' }, { name: 'hey_jarvis' }] };
    config.log.level = 'error';
    const setup = await openApp({ config, deviceId: device, logger: silentLogger });
    const alice = await setup.app.addOwner({ name: 'Alice', source: 'test' });
    const bob = await setup.app.addOwner({ name: 'Bob', source: 'test' });
    await setup.app.useOwner(bob, { source: 'test' });
    await setup.app.claimWakeword(alice, 'alexa', { source: 'test' });
    await setup.close();
    await tamper(dataDir, async (db) => {
      const row = await db.get<{ sealed_profile: Buffer }>('SELECT sealed_profile FROM owners WHERE id = ?', [alice]);
      const blob = Buffer.from(row!.sealed_profile);
      blob[blob.length - 1]! ^= 1;
      await db.run('UPDATE owners SET sealed_profile = ? WHERE id = ?', [blob, alice]);
    });

    const stdin = new PassThrough();
    const events: DaemonEvent[] = [];
    const done = runDaemon({ config, input: '-', stdin, onEvent: (e) => events.push(e) });
    const feed = (pcm: Int16Array) => stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    feed(new Int16Array(16_000));
    feed(await fixture('alexa__en-us.wav'));
    feed(new Int16Array(16_000 * 4));
    feed(await fixture('hey_jarvis__en-us.wav'));
    feed(new Int16Array(16_000 * 4));
    stdin.end();
    const result = await done;
    const wakes = events.filter((e): e is Extract<DaemonEvent, { type: 'wake' }> => e.type === 'wake').map((e) => [e.wakeword, e.owner]);
    expect(wakes).toEqual([
      ['alexa', 'withheld'],
      ['hey_jarvis', 'withheld'],
    ]);
    expect(result.captures).toBe(0);
    const after = await openApp({ config, deviceId: device, logger: silentLogger });
    try {
      expect(await after.app.listRecordings(bob)).toEqual([]);
      const incidents = (await after.app.auditLog()).filter((e) => e.type === 'incident').map((e) => e.detail);
      expect(incidents).toEqual([
        { kind: 'wake-withheld', reason: 'claims-unreadable', owners: 1 },
        { kind: 'wake-withheld', reason: 'claims-unreadable', owners: 1 },
      ]);
    } finally {
      await after.close();
    }
  }, 120_000);
});
