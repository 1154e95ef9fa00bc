import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { AudioVault, MIGRATIONS, RecordingStore, SCHEMA_VERSION, initDataDir } from '../../src/store/index.js';
import { migrate, schemaVersion } from '../../src/store/migrate.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { DEVICE, TEST, freshApp, makeCapture, openRecording, samePcm, tempDir } from './helpers.js';

describe('schema migrations', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.cleanup());

  it('has at least two versions, numbered 1..N', () => {
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(2);
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  // For every earlier version: build a store at the latest version, copy its data into a database made with
  // that version's schema SQL only (the fixture), and open it with the current code.
  for (const old of MIGRATIONS.slice(0, -1)) {
    it(`upgrades a database made by schema version ${old.version} and keeps its data readable`, async () => {
      t = tempDir();
      const dir = t.dir;
      const setup = await freshApp(dir);
      const owner = await setup.app.addOwner({ name: 'Alice', ...TEST });
      const cap = makeCapture({ seed: 3 });
      await setup.app.storeCapture(owner, cap, { uplink: false });
      await setup.app.grantConsent(owner, 'cloud-processing', { source: 'owner-cli', textVersion: 'v1' });
      await setup.close();

      // Rebuild the same rows in a database at `old.version`.
      const src = await SqliteDb.open(path.join(dir, 'earshot.db'));
      const oldFile = path.join(dir, 'old.db');
      const dst = await SqliteDb.open(oldFile, { create: true });
      // The schema-3 step moves audio out; this fixture has none to move, so an empty vault serves.
      const emptyVault = new AudioVault(path.join(dir, 'fixture-audio'), { synchronous: 'normal', busyTimeoutMs: 1000, logger: silentLogger });
      await migrate(dst, old.version, undefined, { vault: emptyVault });
      await emptyVault.close();
      expect(await schemaVersion(dst)).toBe(old.version);
      // Before schema 3 the sealed audio was a column of `recordings`; since then it is in the owner's file.
      const audioInDb = (await dst.all<{ name: string }>('PRAGMA table_info(recordings)')).some((c) => c.name === 'sealed_audio');
      const audioFile = await SqliteDb.open(path.join(dir, 'audio', `${owner}.db`));
      for (const table of ['meta', 'settings', 'owners', 'recordings', 'consent', 'outbox', 'audit']) {
        const cols = (await dst.all<{ name: string }>(`PRAGMA table_info(${table})`)).map((c) => c.name);
        const srcCols = cols.filter((c) => c !== 'sealed_audio');
        const rows = await src.all<Record<string, never>>(`SELECT ${srcCols.join(', ')} FROM ${table}`);
        for (const r of rows) {
          const values = [];
          for (const c of cols) {
            if (c !== 'sealed_audio') values.push(r[c]);
            else values.push((await audioFile.get<{ sealed: Buffer }>('SELECT sealed FROM audio WHERE recording_id = ?', [r['id']]))!.sealed);
          }
          await dst.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, values);
        }
      }
      await audioFile.close();
      await src.close();
      await dst.close();
      const { existsSync, renameSync, rmSync } = await import('node:fs');
      if (audioInDb) rmSync(path.join(dir, 'audio'), { recursive: true });
      rmSync(path.join(dir, 'earshot.db'));
      rmSync(path.join(dir, 'earshot.db-wal'), { force: true });
      rmSync(path.join(dir, 'earshot.db-shm'), { force: true });
      renameSync(oldFile, path.join(dir, 'earshot.db'));

      const upgraded = await freshApp(dir, { init: false });
      const db = await SqliteDb.open(path.join(dir, 'earshot.db'));
      expect(await schemaVersion(db)).toBe(SCHEMA_VERSION);
      // The audio left the metadata database for the owner's own file.
      expect((await db.all<{ name: string }>('PRAGMA table_info(recordings)')).map((c) => c.name)).not.toContain('sealed_audio');
      await db.close();
      expect(existsSync(path.join(dir, 'audio', `${owner}.db`))).toBe(true);
      expect(samePcm((await openRecording(upgraded.store, cap.id)).pcm, cap.pcm)).toBe(true);
      expect((await upgraded.app.consentOf(owner)).history.length).toBe(1);
      expect((await upgraded.app.verifyAudit()).ok).toBe(true);
      // New-version features work on the upgraded database.
      await upgraded.app.confirmUpload(cap.id, 99);
      expect((await upgraded.app.listRecordings(owner))[0]?.uploadedAt).toBe(99);
      await upgraded.close();
    });
  }

  it('refuses a database from a newer Earshot', async () => {
    t = tempDir();
    await initDataDir(t.dir, { deviceId: DEVICE });
    const db = await SqliteDb.open(path.join(t.dir, 'earshot.db'));
    await db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    await db.close();
    await expect(RecordingStore.open({ dataDir: t.dir, deviceId: DEVICE })).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringMatching(/newer/),
    });
  });
});
