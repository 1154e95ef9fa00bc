import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExportManifest } from '../../src/privacy/index.js';
import { freshApp, makeCapture, openRecording, tempDir, TEST } from '../store/helpers.js';
import { readTar } from './tar-read.js';

describe('ownership transfer', () => {
  let t: ReturnType<typeof tempDir> | undefined;
  afterEach(() => t?.cleanup());

  it('exports each previous owner when asked, shreds them all, then sets the new owner', async () => {
    t = tempDir();
    const { app, store, close } = await freshApp(path.join(t.dir, 'data'));
    const a = await app.addOwner({ name: 'Alice', ...TEST });
    const b = await app.addOwner({ name: 'Bob', ...TEST });
    const ca = makeCapture({ seed: 1 });
    const cb = makeCapture({ seed: 2 });
    await app.storeCapture(a, ca, { uplink: false });
    await app.storeCapture(b, cb, { uplink: false });
    const exportDir = path.join(t.dir, 'handover');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(exportDir);
    const r = await app.transferDevice({ newOwnerName: 'Carol', exportDir, ...TEST });
    expect(r.erased.map((e) => e.ownerId).sort()).toEqual([a, b].sort());
    expect(r.exports.length).toBe(2);
    for (const [owner, cap] of [[a, ca], [b, cb]] as const) {
      const files = readTar(readFileSync(path.join(exportDir, `${owner}.tar`)));
      const m = JSON.parse(files.get(`earshot-export-${owner}/manifest.json`)!.toString()) as ExportManifest;
      expect(m.recordings.map((x) => x.id)).toEqual([cap.id]);
    }
    expect((await app.listOwners()).map((o) => [o.name, o.active])).toEqual([['Carol', true]]);
    await expect(openRecording(store, ca.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    // The previous owners' audio files are gone from the device.
    expect(readdirSync(path.join(t.dir, 'data', 'audio')).filter((f) => f.startsWith(a) || f.startsWith(b))).toEqual([]);
    expect((await app.verifyAudit()).ok).toBe(true);
    expect((await app.auditLog()).some((e) => e.type === 'owner.transferred')).toBe(true);
    await close();
  });

  it('if an export fails nothing is erased', async () => {
    t = tempDir();
    const { app, close } = await freshApp(path.join(t.dir, 'data'));
    const a = await app.addOwner({ name: 'Alice', ...TEST });
    await app.storeCapture(a, makeCapture(), { uplink: false });
    await expect(app.transferDevice({ newOwnerName: 'Carol', exportDir: path.join(t.dir, 'missing-dir'), ...TEST })).rejects.toMatchObject({
      code: 'EXPORT_ABORTED',
    });
    expect((await app.listOwners()).map((o) => o.id)).toEqual([a]);
    expect(existsSync(path.join(t.dir, 'missing-dir'))).toBe(false);
    await close();
  });
});
