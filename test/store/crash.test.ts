import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE, TEST, freshApp, makeCapture, openRecording, samePcm, tempDir } from './helpers.js';

const repo = path.resolve(import.meta.dirname, '../..');

describe('crash safety', () => {
  const t = tempDir('earshot-crash-');
  const build = path.join(t.dir, 'build');

  beforeAll(() => {
    // The child runs the real code every caller uses (the app on the store, composed by open-app): compile just
    // that (and what it imports) to plain JS.
    execFileSync(
      process.execPath,
      [
        path.join(repo, 'node_modules/typescript/bin/tsc'),
        '--ignoreConfig', '--outDir', build, '--rootDir', path.join(repo, 'src'), '--module', 'NodeNext',
        '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--types', 'node', '--skipLibCheck',
        path.join(repo, 'src/open-app.ts'),
        path.join(repo, 'src/config/index.ts'),
        path.join(repo, 'src/core/logger.ts'),
      ],
      { cwd: repo, stdio: 'pipe' },
    );
    symlinkSync(path.join(repo, 'node_modules'), path.join(t.dir, 'node_modules'));
    writeFileSync(path.join(build, 'package.json'), '{"type":"module"}');
    // Same capture generator as test/store/helpers.ts (seeded), inlined so the child needs no TS.
    writeFileSync(
      path.join(build, 'insert-loop.js'),
      `
import { openApp } from './open-app.js';
import { defaultConfig } from './config/index.js';
import { silentLogger } from './core/logger.js';
const [dataDir, ownerId] = process.argv.slice(2);
function pcmOf(seed, n) {
  const pcm = new Int16Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; pcm[i] = (x >>> 16) - 32768; }
  return pcm;
}
const { app } = await openApp({ config: { ...defaultConfig(), dataDir }, deviceId: '${DEVICE}', logger: silentLogger });
for (let i = 1; ; i++) {
  await app.storeCapture(ownerId, { id: 'crash-' + i, wakeword: 'hey_jarvis', score: 0.9, startedAt: 1700000000000 + i,
    wakeAtMs: 0, durationMs: 500, endReason: 'end-of-speech', pcm: pcmOf(i, 8000) }, { uplink: false });
  process.stdout.write('saved ' + i + '\\n');
}
`,
    );
  }, 60_000);
  afterAll(() => t.cleanup());

  it('SIGKILL while inserting: reopens, integrity_check ok, every returned insert present and opens', async () => {
    const dataDir = path.join(t.dir, 'data');
    mkdirSync(dataDir);
    const s = await freshApp(dataDir);
    const owner = await s.app.addOwner({ name: 'Alice', ...TEST });
    await s.close();

    const child = spawn(process.execPath, [path.join(build, 'insert-loop.js'), dataDir, owner], { stdio: ['ignore', 'pipe', 'pipe'] });
    let confirmed = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) if (l.startsWith('saved ')) confirmed = Number(l.slice(6));
        // Kill at an arbitrary moment mid-stream, after a fair number of commits.
        if (confirmed >= 60) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code, sig) => (sig === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${stderr}`))));
    });
    await new Promise((r) => child.once('close', r));
    expect(confirmed).toBeGreaterThanOrEqual(60);

    const { app, store, close } = await freshApp(dataDir, { init: false });
    expect(await store.integrityCheck()).toBe('ok');
    const ids = new Set(await store.uow.read((tx) => tx.recordings.ids(owner)));
    // Every recording that exists was audited in its unit of work (never one without the other).
    const created = new Set((await app.auditLog({ ownerId: owner })).filter((e) => e.type === 'recording.created').map((e) => e.recordingId));
    expect(created).toEqual(ids);
    for (let i = 1; i <= confirmed; i++) {
      expect(ids.has(`crash-${i}`)).toBe(true);
      const rec = await openRecording(store, `crash-${i}`);
      expect(samePcm(rec.pcm, makeCapture({ seed: i, samples: 8000 }).pcm)).toBe(true);
    }
    expect((await app.verifyAudit()).ok).toBe(true);
    await close();
  }, 60_000);
});
