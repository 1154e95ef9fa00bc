/**
 * Issue 9 §3: odd key files are refused before anything is opened — a symlink (a rotation would leave the old
 * key at its target, and a pre-erasure database copy plus that leftover key reads the erased owner again),
 * a directory, a file owned by another user, a second hard link, modes wider than 0600. A rotation overwrites
 * the old key file's content.
 */
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, openSync, readSync, closeSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/store/index.js';
import { TEST, freshApp, makeCapture, tempDir } from '../store/helpers.js';

describe('key file safety', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => {
    while (dirs.length) dirs.pop()!.cleanup();
  });
  async function populated() {
    const t = tempDir('earshot-keyfile-');
    dirs.push(t);
    const s = await freshApp(t.dir);
    const a = await s.app.addOwner({ name: 'Alice', ...TEST });
    await s.app.storeCapture(a, makeCapture({ seed: 3 }), { uplink: false });
    await s.close();
    return { dir: t.dir, keyFile: path.join(t.dir, 'device.key'), alice: a };
  }
  const open = (dir: string) => freshApp(dir, { init: false });

  it('a symlinked key file is refused (KEY_FILE_PERMISSIONS, names the fix); the real file still works', async () => {
    const { dir, keyFile } = await populated();
    const real = path.join(dir, 'elsewhere.key');
    renameSync(keyFile, real);
    symlinkSync(real, keyFile);
    await expect(open(dir)).rejects.toMatchObject({ code: 'KEY_FILE_PERMISSIONS', message: expect.stringContaining('symbolic link') });
    rmSync(keyFile);
    renameSync(real, keyFile);
    await (await open(dir)).close();
  });

  it('the issue\'s attack: with a symlinked key, rotate/erase can no longer leave the old key at the target', async () => {
    const { dir, keyFile, alice } = await populated();
    const real = path.join(dir, 'target.key');
    renameSync(keyFile, real);
    symlinkSync(real, keyFile);
    // Nothing runs on a symlinked key file: not an erasure, not a rotation, so no key is left behind at the target.
    await expect(open(dir)).rejects.toMatchObject({ code: 'KEY_FILE_PERMISSIONS' });
    expect(readFileSync(real, 'utf8')).toContain('earshot-device-key');
    rmSync(keyFile);
    renameSync(real, keyFile);
    const s = await open(dir);
    await s.app.eraseOwner(alice, TEST);
    await s.close();
  });

  it('a directory at the key path is refused (KEY_FILE_INVALID)', async () => {
    const { dir, keyFile } = await populated();
    renameSync(keyFile, keyFile + '.moved');
    mkdirSync(keyFile, { mode: 0o700 });
    await expect(open(dir)).rejects.toMatchObject({ code: 'KEY_FILE_INVALID', message: expect.stringContaining('directory') });
  });

  it('a key file owned by another user is refused', async () => {
    const { dir, keyFile } = await populated();
    if (process.getuid?.() !== 0) throw new Error('this test chowns a file to another user and must run as root (the CI container does)');
    chownSync(keyFile, 65534, 65534);
    await expect(open(dir)).rejects.toMatchObject({ code: 'KEY_FILE_PERMISSIONS', message: expect.stringContaining('owned by uid 65534') });
    chownSync(keyFile, 0, 0);
    await (await open(dir)).close();
  });

  it('a key file with a second hard link is refused', async () => {
    const { dir, keyFile } = await populated();
    const other = path.join(dir, '.copy');
    linkSync(keyFile, other);
    await expect(open(dir)).rejects.toMatchObject({ code: 'KEY_FILE_PERMISSIONS', message: expect.stringContaining('hard links') });
    rmSync(other);
    await (await open(dir)).close();
  });

  it('modes wider than 0600 are refused as before', async () => {
    const { dir, keyFile } = await populated();
    for (const mode of [0o640, 0o604, 0o660, 0o606]) {
      chmodSync(keyFile, mode);
      await expect(open(dir)).rejects.toMatchObject({ code: 'KEY_FILE_PERMISSIONS' });
    }
    chmodSync(keyFile, 0o600);
    await (await open(dir)).close();
  });

  it('a rotation overwrites the old key file\'s content (a descriptor held on the old file reads zeros)', async () => {
    const { dir, keyFile } = await populated();
    const before = readFileSync(keyFile, 'utf8');
    const fd = openSync(keyFile, 'r'); // e.g. a process that opened the old file
    try {
      const s = await open(dir);
      await s.app.rotateKeys(TEST);
      await s.close();
      const buf = Buffer.alloc(before.length);
      readSync(fd, buf, 0, buf.length, 0);
      expect(buf.equals(Buffer.alloc(before.length, 0))).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(keyFile, 'utf8')).not.toBe(before);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(keyFile + '.next')).toBe(false);
    expect(existsSync(keyFile + '.tmp')).toBe(false);
  });

  it('a leftover temporary key file from a crash is never written into (removed, replaced)', async () => {
    const { dir, keyFile } = await populated();
    writeFileSync(keyFile + '.tmp', 'stale', { mode: 0o600 });
    const s = await open(dir);
    await s.app.addOwner({ name: 'Bob', ...TEST }); // an audit append rewrites the key file (anchor)
    await s.close();
    expect(existsSync(keyFile + '.tmp')).toBe(false);
    await expect(new FileKeyStore(keyFile).state.readAuditAnchor()).resolves.toMatchObject({ seq: expect.any(Number) });
  });
});
