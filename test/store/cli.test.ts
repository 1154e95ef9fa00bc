import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/store.js';
import { encodeWav } from '../../src/audio/wav.js';
import { defaultConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Capture } from '../../src/core/recording.js';
import { openApp } from '../../src/open-app.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { makeCapture, tempDir } from './helpers.js';
import { runEarshot } from '../helpers/cli.js';

function cli(dir: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runEarshot(argv, { EARSHOT_DATA_DIR: dir }, commands);
}

/** What the daemon does with a finished capture, on the data directory `earshot init` made (its device id). */
async function storeCaptureIn(dataDir: string, ownerId: string, cap: Capture): Promise<void> {
  const deviceId = readFileSync(path.join(dataDir, 'device-id'), 'utf8').trim();
  const { app, close } = await openApp({ config: { ...defaultConfig(), dataDir }, deviceId, logger: silentLogger });
  try {
    await app.storeCapture(ownerId, cap, { uplink: false });
  } finally {
    await close();
  }
}

describe('earshot store commands', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it('init, owners add/list/use, audit verify/log/head, export, erase — end to end', async () => {
    const dir = path.join(t.dir, 'data');
    expect((await cli(dir, 'init')).code).toBe(0);
    expect((await cli(dir, 'init')).out).toContain('already initialised');
    const a = (await cli(dir, 'owners', 'add', '--name', 'Alice')).out.trim();
    const b = (await cli(dir, 'owners', 'add', '--name', 'Bob', '--retention-days', '7')).out.trim();
    expect(a).toMatch(/^own-[0-9a-f]{16}$/);
    let list = JSON.parse((await cli(dir, 'owners', 'list', '--json')).out) as { id: string; name: string; active: boolean; retentionDays: number }[];
    expect(list.map((o) => [o.id, o.name, o.active])).toEqual([
      [a, 'Alice', true],
      [b, 'Bob', false],
    ]);
    expect((await cli(dir, 'owners', 'use', b)).code).toBe(0);
    list = JSON.parse((await cli(dir, 'owners', 'list', '--json')).out) as typeof list;
    expect(list.find((o) => o.active)?.id).toBe(b);

    const unknown = await cli(dir, 'owners', 'use', 'own-ffffffffffffffff');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('UNKNOWN_OWNER');

    const verify = await cli(dir, 'audit', 'verify', '--json');
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.out)).toMatchObject({ ok: true });
    const logLines = (await cli(dir, 'audit', 'log', '--owner', a, '--json')).out.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(logLines.map((e) => e.type)).toContain('owner.added');
    const head = JSON.parse((await cli(dir, 'audit', 'head', '--json')).out) as { seq: number; head: string };
    expect(head.head).toMatch(/^[0-9a-f]{64}$/);

    const out = path.join(t.dir, 'alice.tar');
    const exp = await cli(dir, 'export', '--owner', a, '--out', out, '--json');
    expect(exp.code).toBe(0);
    expect(exp.err).toContain('export: 0/0'); // plain progress lines when not on a terminal
    expect(existsSync(out)).toBe(true);

    const pass = path.join(t.dir, 'pass.txt');
    writeFileSync(pass, 'a long passphrase\n');
    const enc = path.join(t.dir, 'alice.tar.enc');
    expect((await cli(dir, 'export', '--owner', a, '--out', enc, '--passphrase-file', pass)).code).toBe(0);
    expect((await cli(dir, 'export', 'open', '--in', enc, '--out', path.join(t.dir, 'opened.tar'), '--passphrase-file', pass)).code).toBe(0);

    expect((await cli(dir, 'erase', '--owner', a)).code).toBe(2); // needs --yes
    const erased = await cli(dir, 'erase', '--owner', a, '--yes', '--json');
    expect(erased.code).toBe(0);
    expect(JSON.parse(erased.out)).toMatchObject({ ownerId: a, recordings: 0 });
    expect((await cli(dir, 'keys', 'rotate')).code).toBe(0);
    expect((await cli(dir, 'audit', 'verify')).out).toMatch(/^OK/);
  });

  it('recordings list, play --out (a WAV of exactly the stored audio) and delete', async () => {
    const dir = path.join(t.dir, 'data');
    await cli(dir, 'init');
    const a = (await cli(dir, 'owners', 'add', '--name', 'Alice')).out.trim();
    const cap = makeCapture({ seed: 9 });
    await storeCaptureIn(dir, a, cap);
    const list = JSON.parse((await cli(dir, 'recordings', 'list', '--json')).out) as { id: string; wakeword: string }[];
    expect(list.map((r) => [r.id, r.wakeword])).toEqual([[cap.id, 'hey_jarvis']]);
    const wav = path.join(t.dir, 'out.wav');
    expect((await cli(dir, 'recordings', 'play', cap.id, '--out', wav)).code).toBe(0);
    expect(readFileSync(wav).equals(encodeWav(cap.pcm))).toBe(true);
    expect((await cli(dir, 'recordings', 'delete', cap.id)).code).toBe(0);
    expect((await cli(dir, 'recordings', 'play', cap.id, '--out', path.join(t.dir, 'x.wav'))).err).toContain('UNKNOWN_RECORDING');
    const types = (await cli(dir, 'audit', 'log', '--json')).out.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(expect.arrayContaining(['recording.created', 'recording.played', 'recording.deleted']));
  });

  it('recordings play pipes exactly the stored audio to aplay (real aplay on the ALSA null device; a recording aplay for the bytes)', async () => {
    const dir = path.join(t.dir, 'data');
    await cli(dir, 'init');
    const a = (await cli(dir, 'owners', 'add', '--name', 'Alice')).out.trim();
    const cap = makeCapture({ seed: 10, samples: 4000 });
    await storeCaptureIn(dir, a, cap);

    // The real program (alsa-utils; .ci/run installs it): plays on the null device, a bad device is PLAYBACK_FAILED.
    expect(spawnSync('aplay', ['--version']).status, 'aplay is required (apt-get install alsa-utils)').toBe(0);
    expect(await cli(dir, 'recordings', 'play', cap.id, '--device', 'null')).toMatchObject({ code: 0 });
    const bad = await cli(dir, 'recordings', 'play', cap.id, '--device', 'no-such-device-earshot');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/PLAYBACK_FAILED: aplay exited with 1; try --device/);

    // What aplay receives: an aplay on PATH that keeps its stdin and arguments.
    const bin = path.join(t.dir, 'bin');
    mkdirSync(bin);
    const got = path.join(t.dir, 'aplay-stdin.wav');
    writeFileSync(path.join(bin, 'aplay'), `#!/bin/sh\necho "$@" > '${got}.args'\ncat > '${got}'\n`, { mode: 0o755 });
    const oldPath = process.env['PATH'];
    process.env['PATH'] = `${bin}:${oldPath ?? ''}`;
    try {
      expect((await cli(dir, 'recordings', 'play', cap.id, '--device', 'hw:1,0')).code).toBe(0);
    } finally {
      process.env['PATH'] = oldPath;
    }
    expect(readFileSync(got).equals(encodeWav(cap.pcm))).toBe(true);
    expect(readFileSync(`${got}.args`, 'utf8').trim()).toBe('-q -D hw:1,0 -t wav -');
    // Nothing else was written: the decrypted audio went through the pipe only.
    expect(existsSync(path.join(dir, 'out.wav'))).toBe(false);
    const played = (await cli(dir, 'audit', 'log', '--json')).out.trim().split('\n').filter((l) => (JSON.parse(l) as { type: string }).type === 'recording.played');
    // Audited once per delivered play (the null device and hw:1,0); the attempt aplay failed is not a play
    // (src/app/recordings.ts audits `recording.played` only after delivery succeeded).
    expect(played.length).toBe(2);
    expect(played.map((l) => (JSON.parse(l) as { detail: unknown }).detail)).toEqual([{ source: 'owner-cli' }, { source: 'owner-cli' }]);

    // No aplay at all: a clear error naming the package and --out.
    process.env['PATH'] = path.join(t.dir, 'empty-path');
    try {
      const none = await cli(dir, 'recordings', 'play', cap.id);
      expect(none.code).toBe(1);
      expect(none.err).toMatch(/PLAYBACK_FAILED: cannot run aplay .*install alsa-utils, or use --out FILE.wav/);
    } finally {
      process.env['PATH'] = oldPath;
    }
  });

  it("switching the active owner gives no access to the previous owner's recordings", async () => {
    const dir = path.join(t.dir, 'data');
    await cli(dir, 'init');
    const a = (await cli(dir, 'owners', 'add', '--name', 'Alice')).out.trim();
    const b = (await cli(dir, 'owners', 'add', '--name', 'Bob')).out.trim();
    const cap = makeCapture({ seed: 11 });
    await storeCaptureIn(dir, a, cap);
    expect((await cli(dir, 'owners', 'use', b)).code).toBe(0);
    expect(JSON.parse((await cli(dir, 'recordings', 'list', '--json')).out)).toEqual([]);
    const play = await cli(dir, 'recordings', 'play', cap.id, '--out', path.join(t.dir, 'stolen.wav'));
    expect(play.code).not.toBe(0);
    expect(existsSync(path.join(t.dir, 'stolen.wav'))).toBe(false);
    const del = await cli(dir, 'recordings', 'delete', cap.id);
    expect(del.code).not.toBe(0);
    expect(del.err).toContain('UNKNOWN_RECORDING');
    // Alice's recording is untouched and still opens for her.
    expect((await cli(dir, 'recordings', 'play', cap.id, '--owner', a, '--out', path.join(t.dir, 'mine.wav'))).code).toBe(0);
    expect(readFileSync(path.join(t.dir, 'mine.wav')).equals(encodeWav(cap.pcm))).toBe(true);
  });

  it('audit verify exits 1 and lists the problem after tampering', async () => {
    const dir = path.join(t.dir, 'data');
    await cli(dir, 'init');
    await cli(dir, 'owners', 'add', '--name', 'Alice');
    await cli(dir, 'owners', 'add', '--name', 'Bob');
    const db = await SqliteDb.open(path.join(dir, 'earshot.db'));
    await db.run("UPDATE audit SET type = 'owner.activated' WHERE seq = 1");
    await db.close();
    const r = await cli(dir, 'audit', 'verify');
    expect(r.code).toBe(1);
    expect(r.out).toContain('edited at #1');
    expect(r.err).toContain('AUDIT_BROKEN');
  });

  it('refuses a world-readable key file and says how to fix it', async () => {
    const dir = path.join(t.dir, 'data');
    await cli(dir, 'init');
    chmodSync(path.join(dir, 'device.key'), 0o644);
    const r = await cli(dir, 'owners', 'list');
    expect(r.code).toBe(1);
    expect(r.err).toContain('KEY_FILE_PERMISSIONS');
    expect(r.err).toContain(`chmod 600 ${path.join(dir, 'device.key')}`);
  });

  it('every command has --help with a usage line', async () => {
    for (const c of commands) {
      const r = await cli(t.dir, ...c.path, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: ${c.usage}`);
    }
  });
});
