/**
 * No partial export, ever: bundles are built in a private staging directory inside the data directory, moved into
 * place whole, logged only once in place; a failure (even of the clean-up) is EXPORT_ABORTED with an incident, and
 * what a killed export left in staging is removed at the next start.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, promises as fsp, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXPORT_STAGING_DIR } from '../../src/store/index.js';
import { freshApp, makeCapture, tempDir, TEST, type TestApp } from '../store/helpers.js';

describe('export staging', () => {
  let t: ReturnType<typeof tempDir>;
  let opened: TestApp;
  let alice: string;
  beforeEach(async () => {
    t = tempDir();
    opened = await freshApp(path.join(t.dir, 'data'));
    alice = await opened.app.addOwner({ name: 'Alice', ...TEST });
    for (let i = 0; i < 3; i++) await opened.app.storeCapture(alice, makeCapture({ seed: i }), { uplink: false });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await opened.close();
    t.cleanup();
  });
  const staging = () => path.join(t.dir, 'data', EXPORT_STAGING_DIR);
  const stagedEntries = () => (existsSync(staging()) ? readdirSync(staging()) : []);
  const exportsLogged = async () => (await opened.app.auditLog({ ownerId: alice })).filter((e) => e.type === 'export.created');
  const incidents = async () => (await opened.app.auditLog({ ownerId: alice })).filter((e) => e.type === 'incident' && e.detail?.['kind'] === 'export-aborted');

  it('builds the bundle in a 0700 directory inside the data directory, never beside the target', async () => {
    const target = path.join(t.dir, 'out');
    mkdirSync(target);
    const seen: string[][] = [];
    let mode = 0;
    await opened.app.exportOwner({
      ownerId: alice,
      out: path.join(target, 'alice.tar'),
      ...TEST,
      onProgress: () => {
        seen.push(readdirSync(target));
        if (stagedEntries().length > 0) mode = statSync(path.join(staging(), stagedEntries()[0]!)).mode & 0o777;
      },
    });
    expect(seen.every((s) => s.length === 0)).toBe(true);
    expect(mode).toBe(0o700);
    expect(readdirSync(target)).toEqual(['alice.tar']);
    expect(stagedEntries()).toEqual([]);
    expect(await exportsLogged()).toHaveLength(1);
  });

  for (const kind of ['directory', 'tar'] as const) {
    it(`${kind}: the target directory vanishing mid-export aborts with EXPORT_ABORTED, nothing left anywhere, no export.created`, async () => {
      const target = path.join(t.dir, 'gone');
      mkdirSync(target);
      const out = path.join(target, kind === 'tar' ? 'alice.tar' : 'alice');
      await expect(
        opened.app.exportOwner({ ownerId: alice, out, ...TEST, onProgress: (p) => void (p.done === 2 && rmSync(target, { recursive: true })) }),
      ).rejects.toMatchObject({ code: 'EXPORT_ABORTED', message: expect.stringContaining('nothing was written') });
      expect(existsSync(target)).toBe(false);
      expect(stagedEntries()).toEqual([]);
      expect(await exportsLogged()).toEqual([]);
      expect((await incidents()).map((e) => e.detail?.['cleanupFailed'])).toEqual([false]);
    });
  }

  it('a clean-up that fails is part of the reported error and of the incident', async () => {
    const target = path.join(t.dir, 'gone');
    mkdirSync(target);
    const realRm = fsp.rm.bind(fsp);
    vi.spyOn(fsp, 'rm').mockImplementation(async (p, o) => {
      if (String(p).startsWith(staging())) throw Object.assign(new Error(`EACCES: permission denied, rm '${String(p)}'`), { code: 'EACCES' });
      return realRm(p, o);
    });
    const err = await opened.app
      .exportOwner({ ownerId: alice, out: path.join(target, 'alice.tar'), ...TEST, onProgress: (p) => void (p.done === 1 && rmSync(target, { recursive: true })) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EXPORT_ABORTED' });
    expect((err as Error).message).toMatch(/could not remove .*EACCES.*remove it by hand/);
    expect((await incidents()).map((e) => e.detail?.['cleanupFailed'])).toEqual([true]);
    expect(await exportsLogged()).toEqual([]);
  });

  it("the next start removes what a killed export left in staging, not a live process's", async () => {
    await opened.close();
    const dead = path.join(staging(), '2147483646-deadbeef0000');
    mkdirSync(path.join(dead, 'bundle', 'recordings'), { recursive: true });
    writeFileSync(path.join(dead, 'bundle', 'recordings', 'x.wav'), 'plaintext audio');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const live = path.join(staging(), `${sleeper.pid}-cafe00000000`);
      mkdirSync(live);
      opened = await freshApp(path.join(t.dir, 'data'), { init: false });
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
