import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileKeyStore, RecordingStore, type KeyStore } from '../../src/store/index.js';
import type { KeyEncryptionKey, LoadedKeys } from '../../src/crypto/key-store.js';
import { DEVICE, freshStore, makeCapture, samePcm, tempDir } from '../store/helpers.js';

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
    const s = await freshStore(t.dir);
    const a = await s.owners.add('Alice');
    const cap = makeCapture({ seed: 5 });
    await s.saveCapture(a, cap);
    await s.close();
    return { dir: t.dir, a, cap };
  }

  it('key file is created 0600; rotate re-wraps without touching recordings', async () => {
    const { dir, cap } = await setup();
    const keyFile = path.join(dir, 'device.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const s = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE });
    const before = readFileSync(keyFile, 'utf8');
    const r = await s.rotateKeys();
    expect(r.from).not.toBe(r.to);
    expect(readFileSync(keyFile, 'utf8')).not.toBe(before);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(samePcm((await s.recordings.open(cap.id)).pcm, cap.pcm)).toBe(true);
    await s.close();
    const s2 = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE });
    expect(samePcm((await s2.recordings.open(cap.id)).pcm, cap.pcm)).toBe(true);
    expect((await s2.audit.list()).some((e) => e.type === 'key.rotated')).toBe(true);
    expect((await s2.audit.verify()).ok).toBe(true);
    await s2.close();
  });

  it('crash after the new key file was written: the old key keeps working and the stale file is removed', async () => {
    const { dir, cap } = await setup();
    const inner = FileKeyStore.inDataDir(dir);
    const s = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE, keyStore: new CrashingKeyStore(inner, 'after-stage') });
    const oldId = (await inner.load()).current.id;
    await expect(s.rotateKeys()).rejects.toThrow(/simulated crash/);
    await s.close();
    expect(existsSync(path.join(dir, 'device.key.next'))).toBe(true);
    const s2 = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE });
    expect(samePcm((await s2.recordings.open(cap.id)).pcm, cap.pcm)).toBe(true);
    expect(existsSync(path.join(dir, 'device.key.next'))).toBe(false);
    expect((await inner.load()).current.id).toBe(oldId);
    await s2.close();
  });

  it('crash after the database switched but before the key file swap: the new key is adopted on start', async () => {
    const { dir, cap } = await setup();
    const inner = FileKeyStore.inDataDir(dir);
    const oldId = (await inner.load()).current.id;
    const s = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE, keyStore: new CrashingKeyStore(inner, 'before-commit') });
    await expect(s.rotateKeys()).rejects.toThrow(/simulated crash/);
    await s.close();
    const s2 = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE });
    expect(samePcm((await s2.recordings.open(cap.id)).pcm, cap.pcm)).toBe(true);
    const now = await inner.load();
    expect(now.current.id).not.toBe(oldId);
    expect(now.next).toBeUndefined();
    await s2.close();
  });

  it('a daemon still running picks up a rotation done by another process', async () => {
    const { dir, a, cap } = await setup();
    const daemon = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE });
    const cli = await RecordingStore.open({ dataDir: dir, deviceId: DEVICE });
    await cli.rotateKeys();
    await cli.close();
    expect(samePcm((await daemon.recordings.open(cap.id)).pcm, cap.pcm)).toBe(true);
    await daemon.saveCapture(a, makeCapture({ seed: 6 }));
    await daemon.close();
  });
});
