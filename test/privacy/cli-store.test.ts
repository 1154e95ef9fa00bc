/** The privacy commands end to end through `earshot` against the real encrypted SQLite store. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveDeviceId } from '../../src/config/index.js';
import { FleetConfigReceiver } from '../../src/fleet/index.js';
import { RecordingStore } from '../../src/store/recording-store.js';
import { makeKeys, signed } from '../fleet/helpers.js';
import { runEarshot } from '../helpers/cli.js';

async function earshot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runEarshot(args, env);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

describe('earshot consent / local-only (SQLite store)', () => {
  it('grant, status, revoke and local-only on/off persist, and a fleet-forced local-only cannot be turned off', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-privacy-cli-'));
    const keys = makeKeys();
    const configFile = join(dir, 'config.json');
    await writeFile(join(dir, 'fleet.pem'), keys.publicKeyPem);
    await writeFile(configFile, JSON.stringify({ configVersion: 1, device: { groups: ['eu'] }, fleet: { publicKeys: ['fleet.pem'] }, log: { level: 'silent' } }));
    const env = { EARSHOT_DATA_DIR: join(dir, 'data'), EARSHOT_CONFIG: configFile };

    expect((await earshot(['init'], env)).code).toBe(0);
    const added = await earshot(['owners', 'add', '--name', 'Alice', '--json'], env);
    expect(added.code).toBe(0);
    const ownerId = (JSON.parse(added.stdout) as { ownerId: string }).ownerId;

    const none = await earshot(['consent', 'status', '--json'], env);
    expect(JSON.parse(none.stdout)).toMatchObject({ ownerId, purposes: [{ purpose: 'cloud-processing', active: false, since: null }, { purpose: 'quality-improvement', active: false }] });

    const grant = await earshot(['consent', 'grant', '--purpose', 'cloud-processing', '--text-version', 'v2', '--json'], env);
    expect(grant.code).toBe(0);
    expect(JSON.parse(grant.stdout)).toMatchObject({ ownerId, purpose: 'cloud-processing', action: 'grant', source: 'owner-cli', textVersion: 'v2' });
    const status = await earshot(['consent', 'status', '--owner', ownerId], env);
    expect(status.stdout).toMatch(/cloud-processing\s+granted since \d{4}-/);
    expect(status.stdout).toMatch(/quality-improvement\s+never granted/);

    const fleetSource = await earshot(['consent', 'grant', '--purpose', 'quality-improvement', '--source', 'fleet'], env);
    expect(fleetSource.code).not.toBe(0);
    expect(fleetSource.stderr).toContain('consent cannot come from fleet');

    const revoke = await earshot(['consent', 'revoke', '--purpose', 'cloud-processing', '--json'], env);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ action: 'revoke', removedFromOutbox: 0 });
    expect(JSON.parse((await earshot(['consent', 'status', '--json'], env)).stdout).purposes[0]).toMatchObject({ active: false, source: 'owner-cli' });

    expect(JSON.parse((await earshot(['local-only', 'on', '--json'], env)).stdout)).toEqual({ ownerId, ownerChoice: true, forcedByFleet: false, effective: true });
    expect(JSON.parse((await earshot(['local-only', 'off', '--json'], env)).stdout)).toMatchObject({ effective: false });

    // The daemon applied a group document forcing local-only (persisted in the store's settings).
    const config = await loadConfig(configFile, { dataDir: env.EARSHOT_DATA_DIR });
    const deviceId = await resolveDeviceId(config);
    const store = await RecordingStore.open({ dataDir: config.dataDir, deviceId });
    try {
      const receiver = new FleetConfigReceiver({ deviceId, deviceConfig: config, settings: store.settings, audit: store.audit });
      const r = await receiver.receive('earshot/v1/fleet/eu/config', signed(keys.privateKey, { privacy: { forceLocalOnly: true } }, { version: 1, target: 'group:eu' }));
      expect(r.status).toBe('applied');
    } finally {
      await store.close();
    }
    const off = await earshot(['local-only', 'off'], env);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('LOCAL_ONLY: local-only mode is forced on by fleet configuration');
    expect(JSON.parse((await earshot(['local-only', 'status', '--json'], env)).stdout)).toEqual({ ownerId, ownerChoice: false, forcedByFleet: true, effective: true });

    // Every change is in the hash-chained audit log, once.
    const log = await earshot(['audit', 'log', '--json'], env);
    const types = log.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types.filter((t) => t === 'consent.changed')).toHaveLength(2);
    expect(types.filter((t) => t === 'local-only.changed')).toHaveLength(2);
    expect(types.filter((t) => t === 'config.applied')).toHaveLength(1);
    expect((await earshot(['audit', 'verify'], env)).code).toBe(0);
  }, 30_000);
});
