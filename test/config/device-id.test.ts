import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, ensureStoredDeviceId, resolveDeviceId } from '../../src/config/index.js';
import { isEarshotError } from '../../src/core/errors.js';

describe('device id', () => {
  it('is NOT_INITIALISED until init stores one, then stable across calls', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'earshot-id-'));
    const config = { ...defaultConfig(), dataDir };
    await expect(resolveDeviceId(config)).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'NOT_INITIALISED'));
    const first = await ensureStoredDeviceId(dataDir);
    expect(first).toMatch(/^es-[0-9a-f]{16}$/);
    // A second init keeps the identity.
    expect(await ensureStoredDeviceId(dataDir)).toBe(first);
    expect(await resolveDeviceId(config)).toBe(first);
    expect((await readFile(join(dataDir, 'device-id'), 'utf8')).trim()).toBe(first);
  });

  it('an explicit device.id in the config wins; a corrupt stored id is refused', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'earshot-id-'));
    const config = defaultConfig();
    config.dataDir = dataDir;
    config.device.id = 'speaker-7';
    expect(await resolveDeviceId(config)).toBe('speaker-7');
    await writeFile(join(dataDir, 'device-id'), 'bad/id\n');
    config.device.id = '';
    await expect(resolveDeviceId(config)).rejects.toSatisfy((e: unknown) => isEarshotError(e, 'STORE_CORRUPT'));
  });
});
