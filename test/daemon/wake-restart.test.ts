/**
 * A failed wake loop is not the end of the daemon (issue 8 §2): the detector throws mid-stream, the wake
 * service is restarted with backoff, the failure is reported as an event and in the live status, and a wake
 * word heard after the restart is captured and stored for the owner who was active at that wake.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import { defaultConfig } from '../../src/config/index.js';
import { askDaemon, runDaemon, type DaemonEvent } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir } from '../../src/store/index.js';
import { WakeDetector } from '../../src/wakeword/index.js';

const ROOT = path.resolve(__dirname, '../..');
let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-restart-'));
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

describe('the wake service under failure', () => {
  it('restarts a failed detector with backoff, reports it, and captures a wake word heard afterwards', async () => {
    const dataDir = path.join(work, 'data');
    await initDataDir(dataDir, { deviceId: 'spk-restart' });
    const config = { ...defaultConfig(), dataDir, device: { id: 'spk-restart', groups: [] } };
    const opened = await openApp({ config, deviceId: 'spk-restart', logger: silentLogger });
    const ownerId = await opened.app.addOwner({ name: 'Restart Owner', source: 'test' });
    await opened.close();
    config.log.level = 'error';

    let built = 0;
    const buildDetector = async (wake: typeof config.wake) => {
      const d = await WakeDetector.fromConfig(wake);
      const n = ++built;
      let pushes = 0;
      return {
        words: d.words,
        processor: {
          push: async (s: Int16Array) => {
            // The first detector dies on its 10th chunk (as an ONNX session fault would).
            if (n === 1 && ++pushes === 10) throw new Error('simulated detector fault');
            return d.push(s);
          },
        },
      };
    };
    const stdin = new PassThrough();
    const events: DaemonEvent[] = [];
    const done = runDaemon({ config, input: '-', stdin, buildDetector, onEvent: (e) => events.push(e) });
    const feed = (pcm: Int16Array) => stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    await waitFor(() => events.some((e) => e.type === 'listening'), 30_000, 'listening');

    // Chunk by chunk (a pipe would coalesce writes made at once) until the detector has failed.
    for (let i = 0; i < 40 && !events.some((e) => e.type === 'service-failed'); i++) {
      feed(new Int16Array(1280));
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => events.some((e) => e.type === 'service-failed'), 10_000, 'the failure reported');
    const failed = events.find((e) => e.type === 'service-failed') as Extract<DaemonEvent, { type: 'service-failed' }>;
    expect(failed, JSON.stringify(events)).toMatchObject({ service: 'wake', error: 'simulated detector fault' });
    expect(failed.retryInMs).toBeGreaterThan(0);
    expect(failed.retryInMs).toBeLessThanOrEqual(1_000);

    // The live status shows the failure while the daemon keeps running.
    await waitFor(() => built === 2, 10_000, 'a new detector');
    const live = await askDaemon(dataDir);
    const wake = (live!['services'] as { name: string; state: string; failures: number; lastError?: string }[]).find((s) => s.name === 'wake');
    expect(wake).toMatchObject({ failures: 1, lastError: 'simulated detector fault' });

    const jarvis = (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav'))).pcm16k;
    feed(jarvis);
    feed(new Int16Array(16_000 * 3));
    stdin.end();
    const result = await done;
    expect(events.filter((e) => e.type === 'wake').map((e) => (e as { wakeword: string }).wakeword)).toEqual(['hey_jarvis']);
    expect(result.captures).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'stopped', reason: 'input-ended' });

    const after = await openApp({ config, deviceId: 'spk-restart', logger: silentLogger });
    try {
      expect(await after.app.listRecordings(ownerId)).toHaveLength(1);
    } finally {
      await after.close();
    }
  }, 90_000);
});
