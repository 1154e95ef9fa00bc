import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { transferDevice } from '../../src/privacy/erasure/transfer.js';
import type { ExportManifest } from '../../src/privacy/export/manifest.js';
import { freshStore, makeCapture, tempDir } from '../store/helpers.js';
import { readTar } from './tar-read.js';

describe('ownership transfer', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.cleanup());

  it('exports each previous owner when asked, shreds them all, then sets the new owner', async () => {
    t = tempDir();
    const store = await freshStore(path.join(t.dir, 'data'));
    const a = await store.owners.add('Alice');
    const b = await store.owners.add('Bob');
    const ca = makeCapture({ seed: 1 });
    const cb = makeCapture({ seed: 2 });
    await store.saveCapture(a, ca);
    await store.saveCapture(b, cb);
    const exportDir = path.join(t.dir, 'handover');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(exportDir);
    const r = await transferDevice(store, { newOwnerName: 'Carol', exportDir });
    expect(r.erased.map((e) => e.ownerId).sort()).toEqual([a, b].sort());
    expect(r.exports.length).toBe(2);
    for (const [owner, cap] of [[a, ca], [b, cb]] as const) {
      const files = readTar(readFileSync(path.join(exportDir, `${owner}.tar`)));
      const m = JSON.parse(files.get(`earshot-export-${owner}/manifest.json`)!.toString()) as ExportManifest;
      expect(m.recordings.map((x) => x.id)).toEqual([cap.id]);
    }
    expect((await store.owners.list()).map((o) => [o.name, o.active])).toEqual([['Carol', true]]);
    await expect(store.recordings.open(ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    // The previous owners' audio files are gone from the device.
    expect(readdirSync(path.join(t.dir, 'data', 'audio')).filter((f) => f.startsWith(a) || f.startsWith(b))).toEqual([]);
    expect((await store.audit.verify()).ok).toBe(true);
    expect((await store.audit.list()).some((e) => e.type === 'owner.transferred')).toBe(true);
    await store.close();
  });

  it('if an export fails nothing is erased', async () => {
    t = tempDir();
    const store = await freshStore(path.join(t.dir, 'data'));
    const a = await store.owners.add('Alice');
    await store.saveCapture(a, makeCapture());
    await expect(transferDevice(store, { newOwnerName: 'Carol', exportDir: path.join(t.dir, 'missing-dir') })).rejects.toMatchObject({
      code: 'EXPORT_ABORTED',
    });
    expect((await store.owners.list()).map((o) => o.id)).toEqual([a]);
    expect(existsSync(path.join(t.dir, 'missing-dir'))).toBe(false);
    await store.close();
  });
});
