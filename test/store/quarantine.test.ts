/**
 * The start-up repair never destroys data on a hunch: what a housemate with write access makes inconsistent (a row
 * re-pointed to another owner, two owners' files swapped, the file of an owner whose erasure the log does not show)
 * is moved to quarantine, still sealed, reported as an incident and by `earshot status`, and `earshot repair` puts
 * it back. Before, the next command of any kind deleted that audio for good.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { AudioVault } from '../../src/store/index.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { runEarshot } from '../helpers/cli.js';
import { DAY_MS } from '../../src/privacy/index.js';
import { ensureStoredDeviceId } from '../../src/config/index.js';
import { DEVICE, freshApp, makeCapture, openRecording, samePcm, tempDir, TEST, type TestApp } from './helpers.js';

async function raw(dir: string, sql: string, params: (string | number)[] = []): Promise<void> {
  const db = await SqliteDb.open(path.join(dir, 'earshot.db'));
  try {
    await db.run(sql, params);
  } finally {
    await db.close();
  }
}

describe('start-up repair and quarantine', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp | undefined;
  let alice: string;
  let bob: string;
  const a1 = makeCapture({ seed: 1, startedAt: Date.now() });
  const a2 = makeCapture({ seed: 2, startedAt: Date.now() + 1 });
  const b1 = makeCapture({ seed: 3, startedAt: Date.now() + 2 });
  beforeEach(async () => {
    t = tempDir();
    const s = await freshApp(t.dir);
    // The CLI finds the device id where `earshot init` writes it.
    await ensureStoredDeviceId(t.dir, DEVICE);
    alice = await s.app.addOwner({ name: 'Alice', ...TEST });
    bob = await s.app.addOwner({ name: 'Bob', ...TEST });
    for (const [o, c] of [[alice, a1], [alice, a2], [bob, b1]] as const) await s.app.storeCapture(o, c, { uplink: false });
    await s.close();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    t.cleanup();
  });
  const open = async () => (h = await freshApp(t.dir, { init: false }));
  const env = () => ({ EARSHOT_DATA_DIR: t.dir });

  it('a re-pointed row: the audio is quarantined (not deleted), status says so, and repair restores it', async () => {
    await raw(t.dir, 'UPDATE recordings SET owner_id = ? WHERE id = ?', [bob, a1.id]);
    // Any command opens the store and runs the repair.
    const status = await runEarshot(['status', '--json'], env());
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ quarantined: 1 });
    const listed = await runEarshot(['repair', '--json'], env());
    const items = JSON.parse(listed.out) as { id: string; kind: string; recordingId: string; reason: string }[];
    expect(items).toEqual([expect.objectContaining({ kind: 'blob', recordingId: a1.id, reason: "its recording's row is filed under another owner" })]);
    await open();
    expect((await h!.app.auditLog()).filter((e) => e.type === 'incident' && e.detail?.['kind'] === 'quarantined')).toHaveLength(1);
    await h!.close();
    h = undefined;
    // The row is put right, and the quarantined audio goes back.
    await raw(t.dir, 'UPDATE recordings SET owner_id = ? WHERE id = ?', [alice, a1.id]);
    const restored = await runEarshot(['repair', '--restore', items[0]!.id, '--json'], env());
    expect(restored.code, restored.err).toBe(0);
    expect(JSON.parse(restored.out)).toEqual({ restored: items[0]!.id, restoredTo: alice });
    await open();
    expect(samePcm((await openRecording(h!.store, a1.id, alice)).pcm, a1.pcm)).toBe(true);
    expect(await h!.app.listQuarantine()).toEqual([]);
    expect((await h!.app.auditLog()).map((e) => e.type)).toContain('quarantine.restored');
  });

  it("two owners' files swapped: every blob is quarantined, none deleted, and restoring puts each back where its row is", async () => {
    const dir = path.join(t.dir, 'audio');
    renameSync(path.join(dir, `${alice}.db`), path.join(dir, 'tmp.db'));
    renameSync(path.join(dir, `${bob}.db`), path.join(dir, `${alice}.db`));
    renameSync(path.join(dir, 'tmp.db'), path.join(dir, `${bob}.db`));
    for (const f of ['-wal', '-shm']) for (const o of [alice, bob]) rmSync(path.join(dir, `${o}.db${f}`), { force: true });
    await open();
    const items = await h!.app.listQuarantine();
    expect(items.map((q) => q.recordingId).sort()).toEqual([a1.id, a2.id, b1.id].sort());
    await expect(openRecording(h!.store, a1.id, alice)).rejects.toMatchObject({ code: 'INTEGRITY' });
    for (const q of items) await h!.app.restoreQuarantined(q.id, TEST);
    expect(samePcm((await openRecording(h!.store, a1.id, alice)).pcm, a1.pcm)).toBe(true);
    expect(samePcm((await openRecording(h!.store, a2.id, alice)).pcm, a2.pcm)).toBe(true);
    expect(samePcm((await openRecording(h!.store, b1.id, bob)).pcm, b1.pcm)).toBe(true);
  });

  it("the file of an owner whose erasure the log does not show is quarantined whole; discarding needs --yes and is audited", async () => {
    const vault = new AudioVault(path.join(t.dir, 'audio'), { synchronous: 'normal', busyTimeoutMs: 1000, logger: silentLogger });
    await vault.put('own-00000000deadbeef', 'x', Buffer.alloc(64, 2));
    await vault.close();
    await open();
    const [item] = await h!.app.listQuarantine();
    expect(item).toMatchObject({ kind: 'owner-file', foundInOwnerFile: 'own-00000000deadbeef', recordingId: null });
    expect(existsSync(path.join(t.dir, 'audio', 'own-00000000deadbeef.db'))).toBe(false);
    await h!.close();
    h = undefined;
    expect((await runEarshot(['repair', '--discard', item!.id], env())).code).toBe(2);
    expect((await runEarshot(['repair', '--discard', item!.id, '--yes'], env())).code).toBe(0);
    await open();
    expect(await h!.app.listQuarantine()).toEqual([]);
    expect((await h!.app.auditLog()).map((e) => e.type)).toContain('quarantine.discarded');
  });

  it('what the log shows was deleted is removed without quarantine: a retention sweep, an owner deletion', async () => {
    await open();
    const old = makeCapture({ seed: 7, startedAt: Date.now() - 40 * DAY_MS });
    await h!.app.storeCapture(alice, old, { uplink: false });
    const aliceFile = path.join(t.dir, 'audio', `${alice}.db`);
    await h!.close();
    h = undefined;
    // The sweep's row deletion commits, but the process dies before the audio goes: simulated by putting the
    // file back as it was before the sweep.
    copyFileSync(aliceFile, `${aliceFile}.before`);
    await open();
    expect((await h!.app.sweepRetention(TEST)).find((r) => r.ownerId === alice)?.deleted).toBe(1);
    await h!.app.deleteRecordings(alice, [a2.id], TEST);
    await h!.close();
    h = undefined;
    rmSync(`${aliceFile}-wal`, { force: true });
    rmSync(`${aliceFile}-shm`, { force: true });
    renameSync(`${aliceFile}.before`, aliceFile);
    await open();
    expect(await h!.app.listQuarantine()).toEqual([]);
    const check = new AudioVault(path.join(t.dir, 'audio'), { synchronous: 'normal', busyTimeoutMs: 1000, logger: silentLogger });
    expect(await check.ids(alice)).toEqual([a1.id]);
    await check.close();
  });
});
