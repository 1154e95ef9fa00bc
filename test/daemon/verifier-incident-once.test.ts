/**
 * A household verifier that does not open is an incident — once. The daemon looks at the owners' settings and
 * verifiers again whenever the audit log moves; an incident moves the log, so recording it at every look would
 * fill the log with one incident every watch interval for as long as the damage stays.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, type DeviceConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { runDaemon, type DaemonEvent } from '../../src/daemon/index.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir } from '../../src/store/index.js';
import { tamper } from '../store/helpers.js';
import { centreOf, windowsAround } from '../support/verifier-features.js';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-verifier-incident-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('a verifier that does not open, in the daemon', () => {
  it('is recorded as one incident, not one per watch pass, and the base model keeps listening', async () => {
    const dataDir = path.join(work, 'data');
    await initDataDir(dataDir, { deviceId: 'spk-vi' });
    const config: DeviceConfig = { ...defaultConfig(), dataDir, device: { id: 'spk-vi', groups: [] } };
    config.log.level = 'error';
    const dim = 16 * 96;
    const negatives = Array.from({ length: 10 }, (_, i) => windowsAround(centreOf(100 + i, dim), 5, 200 + i, 0.5)).flat();
    const setup = await openApp({ config, deviceId: 'spk-vi', logger: silentLogger, genericNegatives: async () => negatives });
    const owner = await setup.app.addOwner({ name: 'Alice', source: 'test' });
    const voice = centreOf(1, dim);
    const clips = Array.from({ length: 3 }, (_, i) => ({ peakScore: 0.6 + i / 20, windows: windowsAround(voice, 6, 100 + i, 0.2) }));
    await setup.app.enrolVerifier({ ownerId: owner, wakeword: 'hey_jarvis', clips, source: 'test' });
    await setup.close();
    await tamper(dataDir, async (db) => {
      const row = await db.get<{ sealed_model: Buffer }>('SELECT sealed_model FROM verifiers WHERE owner_id = ?', [owner]);
      const blob = Buffer.from(row!.sealed_model);
      blob[blob.length - 1]! ^= 1;
      await db.run('UPDATE verifiers SET sealed_model = ? WHERE owner_id = ?', [blob, owner]);
    });

    const stdin = new PassThrough();
    const ac = new AbortController();
    const events: DaemonEvent[] = [];
    const done = runDaemon({ config, input: '-', stdin, signal: ac.signal, verifierWatchMs: 30, onEvent: (e) => events.push(e) });
    const until = Date.now() + 30_000;
    while (!events.some((e) => e.type === 'listening') && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(events.some((e) => e.type === 'listening')).toBe(true);
    // Something audited happens (the CLI switches the owner): the watch looks again, and again, many passes.
    const cli = await openApp({ config, deviceId: 'spk-vi', logger: silentLogger });
    await cli.app.useOwner(owner, { source: 'owner-cli' });
    await cli.close();
    await new Promise((r) => setTimeout(r, 800));
    ac.abort();
    stdin.end();
    await done;
    const after = await openApp({ config, deviceId: 'spk-vi', logger: silentLogger });
    try {
      const incidents = (await after.app.auditLog()).filter((e) => e.type === 'incident' && e.detail?.['what'] === 'verifier');
      expect(incidents).toHaveLength(1);
      expect(incidents[0]!.ownerId).toBe(owner);
    } finally {
      await after.close();
    }
  }, 60_000);
});
