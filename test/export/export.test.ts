import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExportOptions } from '../../src/app/index.js';
import { decryptBundleFile, type ExportManifest } from '../../src/privacy/index.js';
import { encodeWav } from '../../src/audio/wav.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { freshApp, makeCapture, tempDir, TEST, type TestApp } from '../store/helpers.js';
import { readTar } from './tar-read.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('access request export', () => {
  let t: ReturnType<typeof tempDir>;
  let opened: TestApp;
  let alice: string;
  let bob: string;
  const aliceCaps = [makeCapture({ seed: 21, samples: 3200 }), makeCapture({ seed: 22, samples: 1000, startedAt: 1_700_000_001_000 })];
  const bobCap = makeCapture({ seed: 23 });

  beforeEach(async () => {
    t = tempDir();
    opened = await freshApp(t.dir);
    const { app } = opened;
    alice = await app.addOwner({ name: 'Alice Example', ...TEST });
    bob = await app.addOwner({ name: 'Bob Example', ...TEST });
    for (const c of aliceCaps) await app.storeCapture(alice, c, { uplink: false });
    await app.storeCapture(bob, bobCap, { uplink: false });
    await opened.store.uow.run(async (tx) => {
      await tx.consent.append({ ownerId: alice, purpose: 'cloud-processing', action: 'grant', at: 1000, source: 'owner-cli', textVersion: 'v1' });
      await tx.consent.append({ ownerId: alice, purpose: 'cloud-processing', action: 'revoke', at: 2000, source: 'owner-cli', textVersion: 'v1' });
    });
  });
  afterEach(async () => {
    await opened.close();
    t.cleanup();
  });

  const exportOwner = (o: TestApp, opts: ExportOptions) => o.app.exportOwner({ ...opts, ...TEST });

  function checkManifest(m: ExportManifest, files: (rel: string) => Buffer) {
    expect(m.format).toBe('earshot-export');
    expect(m.owner).toMatchObject({ id: alice, name: 'Alice Example' });
    expect(m.recordings.map((r) => r.id).sort()).toEqual(aliceCaps.map((c) => c.id).sort());
    for (const c of aliceCaps) {
      const r = m.recordings.find((x) => x.id === c.id)!;
      const wav = files(r.file);
      expect(wav.equals(encodeWav(c.pcm))).toBe(true);
      expect(r.sha256).toBe(sha(wav));
      expect(r).toMatchObject({ wakeword: 'hey_jarvis', sampleRate: 16000, channels: 1, bitsPerSample: 16, samples: c.pcm.length });
    }
    expect(m.consent.map((c) => c.action)).toEqual(['grant', 'revoke']);
    expect(m.audit.every((e) => e.type !== 'owner.added' || (e.personal as { name?: string }).name === 'Alice Example')).toBe(true);
    expect(m.audit.filter((e) => e.type === 'recording.created').length).toBe(2);
    expect(JSON.stringify(m)).not.toContain('Bob Example');
    expect(JSON.stringify(m)).not.toContain(bob);
  }

  it('directory bundle: only the requester, byte-identical WAVs, consent and audit, audited with its hash', async () => {
    const out = path.join(t.dir, 'alice-export');
    const progress: number[] = [];
    const r = await exportOwner(opened, { ownerId: alice, out, onProgress: (p) => progress.push(p.done) });
    expect(r).toMatchObject({ format: 'directory', recordings: 2 });
    expect(progress).toEqual([0, 1, 2]);
    const manifestBytes = readFileSync(path.join(out, 'manifest.json'));
    checkManifest(JSON.parse(manifestBytes.toString()) as ExportManifest, (rel) => readFileSync(path.join(out, rel)));
    expect(readdirSync(path.join(out, 'recordings')).length).toBe(2);
    expect(r.sha256).toBe(sha(manifestBytes));
    const logged = (await opened.app.auditLog({ ownerId: alice })).filter((e) => e.type === 'export.created');
    expect(logged.map((e) => e.detail?.['sha256'])).toEqual([r.sha256]);
  });

  it('tar bundle is a valid ustar archive (system tar lists it) and hashes to the audited value', async () => {
    const out = path.join(t.dir, 'alice.tar');
    const r = await exportOwner(opened, { ownerId: alice, out });
    const buf = readFileSync(out);
    expect(sha(buf)).toBe(r.sha256);
    const files = readTar(buf);
    const root = `earshot-export-${alice}`;
    const m = JSON.parse(files.get(`${root}/manifest.json`)!.toString()) as ExportManifest;
    checkManifest(m, (rel) => files.get(`${root}/${rel}`)!);
    const listing = execFileSync('tar', ['-tf', out]).toString();
    expect(listing).toContain(`${root}/manifest.json`);
  });

  it('encrypted bundle opens only with the passphrase; a modified file is refused without output', async () => {
    const out = path.join(t.dir, 'alice.tar.enc');
    const r = await exportOwner(opened, { ownerId: alice, out, passphrase: 'correct horse battery' });
    expect(r.format).toBe('encrypted-tar');
    const enc = readFileSync(out);
    expect(enc.includes(Buffer.from('Alice Example'))).toBe(false);
    const plain = path.join(t.dir, 'alice.tar');
    await expect(decryptBundleFile(out, plain, 'wrong passphrase!')).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(existsSync(plain)).toBe(false);
    await decryptBundleFile(out, plain, 'correct horse battery');
    const files = readTar(readFileSync(plain));
    expect(files.get(`earshot-export-${alice}/manifest.json`)).toBeDefined();
    const bad = Buffer.from(enc);
    bad[bad.length - 100] = bad[bad.length - 100]! ^ 1;
    const badFile = path.join(t.dir, 'bad.enc');
    writeFileSync(badFile, bad);
    await expect(decryptBundleFile(badFile, path.join(t.dir, 'bad.tar'), 'correct horse battery')).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(existsSync(path.join(t.dir, 'bad.tar'))).toBe(false);
  });

  it('a recording that fails to open aborts the export: nothing written, incident recorded, non-zero', async () => {
    await opened.close();
    const db = await SqliteDb.open(path.join(t.dir, 'earshot.db'));
    const row = await db.get<{ sealed_meta: Buffer }>('SELECT sealed_meta FROM recordings WHERE id = ?', [aliceCaps[1]!.id]);
    const blob = Buffer.from(row!.sealed_meta);
    blob[40] = blob[40]! ^ 4;
    await db.run('UPDATE recordings SET sealed_meta = ? WHERE id = ?', [blob, aliceCaps[1]!.id]);
    await db.close();
    opened = await freshApp(t.dir, { init: false });
    for (const out of [path.join(t.dir, 'a-dir'), path.join(t.dir, 'a.tar')]) {
      await expect(exportOwner(opened, { ownerId: alice, out })).rejects.toMatchObject({ code: 'EXPORT_ABORTED' });
      expect(existsSync(out)).toBe(false);
    }
    expect(readdirSync(t.dir).filter((f) => f.includes('partial'))).toEqual([]);
    const entries = await opened.app.auditLog({ ownerId: alice });
    expect(entries.filter((e) => e.type === 'incident' && e.detail?.['kind'] === 'export-aborted').length).toBe(2);
    expect(entries.some((e) => e.type === 'export.created')).toBe(false);
  });

  it('refuses to overwrite an existing path', async () => {
    const out = path.join(t.dir, 'exists.tar');
    writeFileSync(out, 'x');
    await expect(exportOwner(opened, { ownerId: alice, out })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(readFileSync(out, 'utf8')).toBe('x');
  });
});
