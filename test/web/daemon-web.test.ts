/**
 * `web.enabled`: the daemon hosts the owners' page on its own application layer while it listens; a page that cannot
 * start (LAN address without a certificate) stops the daemon's start with the typed error.
 */
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { runDaemon, type DaemonEvent } from '../../src/daemon/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir } from '../../src/store/index.js';
import { AppOwnerBackend, createPairingLink } from '../../src/web/index.js';
import { makeCapture, tempDir } from '../store/helpers.js';
import { send } from './helpers.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function setUp(web: Record<string, unknown>) {
  const t = tempDir('earshot-web-daemon-');
  const dataDir = path.join(t.dir, 'data');
  await initDataDir(dataDir, { deviceId: 'spk-web' });
  const configFile = path.join(t.dir, 'config.json');
  await fs.writeFile(configFile, JSON.stringify({ configVersion: 1, device: { id: 'spk-web', groups: [] }, log: { level: 'error' }, web }));
  const config = await loadConfig(configFile, { dataDir });
  const opened = await openApp({ config, deviceId: 'spk-web', logger: silentLogger });
  const alice = await opened.app.addOwner({ name: 'Alice', source: 'test' });
  // Recent: the daemon's retention sweep at start would delete an old one.
  const rec = (await opened.app.storeCapture(alice, makeCapture({ seed: 7, startedAt: Date.now() }), { uplink: false })).recording;
  await opened.close();
  return { t, dataDir, alice, rec, config };
}

describe('the daemon hosts the owners page (web.enabled)', () => {
  it('serves while the daemon runs and stops with it', async () => {
    const port = await freePort();
    const s = await setUp({ enabled: true, port });
    try {
      const stdin = new PassThrough();
      const events: DaemonEvent[] = [];
      const done = runDaemon({ config: s.config, input: '-', stdin, onEvent: (e) => events.push(e) });
      await expect.poll(() => events.some((e) => e.type === 'listening'), { timeout: 30_000 }).toBe(true);
      const base = `http://127.0.0.1:${port}`;
      // Pair the way `earshot web pair` does, from another process's view of the same data directory.
      const other = await openApp({ config: s.config, deviceId: 'spk-web', logger: silentLogger });
      const { link } = await createPairingLink(new AppOwnerBackend(other.app), {
        baseUrl: base,
        clock: { now: () => Date.now() },
        source: 'owner-cli',
      });
      await other.close();
      const paired = await send(base, 'POST', '/api/pair', { body: { code: link.split('#c=')[1] } });
      expect(paired.status).toBe(200);
      const cookie = String(paired.headers['set-cookie']).split(';')[0]!;
      const list = await send(base, 'GET', '/api/recordings', { cookie });
      expect(list.json().items.map((i: { id: string }) => i.id)).toEqual([s.rec.id]);
      stdin.end();
      await done;
      await expect(send(base, 'GET', '/api/session', { cookie })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      s.t.cleanup();
    }
  });

  it('a LAN address without a certificate stops the start with WEB_TLS', async () => {
    const s = await setUp({ enabled: true, host: '0.0.0.0', port: await freePort() });
    try {
      await expect(runDaemon({ config: s.config, input: '-', stdin: new PassThrough() })).rejects.toMatchObject({
        code: 'WEB_TLS',
        message: expect.stringContaining('earshot web cert'),
      });
    } finally {
      s.t.cleanup();
    }
  });
});
