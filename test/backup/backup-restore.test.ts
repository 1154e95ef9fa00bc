/**
 * Issue 9 §3: erasure survives backups. A backup never contains the device key (in any form); restoring it
 * re-applies every erasure made after it was taken (the key file lists erased owner ids), so an erased owner
 * does not come back — name, recordings or audio.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/backup/index.js';
import { decryptBundleFile } from '../../src/privacy/export/bundle-cipher.js';
import { readTar } from '../../src/backup/tar-read.js';
import { FileKeyStore } from '../../src/store/index.js';
import { defaultConfig, type DeviceConfig } from '../../src/config/index.js';
import { runEarshot } from '../helpers/cli.js';
import { DEVICE, TEST, freshApp, makeCapture, openRecording, samePcm, tempDir } from '../store/helpers.js';
import { GENERIC_NEGATIVES, centreOf, enrolmentOf, VOICE } from '../support/verifier-features.js';

const PASS = 'correct horse battery staple';
const clock = { now: () => Date.UTC(2026, 11, 1) };

/** Every byte under a directory, concatenated (to look for names and key material). */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else parts.push(readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

describe('backup and restore', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => {
    while (dirs.length) dirs.pop()!.cleanup();
  });
  function dir(prefix = 'earshot-backup-') {
    const t = tempDir(prefix);
    dirs.push(t);
    return t.dir;
  }
  const keyStoreOf = (d: string) => FileKeyStore.inDataDir(d);
  const open = (d: string) => freshApp(d, { init: false });
  const cfg = (d: string): DeviceConfig => ({ ...defaultConfig(), dataDir: d });

  async function twoOwners(d: string) {
    const s = await freshApp(d);
    const alice = await s.app.addOwner({ name: 'Alice Liddell', ...TEST });
    const bob = await s.app.addOwner({ name: 'Bobby Tables', ...TEST });
    const ca = makeCapture({ seed: 21 });
    const cb = makeCapture({ seed: 22, marker: new Int16Array([4242, -4242, 4242, -4242, 1234, 5678]) });
    await s.app.storeCapture(alice, ca, { uplink: false });
    await s.app.storeCapture(bob, cb, { uplink: false });
    await s.close();
    return { alice, bob, ca, cb };
  }

  it('the backup never contains the device key: not in the file, not inside once decrypted; its database names a backup key', async () => {
    const d = dir();
    const out = path.join(dir('earshot-backup-out-'), 'b.bak');
    await twoOwners(d);
    const deviceKey = JSON.parse(readFileSync(path.join(d, 'device.key'), 'utf8')) as { id: string; key: string };
    const r = await createBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { out, passphrase: PASS });
    expect(r.owners).toBe(2);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const raw = readFileSync(out);
    const keyBytes = Buffer.from(deviceKey.key, 'base64');
    expect(raw.includes(keyBytes)).toBe(false);
    expect(raw.includes(Buffer.from(deviceKey.key))).toBe(false);
    expect(raw.includes(Buffer.from('Alice'))).toBe(false);

    const tar = path.join(dir('earshot-backup-open-'), 'b.tar');
    await decryptBundleFile(out, tar, PASS);
    const entries = readTar(readFileSync(tar), 'backup');
    const inside = Buffer.concat(entries.map((e) => e.data));
    expect(inside.includes(keyBytes)).toBe(false);
    expect(inside.includes(Buffer.from(deviceKey.key))).toBe(false);
    const paths = entries.map((e) => e.path).sort();
    expect(paths.filter((p) => !p.startsWith('audio/'))).toEqual(['earshot.db', 'manifest.json']);
    expect(paths.filter((p) => p.startsWith('audio/'))).toHaveLength(2);
    expect(paths.some((p) => p.includes('device.key'))).toBe(false);
    // The snapshot is wrapped under a fresh backup key, never under the device key (kek id differs).
    const manifest = JSON.parse(entries.find((e) => e.path === 'manifest.json')!.data.toString('utf8')) as { backupKey: { id: string } };
    expect(manifest.backupKey.id).toMatch(/^backup-/);
    expect(manifest.backupKey.id).not.toBe(deviceKey.id);
    // Without the passphrase: nothing.
    await expect(decryptBundleFile(out, tar + '2', 'wrong passphrase')).rejects.toMatchObject({ code: 'INTEGRITY' });
  });

  it("a restore signs every browser of the owner page out: a session revoked after the backup does not come back", async () => {
    const d = dir();
    const out = path.join(dir('earshot-backup-out-'), 'b.bak');
    const { alice } = await twoOwners(d);
    const s = await open(d);
    await s.app.createPairing({ ownerId: alice, codeHash: 'code', expiresAt: Date.now() + 600_000, ...TEST });
    expect(await s.app.redeemPairing('code', { idHash: 'lost-phone', ref: 'ses-000000000001', browser: 'Chrome on Android' }, TEST)).toMatchObject({ status: 'ok' });
    await s.close();
    await createBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { out, passphrase: PASS });
    const s1 = await open(d);
    expect(await s1.app.endSessions({ ref: 'ses-000000000001' }, 'revoked', TEST)).toBe(1);
    await s1.close();

    await restoreBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { in: out, passphrase: PASS });
    const s2 = await open(d);
    try {
      expect(await s2.app.resumeSession('lost-phone')).toBeUndefined();
      expect(await s2.app.listSessions()).toEqual([]);
      const ended = (await s2.app.auditLog({ ownerId: alice })).filter((e) => e.type === 'web.session-ended').map((e) => e.detail?.['reason']);
      expect(ended).toEqual(['restored-from-backup']);
    } finally {
      await s2.close();
    }
  });

  it('the issue\'s scenario: backup, erase Bob, restore — Bob stays erased (no row, no name, no audio); Alice is intact and the log verifies', async () => {
    const d = dir();
    const out = path.join(dir('earshot-backup-out-'), 'b.bak');
    const { alice, bob, ca, cb } = await twoOwners(d);
    await createBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { out, passphrase: PASS });

    const s = await open(d);
    await s.app.eraseOwner(bob, TEST);
    const later = makeCapture({ seed: 23 });
    await s.app.storeCapture(alice, later, { uplink: false });
    await s.close();
    expect(await keyStoreOf(d).state.erasedOwners()).toEqual([bob]);

    const r = await restoreBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { in: out, passphrase: PASS });
    expect(r.erasedAgain).toEqual([bob]);
    expect(r.owners).toBe(1);
    expect(r.replacedHead).not.toBeNull();

    const s2 = await open(d);
    try {
      const owners = await s2.app.listOwners();
      expect(owners.map((o) => o.id)).toEqual([alice]);
      expect(samePcm((await openRecording(s2.store, ca.id)).pcm, ca.pcm)).toBe(true);
      // Newer data than the backup is gone: that is what a restore is.
      await expect(openRecording(s2.store, later.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
      await expect(openRecording(s2.store, cb.id)).rejects.toBeTruthy();
      const v = await s2.store.audit.verify();
      expect(v.problems).toEqual([]);
      expect(v.ok).toBe(true);
      const types = (await s2.store.audit.list()).map((e) => [e.type, e.detail?.['reason'] ?? null]);
      expect(types).toContainEqual(['owner.erased', 'erased-after-backup']);
      expect(types.at(-1)![0]).toBe('backup.restored');
    } finally {
      await s2.close();
    }
    // Nothing of Bob anywhere in the data directory: not his name, not his audio marker.
    const bytes = allBytes(d);
    expect(bytes.includes(Buffer.from('Bobby Tables'))).toBe(false);
    expect(existsSync(path.join(d, 'audio', `${bob}.db`))).toBe(false);
    expect(readdirSync(d).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    expect(existsSync(path.join(d, 'export-staging')) ? readdirSync(path.join(d, 'export-staging')) : []).toEqual([]);
  });

  it("verifiers: a backup keeps them (still sealed, openable after restore); an owner erased after it comes back without theirs", async () => {
    const d = dir();
    const out = path.join(dir('earshot-backup-out-'), 'b.bak');
    const { alice, bob } = await twoOwners(d);
    const negatives = async () => GENERIC_NEGATIVES;
    const s0 = await freshApp(d, { init: false, genericNegatives: negatives });
    await s0.app.enrolVerifier({ ownerId: alice, wakeword: 'hey_jarvis', clips: enrolmentOf(VOICE), ...TEST });
    await s0.app.enrolVerifier({ ownerId: bob, wakeword: 'alexa', clips: enrolmentOf(centreOf(7)), ...TEST });
    const aliceModel = (await s0.app.verifiersFor(alice))['hey_jarvis']!;
    await s0.close();
    await createBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { out, passphrase: PASS });
    const s = await open(d);
    expect((await s.app.eraseOwner(bob, TEST)).verifiers).toBe(1);
    await s.close();
    const r = await restoreBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { in: out, passphrase: PASS });
    expect(r.erasedAgain).toEqual([bob]);
    const s2 = await open(d);
    try {
      expect((await s2.app.verifierStatus()).map((v) => [v.ownerId, v.wakeword])).toEqual([[alice, 'hey_jarvis']]);
      expect(Array.from((await s2.app.verifiersFor(alice))['hey_jarvis']!.weights)).toEqual(Array.from(aliceModel.weights));
      expect(await s2.store.uow.read((tx) => tx.verifiers.list(bob))).toEqual([]);
      const erased = (await s2.store.audit.list()).filter((e) => e.type === 'owner.erased' && e.detail?.['reason'] === 'erased-after-backup');
      expect(erased.map((e) => e.detail?.['verifiers'])).toEqual([1]);
    } finally {
      await s2.close();
    }
  });

  it('a wrong passphrase or a modified backup changes nothing', async () => {
    const d = dir();
    const out = path.join(dir('earshot-backup-out-'), 'b.bak');
    const { ca } = await twoOwners(d);
    await createBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { out, passphrase: PASS });
    const before = readFileSync(path.join(d, 'earshot.db'));
    await expect(restoreBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { in: out, passphrase: 'not the passphrase' })).rejects.toMatchObject({ code: 'INTEGRITY' });
    const tampered = readFileSync(out);
    tampered[tampered.length - 100] ^= 1;
    const bad = out + '.x';
    writeFileSync(bad, tampered);
    await expect(restoreBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { in: bad, passphrase: PASS })).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(readFileSync(path.join(d, 'earshot.db')).equals(before)).toBe(true);
    expect(readdirSync(d).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    expect(existsSync(path.join(d, 'export-staging')) ? readdirSync(path.join(d, 'export-staging')) : []).toEqual([]);
    const s = await open(d);
    expect(samePcm((await openRecording(s.store, ca.id)).pcm, ca.pcm)).toBe(true);
    await s.close();
  });

  it('a backup restores onto a replacement device (its own new key file), and the device key of the old one is not needed', async () => {
    const d = dir();
    const out = path.join(dir('earshot-backup-out-'), 'b.bak');
    const { alice, ca } = await twoOwners(d);
    await createBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { out, passphrase: PASS });
    const fresh = dir('earshot-backup-new-');
    await (await freshApp(fresh)).close();
    const r = await restoreBackup({ config: cfg(fresh), dataDir: fresh, deviceId: DEVICE, keyStore: keyStoreOf(fresh), clock }, { in: out, passphrase: PASS });
    expect(r.owners).toBe(2);
    const s = await open(fresh);
    expect((await s.app.listOwners()).map((o) => o.id)).toContain(alice);
    expect(samePcm((await openRecording(s.store, ca.id)).pcm, ca.pcm)).toBe(true);
    expect((await s.store.audit.verify()).ok).toBe(true);
    await s.close();
  });

  it('a backup taken while recordings are being saved and deleted is consistent: every restored recording opens', async () => {
    const d = dir();
    const out = path.join(dir('earshot-backup-out-'), 'b.bak');
    const s = await freshApp(d);
    const alice = await s.app.addOwner({ name: 'Alice', ...TEST });
    for (let i = 0; i < 20; i++) await s.app.storeCapture(alice, makeCapture({ seed: 300 + i }), { uplink: false });
    let done = false;
    let saved = 0;
    const busy = (async () => {
      let i = 0;
      while (!done) {
        const c = makeCapture({ seed: 1000 + i++ });
        await s.app.storeCapture(alice, c, { uplink: false });
        if (i % 2 === 0) await s.app.deleteRecordings(alice, [c.id], TEST);
        saved++;
      }
    })();
    await createBackup({ config: cfg(d), dataDir: d, deviceId: DEVICE, keyStore: keyStoreOf(d), clock }, { out, passphrase: PASS });
    done = true;
    await busy;
    await s.close();
    expect(saved).toBeGreaterThan(0);
    const fresh = dir('earshot-backup-new-');
    await (await freshApp(fresh)).close();
    await restoreBackup({ config: cfg(fresh), dataDir: fresh, deviceId: DEVICE, keyStore: keyStoreOf(fresh), clock }, { in: out, passphrase: PASS });
    const r = await open(fresh);
    try {
      const recs = await r.app.listRecordings(alice);
      expect(recs.length).toBeGreaterThanOrEqual(20);
      for (const rec of recs) expect((await openRecording(r.store, rec.id)).pcm.length).toBeGreaterThan(0);
      expect((await r.store.audit.verify()).ok).toBe(true);
    } finally {
      await r.close();
    }
  });

  it('earshot backup / restore from the command line (--json, --yes required, BAD_ARGUMENT for a missing option)', async () => {
    const d = dir();
    const work = dir('earshot-backup-cli-');
    const env = { EARSHOT_DATA_DIR: d, EARSHOT_CONFIG: path.join(work, 'config.json') };
    writeFileSync(env.EARSHOT_CONFIG, JSON.stringify({ configVersion: 1, log: { level: 'silent' } }));
    expect((await runEarshot(['init'], env)).code).toBe(0);
    const bob = JSON.parse((await runEarshot(['owners', 'add', '--name', 'Bob', '--json'], env)).out).ownerId as string;
    writeFileSync(path.join(work, 'pass'), PASS + '\n', { mode: 0o600 });
    const out = path.join(work, 'b.bak');
    expect((await runEarshot(['backup', '--out', out], env)).code).toBe(2);
    const b = await runEarshot(['backup', '--out', out, '--passphrase-file', path.join(work, 'pass'), '--json'], env);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({ out, owners: 1 });
    expect((await runEarshot(['erase', '--owner', bob, '--yes'], env)).code).toBe(0);
    // A running daemon (its instance lock held) stops a restore before anything is touched.
    const { InstanceLock } = await import('../../src/daemon/index.js');
    const held = await InstanceLock.acquire(d, () => ({}));
    try {
      const busy = await runEarshot(['restore', '--in', out, '--passphrase-file', path.join(work, 'pass'), '--yes'], env);
      expect(busy.code).toBe(1);
      expect(busy.err).toContain('DAEMON_RUNNING');
    } finally {
      await held.release();
    }
    expect(JSON.parse((await runEarshot(['owners', 'list', '--json'], env)).out)).toEqual([]);
    const noYes = await runEarshot(['restore', '--in', out, '--passphrase-file', path.join(work, 'pass')], env);
    expect(noYes.code).toBe(2);
    expect(noYes.err).toContain('--yes');
    const r = await runEarshot(['restore', '--in', out, '--passphrase-file', path.join(work, 'pass'), '--yes', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ owners: 0, erasedAgain: [bob] });
    expect(JSON.parse((await runEarshot(['owners', 'list', '--json'], env)).out)).toEqual([]);
    expect((await runEarshot(['audit', 'verify'], env)).code).toBe(0);
    expect((await runEarshot(['backup', '--help'], env)).out).toContain('never contains the device key');
  });
});
