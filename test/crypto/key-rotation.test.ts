import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openApp, type OpenedApp } from '../../src/open-app.js';
import { FileKeyStore, type KeyStore } from '../../src/store/index.js';
import type { KeyEncryptionKey, LoadedKeys } from '../../src/crypto/key-store.js';
import { DEVICE, TEST, freshApp, makeCapture, openRecording, samePcm, tempDir } from '../store/helpers.js';

/** The app on an existing data directory, optionally with another key store (the crash simulations). */
function openWith(dataDir: string, keyStore?: KeyStore): Promise<OpenedApp> {
  return openApp({ config: { ...defaultConfig(), dataDir }, deviceId: DEVICE, logger: silentLogger, ...(keyStore ? { store: { keyStore } } : {}) });
}

/** A key store that "crashes" (throws, leaving files as they are) at a chosen step of the rotation. */
class CrashingKeyStore implements KeyStore {
  constructor(
    private readonly inner: FileKeyStore,
    private readonly crashAt: 'after-stage' | 'before-commit',
  ) {}
  get location() {
    return this.inner.location;
  }
  load(): Promise<LoadedKeys> {
    return this.inner.load();
  }
  async stageNext(): Promise<KeyEncryptionKey> {
    const k = await this.inner.stageNext();
    if (this.crashAt === 'after-stage') throw new Error('simulated crash after staging the new key');
    return k;
  }
  async commitNext(): Promise<void> {
    throw new Error('simulated crash before the key file swap');
  }
  discardNext(): Promise<void> {
    // A crashed process does not clean up.
    return Promise.resolve();
  }
}

describe('device key rotation', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.cleanup());

  async function setup() {
    t = tempDir();
    const s = await freshApp(t.dir);
    const a = await s.app.addOwner({ name: 'Alice', ...TEST });
    const cap = makeCapture({ seed: 5 });
    await s.app.storeCapture(a, cap, { uplink: false });
    await s.close();
    return { dir: t.dir, a, cap };
  }

  it('key file is created 0600; rotate re-wraps without touching recordings', async () => {
    const { dir, cap } = await setup();
    const keyFile = path.join(dir, 'device.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const s = await openWith(dir);
    const before = readFileSync(keyFile, 'utf8');
    const r = await s.app.rotateKeys(TEST);
    expect(r.from).not.toBe(r.to);
    expect(r.owners).toBe(1);
    expect(readFileSync(keyFile, 'utf8')).not.toBe(before);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(samePcm((await openRecording(s.store, cap.id)).pcm, cap.pcm)).toBe(true);
    await s.close();
    const s2 = await openWith(dir);
    expect(samePcm((await openRecording(s2.store, cap.id)).pcm, cap.pcm)).toBe(true);
    const rotated = (await s2.app.auditLog()).filter((e) => e.type === 'key.rotated');
    expect(rotated).toHaveLength(1);
    expect(rotated[0]?.detail).toMatchObject({ from: r.from, to: r.to, owners: 1, reason: 'rotation' });
    expect((await s2.app.verifyAudit()).ok).toBe(true);
    await s2.close();
  });

  it('crash after the new key file was written: the old key keeps working and the stale file is removed', async () => {
    const { dir, cap } = await setup();
    const inner = FileKeyStore.inDataDir(dir);
    const s = await openWith(dir, new CrashingKeyStore(inner, 'after-stage'));
    const oldId = (await inner.load()).current.id;
    await expect(s.app.rotateKeys(TEST)).rejects.toThrow(/simulated crash/);
    await s.close();
    expect(existsSync(path.join(dir, 'device.key.next'))).toBe(true);
    const s2 = await openWith(dir);
    expect(samePcm((await openRecording(s2.store, cap.id)).pcm, cap.pcm)).toBe(true);
    expect(existsSync(path.join(dir, 'device.key.next'))).toBe(false);
    expect((await inner.load()).current.id).toBe(oldId);
    await s2.close();
  });

  it('crash after the database switched but before the key file swap: the new key is adopted on start', async () => {
    const { dir, cap } = await setup();
    const inner = FileKeyStore.inDataDir(dir);
    const oldId = (await inner.load()).current.id;
    const s = await openWith(dir, new CrashingKeyStore(inner, 'before-commit'));
    await expect(s.app.rotateKeys(TEST)).rejects.toThrow(/simulated crash/);
    await s.close();
    const s2 = await openWith(dir);
    expect(samePcm((await openRecording(s2.store, cap.id)).pcm, cap.pcm)).toBe(true);
    const now = await inner.load();
    expect(now.current.id).not.toBe(oldId);
    expect(now.next).toBeUndefined();
    await s2.close();
  });

  it('a daemon still running picks up a rotation done by another process', async () => {
    const { dir, a, cap } = await setup();
    const daemon = await openWith(dir);
    const cli = await openWith(dir);
    await cli.app.rotateKeys(TEST);
    await cli.close();
    expect(samePcm((await openRecording(daemon.store, cap.id)).pcm, cap.pcm)).toBe(true);
    const c6 = makeCapture({ seed: 6 });
    await daemon.app.storeCapture(a, c6, { uplink: false });
    expect(samePcm((await openRecording(daemon.store, c6.id)).pcm, c6.pcm)).toBe(true);
    await daemon.close();
  });
});
