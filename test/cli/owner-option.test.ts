/**
 * Issue 9 §8: `--owner ""` (an unset shell variable) or a malformed id must be refused with BAD_ARGUMENT
 * (exit 2) by every owner-scoped command — never fall back to the active owner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { runEarshot } from '../helpers/cli.js';
import { tempDir } from '../store/helpers.js';

describe('--owner must be a well-formed owner id when given', () => {
  const t = tempDir('earshot-owner-opt-');
  const env = { EARSHOT_DATA_DIR: join(t.dir, 'data'), EARSHOT_CONFIG: join(t.dir, 'config.json') };
  let ownerId = '';
  let recordingId = '';

  beforeAll(async () => {
    writeFileSync(env.EARSHOT_CONFIG, JSON.stringify({ configVersion: 1, log: { level: 'silent' } }));
    expect((await runEarshot(['init'], env)).code).toBe(0);
    const added = await runEarshot(['owners', 'add', '--name', 'Alice', '--json'], env);
    ownerId = (JSON.parse(added.out) as { ownerId: string }).ownerId;
    const { resolveDeviceId, loadConfig } = await import('../../src/config/index.js');
    const { openApp } = await import('../../src/open-app.js');
    const { silentLogger } = await import('../../src/core/logger.js');
    const { makeCapture } = await import('../store/helpers.js');
    const config = await loadConfig(env.EARSHOT_CONFIG, { dataDir: env.EARSHOT_DATA_DIR });
    const opened = await openApp({ config, deviceId: await resolveDeviceId(config), logger: silentLogger });
    try {
      const c = makeCapture();
      await opened.app.storeCapture(ownerId, c, { uplink: false });
      recordingId = c.id;
    } finally {
      await opened.close();
    }
  });
  afterAll(() => t.cleanup());

  const cases: [string, string[]][] = [
    ['consent grant', ['consent', 'grant', '--purpose', 'cloud-processing']],
    ['consent revoke', ['consent', 'revoke', '--purpose', 'cloud-processing']],
    ['consent status', ['consent', 'status']],
    ['local-only on', ['local-only', 'on']],
    ['local-only off', ['local-only', 'off']],
    ['local-only status', ['local-only', 'status']],
    ['recordings list', ['recordings', 'list']],
    ['recordings delete', ['recordings', 'delete', 'RID']],
    ['recordings play', ['recordings', 'play', 'RID', '--out', 'OUT']],
    ['export', ['export', '--out', 'OUT']],
    ['erase', ['erase', '--yes']],
    ['retention set', ['retention', 'set', '--days', '7']],
    ['audit log', ['audit', 'log']],
    ['recordings flag', ['recordings', 'flag', 'RID', '--false-wake']],
    ['recordings unflag', ['recordings', 'unflag', 'RID']],
    ['enroll', ['enroll', '--wakeword', 'hey_jarvis', 'OUT', 'OUT', 'OUT']],
    ['enroll --record', ['enroll', '--wakeword', 'hey_jarvis', '--record', '3']],
    ['enroll status', ['enroll', 'status']],
    ['enroll remove', ['enroll', 'remove', '--wakeword', 'hey_jarvis']],
    ['detect', ['detect', 'OUT']],
  ];
  for (const bad of ['', ' ', 'own-1 ; rm', '../own-x', '\u0000']) {
    for (const [name, argv] of cases) {
      it(`${name} --owner ${JSON.stringify(bad)} is BAD_ARGUMENT, exit 2, and changes nothing`, async () => {
        const a = argv.map((w) => (w === 'RID' ? recordingId : w === 'OUT' ? join(t.dir, 'out-' + Math.random().toString(36).slice(2)) : w));
        const r = await runEarshot([...a, '--owner', bad], env);
        expect(r.err).toContain('BAD_ARGUMENT');
        expect(r.err).toMatch(/--owner/);
        expect(r.code).toBe(2);
      });
    }
  }

  it('nothing happened to the active owner: no consent, local-only off, the recording still there', async () => {
    const consent = JSON.parse((await runEarshot(['consent', 'status', '--json'], env)).out) as { ownerId: string; purposes: { active: boolean; since: unknown }[] };
    expect(consent.ownerId).toBe(ownerId);
    expect(consent.purposes.every((p) => !p.active && p.since === null)).toBe(true);
    expect(JSON.parse((await runEarshot(['local-only', 'status', '--json'], env)).out)).toMatchObject({ ownerChoice: false });
    const list = await runEarshot(['recordings', 'list', '--json'], env);
    expect(list.out).toContain(recordingId);
    expect((await runEarshot(['owners', 'list', '--json'], env)).out).toContain(ownerId);
  });

  it('owners use "" (or a malformed id) is BAD_ARGUMENT, and the active owner stays', async () => {
    for (const bad of ['', 'a b', '../x']) {
      const r = await runEarshot(['owners', 'use', bad], env);
      expect(r.err).toContain('BAD_ARGUMENT');
      expect(r.code).toBe(2);
    }
    expect(JSON.parse((await runEarshot(['consent', 'status', '--json'], env)).out)).toMatchObject({ ownerId });
  });

  it('a well-formed explicit owner still works', async () => {
    const r = await runEarshot(['consent', 'status', '--owner', ownerId, '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ownerId });
  });
});
