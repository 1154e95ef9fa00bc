/**
 * `earshot retention sweep` applies the same retention as the daemon: the owner's choice capped by the applied
 * fleet documents (before the application layer, the CLI sweep ignored the fleet's cap, which only the daemon
 * applied).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveDeviceId } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { FleetConfigReceiver } from '../../src/fleet/index.js';
import { openApp } from '../../src/open-app.js';
import { DAY_MS } from '../../src/privacy/index.js';
import { makeKeys, signed } from '../fleet/helpers.js';
import { runEarshot } from '../helpers/cli.js';
import { makeCapture } from '../store/helpers.js';

describe('earshot retention sweep', () => {
  it("applies the fleet's retention cap over the owner's own, as the daemon does", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-retention-cli-'));
    const keys = makeKeys();
    const configFile = join(dir, 'config.json');
    await writeFile(join(dir, 'fleet.pem'), keys.publicKeyPem);
    await writeFile(configFile, JSON.stringify({ configVersion: 1, device: { groups: ['eu'] }, fleet: { publicKeys: ['fleet.pem'] }, log: { level: 'silent' } }));
    const env = { EARSHOT_DATA_DIR: join(dir, 'data'), EARSHOT_CONFIG: configFile };
    expect((await runEarshot(['init'], env)).code).toBe(0);
    const ownerId = (JSON.parse((await runEarshot(['owners', 'add', '--name', 'Alice', '--json'], env)).out) as { ownerId: string }).ownerId;

    const config = await loadConfig(configFile, { dataDir: env.EARSHOT_DATA_DIR });
    const deviceId = await resolveDeviceId(config);
    const { app, store, close } = await openApp({ config, deviceId, logger: silentLogger });
    const tenDaysOld = makeCapture({ seed: 1, startedAt: Date.now() - 10 * DAY_MS });
    const yesterday = makeCapture({ seed: 2, startedAt: Date.now() - DAY_MS });
    try {
      for (const c of [tenDaysOld, yesterday]) await app.storeCapture(ownerId, c, { uplink: false });
      // Owner keeps 30 days: nothing to sweep yet.
      expect(JSON.parse((await runEarshot(['retention', 'sweep', '--json'], env)).out)).toEqual([{ ownerId, retentionDays: 30, deleted: 0 }]);
      // The daemon applied (and persisted) a group document capping retention at 7 days.
      const receiver = new FleetConfigReceiver({ deviceId, deviceConfig: config, settings: store.settings, audit: store.audit });
      expect((await receiver.receive('earshot/v1/fleet/eu/config', signed(keys.privateKey, { privacy: { maxRetentionDays: 7 } }, { version: 1, target: 'group:eu' }))).status).toBe('applied');
    } finally {
      await close();
    }
    const swept = await runEarshot(['retention', 'sweep', '--json'], env);
    expect(swept.code).toBe(0);
    expect(JSON.parse(swept.out)).toEqual([{ ownerId, retentionDays: 7, deleted: 1 }]);
    const left = JSON.parse((await runEarshot(['recordings', 'list', '--json'], env)).out) as { id: string }[];
    expect(left.map((r) => r.id)).toEqual([yesterday.id]);
    const log = (await runEarshot(['audit', 'log', '--json'], env)).out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; detail: Record<string, unknown> | null });
    expect(log.filter((e) => e.type === 'retention.swept').map((e) => e.detail)).toEqual([{ deleted: 1, recordingIds: tenDaysOld.id, retentionDays: 7, createdBefore: expect.any(Number), source: 'owner-cli' }]);
  });
});
