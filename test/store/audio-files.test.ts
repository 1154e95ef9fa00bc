import { copyFileSync, renameSync, existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { AudioVault } from '../../src/store/index.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { TEST, freshApp, makeCapture, openRecording, samePcm, tempDir } from './helpers.js';

/** Paths of files this process holds open that were deleted (what keeps an erased file's space in use). */
function deletedFilesHeldOpen(under: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd of readdir itself is gone by now
    }
    if (target.startsWith(under) && target.endsWith(' (deleted)')) out.push(target);
  }
  return out;
}

/** A second, direct view of the audio files: what is really on disk, without the store's reconcile. */
function vaultOf(dataDir: string): AudioVault {
  return new AudioVault(AudioVault.dirIn(dataDir), { synchronous: 'normal', busyTimeoutMs: 1000, logger: silentLogger });
}

describe("each owner's audio is in a file of its own", () => {
  let t: ReturnType<typeof tempDir>;
  afterEach(() => t.cleanup());

  it('two owners get two files (mode 0600); erasing one removes only that file', async () => {
    t = tempDir();
    const { app, store, close } = await freshApp(t.dir);
    const a = await app.addOwner({ name: 'Alice', ...TEST });
    const b = await app.addOwner({ name: 'Bob', ...TEST });
    await app.storeCapture(a, makeCapture({ seed: 1 }), { uplink: false });
    const cb = makeCapture({ seed: 2 });
    await app.storeCapture(b, cb, { uplink: false });
    const audio = path.join(t.dir, 'audio');
    expect(statSync(audio).mode & 0o777).toBe(0o700);
    for (const o of [a, b]) expect(statSync(path.join(audio, `${o}.db`)).mode & 0o777).toBe(0o600);
    await app.eraseOwner(a, TEST);
    expect(readdirSync(audio).filter((f) => f.startsWith(a))).toEqual([]);
    expect(samePcm((await openRecording(store, cb.id)).pcm, cb.pcm)).toBe(true);
    expect(await store.integrityCheck()).toBe('ok');
    await close();
  });

  it('on open, audio without a recording row and files of owners who no longer exist are removed (an interrupted delete or erasure)', async () => {
    t = tempDir();
    const setup = await freshApp(t.dir);
    const a = await setup.app.addOwner({ name: 'Alice', ...TEST });
    const b = await setup.app.addOwner({ name: 'Bob', ...TEST });
    const keep = makeCapture({ seed: 1 });
    await setup.app.storeCapture(a, keep, { uplink: false });
    await setup.app.storeCapture(b, makeCapture({ seed: 2 }), { uplink: false });
    await setup.close();
    // What a crash leaves: a blob whose row never committed, and the file of an owner whose erasure committed
    // before the file was unlinked (Bob's file, copied aside and put back after his erasure).
    const bobFile = path.join(t.dir, 'audio', `${b}.db`);
    copyFileSync(bobFile, `${bobFile}.copy`);
    const eraser = await freshApp(t.dir, { init: false });
    await eraser.app.eraseOwner(b, TEST);
    await eraser.close();
    renameSync(`${bobFile}.copy`, bobFile);
    const vault = vaultOf(t.dir);
    await vault.put(a, 'orphan-recording', Buffer.alloc(64, 1));
    await vault.close();
    expect(existsSync(bobFile)).toBe(true);

    const s = await freshApp(t.dir, { init: false });
    const check = vaultOf(t.dir);
    expect(await check.ids(a)).toEqual([keep.id]);
    expect(await check.owners()).toEqual([a]);
    await check.close();
    expect(samePcm((await openRecording(s.store, keep.id)).pcm, keep.pcm)).toBe(true);
    // Removed on evidence (the log shows neither a stored orphan nor a surviving Bob): nothing was quarantined.
    expect(await s.app.listQuarantine()).toEqual([]);
    await s.close();
  });

  it('an erasure by another process: the running store lets go of the removed file, so its space is freed', async () => {
    t = tempDir();
    const daemon = await freshApp(t.dir);
    const a = await daemon.app.addOwner({ name: 'Alice', ...TEST });
    const b = await daemon.app.addOwner({ name: 'Bob', ...TEST });
    const ca = makeCapture({ seed: 1 });
    await daemon.app.storeCapture(a, ca, { uplink: false });
    await daemon.app.storeCapture(b, makeCapture({ seed: 2 }), { uplink: false });
    expect((await daemon.app.uplinkPorts().recordings.open(ca.id)).id).toBe(ca.id); // the daemon now holds Alice's file open

    const cli = await freshApp(t.dir, { init: false });
    await cli.app.eraseOwner(a, TEST);
    await cli.close();

    const audio = path.join(t.dir, 'audio');
    expect(existsSync(path.join(audio, `${a}.db`))).toBe(false);
    expect(deletedFilesHeldOpen(audio).length).toBeGreaterThan(0);
    await daemon.store.releaseErasedFiles();
    expect(deletedFilesHeldOpen(audio)).toEqual([]);
    // And the daemon sees the erasure (the key went with it).
    await expect(daemon.app.uplinkPorts().recordings.open(ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    await expect(daemon.app.getOwner(a)).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    await daemon.close();
  });

  it('a save that fails after its audio was written leaves no audio behind, and a duplicate id is refused before', async () => {
    t = tempDir();
    const { app, store, close } = await freshApp(t.dir);
    const a = await app.addOwner({ name: 'Alice', ...TEST });
    const c = makeCapture({ seed: 3 });
    await app.storeCapture(a, c, { uplink: false });
    // The same id again is refused before any audio is written: the first recording's audio stays.
    await expect(app.storeCapture(a, { ...makeCapture({ seed: 4 }), id: c.id }, { uplink: false })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(samePcm((await openRecording(store, c.id)).pcm, c.pcm)).toBe(true);
    await close();

    // Inject a failure of the row insert, which comes after the audio write.
    const raw = await SqliteDb.open(path.join(t.dir, 'earshot.db'));
    await raw.exec("CREATE TRIGGER injected_fault BEFORE INSERT ON recordings BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
    await raw.close();
    const s = await freshApp(t.dir, { init: false });
    const head = await s.app.auditHead();
    const failing = makeCapture({ seed: 5 });
    await expect(s.app.storeCapture(a, failing, { uplink: false })).rejects.toMatchObject({ message: expect.stringContaining('injected fault') });
    // Nothing of it committed: no audit entry either.
    expect(await s.app.auditHead()).toEqual(head);
    await s.close();
    const check = vaultOf(t.dir);
    expect(await check.ids(a)).toEqual([c.id]);
    await check.close();
  });
});
