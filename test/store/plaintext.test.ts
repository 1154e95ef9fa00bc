import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataKeyWrapAad } from '../../src/crypto/aad.js';
import { FileKeyStore, RecordingStore } from '../../src/store/index.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { DEVICE, TEST, freshApp, makeCapture, openRecording, storeFiles, tempDir } from './helpers.js';

const NAME = 'Zebulon Quux';
/** A PCM pattern that random audio will not contain: 64 samples of a fixed ramp. */
const MARKER = Int16Array.from({ length: 64 }, (_, i) => 12345 + i * 97);
const markerBytes = Buffer.from(MARKER.buffer);

function scan(files: string[]): { name: boolean; marker: boolean; wakeword: boolean } {
  let name = false;
  let marker = false;
  let wakeword = false;
  for (const f of files) {
    const b = readFileSync(f);
    name ||= b.includes(Buffer.from(NAME, 'utf8')) || b.includes(Buffer.from(NAME, 'utf16le'));
    marker ||= b.includes(markerBytes);
    wakeword ||= b.includes(Buffer.from('hey_jarvis', 'utf8'));
  }
  return { name, marker, wakeword };
}

describe('nothing personal in the database files', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.cleanup());

  it('raw .db, -wal and -shm hold neither the owner name, the wake word nor the PCM marker (while open and after close)', async () => {
    t = tempDir();
    const { app, store, close } = await freshApp(t.dir);
    const owner = await app.addOwner({ name: NAME, ...TEST });
    for (let i = 0; i < 20; i++) await app.storeCapture(owner, makeCapture({ seed: i, marker: MARKER, samples: 8000 }), { uplink: false });
    await app.grantConsent(owner, 'cloud-processing', { source: 'owner-cli', textVersion: 'v1' });
    // The owner's own view still names them (what the scan looks for is really stored, sealed).
    expect((await app.getOwner(owner)).name).toBe(NAME);
    // While open the WAL holds the recent pages: scan it too.
    const files = storeFiles(t.dir);
    expect(files.some((f) => f.endsWith('earshot.db-wal'))).toBe(true);
    expect(files.some((f) => f.endsWith(`${owner}.db-wal`))).toBe(true);
    expect(scan(files)).toEqual({ name: false, marker: false, wakeword: false });
    // Sanity check of the scanner itself: the plaintext is really what we think it is.
    const rec = await openRecording(store, (await store.uow.read((tx) => tx.recordings.ids(owner)))[0]!);
    expect(Buffer.from(rec.pcm.buffer).includes(markerBytes)).toBe(true);
    await close();
    expect(scan(storeFiles(t.dir))).toEqual({ name: false, marker: false, wakeword: false });
  });

  it('a copy of the database taken before erasure opens nothing of the erased owner afterwards', async () => {
    t = tempDir();
    const { app, store, close } = await freshApp(t.dir);
    const a = await app.addOwner({ name: NAME, ...TEST });
    const b = await app.addOwner({ name: 'Other Person', ...TEST });
    const ca = makeCapture({ seed: 1, marker: MARKER });
    await app.storeCapture(a, ca, { uplink: false });
    await app.storeCapture(b, makeCapture({ seed: 2 }), { uplink: false });
    // A "backup": checkpoint so the copy is complete, then copy the files.
    const backup = path.join(t.dir, 'backup');
    await import('node:fs').then((fs) => fs.mkdirSync(backup));
    await store.compact();
    mkdirSync(path.join(backup, 'audio'));
    for (const f of storeFiles(t.dir)) copyFileSync(f, path.join(backup, path.relative(t.dir, f)));
    expect(existsSync(path.join(backup, 'audio', `${a}.db`))).toBe(true);
    await app.eraseOwner(a, TEST);
    // The erased owner's audio file is gone from the device; the other owner's stays.
    expect(existsSync(path.join(t.dir, 'audio', `${a}.db`))).toBe(false);
    expect(existsSync(path.join(t.dir, 'audio', `${a}.db-wal`))).toBe(false);
    expect(existsSync(path.join(t.dir, 'audio', `${b}.db`))).toBe(true);
    await expect(openRecording(store, ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    await close();

    // The live device key cannot open the copy at all: the erasure replaced the device key.
    copyFileSync(path.join(t.dir, 'device.key'), path.join(backup, 'device.key'));
    await expect(RecordingStore.open({ dataDir: backup, deviceId: DEVICE })).rejects.toMatchObject({ code: 'WRONG_KEY' });
    // Even bypassing the store: the copy's wrapped key for the erased owner does not unwrap with the live key.
    const { current } = await FileKeyStore.inDataDir(t.dir).load();
    const db = await SqliteDb.open(path.join(backup, 'earshot.db'));
    const row = await db.get<{ wrapped_key: Buffer; key_version: number }>('SELECT wrapped_key, key_version FROM owners WHERE id = ?', [a]);
    await db.close();
    expect(row).toBeDefined();
    expect(() => current.unwrap(row!.wrapped_key, dataKeyWrapAad(a, row!.key_version))).toThrow(/authentication/);
    // And nothing in the live files still names the erased owner's data.
    expect(scan(storeFiles(t.dir))).toEqual({ name: false, marker: false, wakeword: false });
    expect(existsSync(path.join(t.dir, 'device.key.next'))).toBe(false);
  });
});
