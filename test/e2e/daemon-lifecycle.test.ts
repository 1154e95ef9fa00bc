/**
 * `earshot run` as an operator sees it: raw PCM on stdin, a clean stop on SIGTERM that still stores the
 * command being captured, clear refusals for a missing data dir or a bad input file.
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const WAKE = path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav');

let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-life-'));
  env = { ...process.env, HOME: work, EARSHOT_DATA_DIR: path.join(work, 'data') };
  await run(process.execPath, [CLI, 'init'], { env });
  await run(process.execPath, [CLI, 'owners', 'add', '--name', 'Stdin Owner'], { env });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('earshot run', () => {
  it('reads raw PCM from stdin and, on SIGTERM mid-command, stops cleanly and keeps the capture', async () => {
    const pcm = (await readWavFile(WAKE)).pcm16k;
    const child = spawn(process.execPath, [CLI, 'run', '--input', '-', '--json'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Everything up to 1 s into the command, then keep the pipe open: the daemon is mid-capture.
    const upTo = Math.min(pcm.length, 16 * 4400);
    child.stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, upTo * 2));
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('"type":"wake"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stdout, stderr).toContain('"type":"wake"');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, stderr).toBe(0);
    const events = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; endReason?: string });
    expect(events.map((e) => e.type)).toEqual(['listening', 'wake', 'captured', 'stopped']);
    expect(events[2]!.endReason).toBe('stream-end');
    const list = await run(process.execPath, [CLI, 'recordings', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout)).toHaveLength(1);
    // `earshot status` shows that no daemon runs, since when, and the loop's health from the last run.
    const status = JSON.parse((await run(process.execPath, [CLI, 'status', '--json'], { env })).stdout) as {
      daemon: { running: boolean; lastSeenAt: number; lastRun: { source: string; framesProcessed: number; detections: number; stoppedCleanly: boolean } };
    };
    expect(status.daemon).toMatchObject({ running: false, lastRun: { source: 'stdin', detections: 1, stoppedCleanly: true } });
    expect(Date.now() - status.daemon.lastSeenAt).toBeLessThan(60_000);
    expect(status.daemon.lastRun.framesProcessed).toBeGreaterThan(40);
  }, 60_000);

  it('refuses a broken input file with a clear message and a non-zero exit', async () => {
    const bad = path.join(work, 'broken.wav');
    await fs.writeFile(bad, Buffer.from('RIFF\x10\x00\x00\x00WAVEjunk', 'latin1'));
    const r = await run(process.execPath, [CLI, 'run', '--input', bad], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/AUDIO_FORMAT/);
    expect(r.stderr).toContain('broken.wav');
  });

  it('refuses to run on a data directory that was never initialised', async () => {
    const r = await run(process.execPath, [CLI, 'run', '--input', WAKE], { env: { ...env, EARSHOT_DATA_DIR: path.join(work, 'nowhere') } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/NOT_INITIALISED|earshot init/);
  });

  it('refuses to start when the key file is readable by others, and says how to fix it', async () => {
    const dir = path.join(work, 'loose');
    const e2 = { ...env, EARSHOT_DATA_DIR: dir };
    await run(process.execPath, [CLI, 'init'], { env: e2 });
    const keyFile = path.join(dir, 'device.key');
    await fs.chmod(keyFile, 0o644);
    const r = await run(process.execPath, [CLI, 'run', '--input', WAKE], { env: e2 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/KEY_FILE_PERMISSIONS/);
    expect(r.stderr).toContain(`chmod 600 ${keyFile}`);
  });

  it('every command answers --help', async () => {
    const overview = await run(process.execPath, [CLI, '--help'], { env });
    const paths = [...overview.stdout.matchAll(/^ {2}(\S+(?: \S+)?) {2,}/gm)].map((m) => m[1]!.trim());
    expect(paths.length).toBeGreaterThan(25);
    for (const p of paths) {
      const r = await run(process.execPath, [CLI, ...p.split(' '), '--help'], { env });
      expect(r.stdout, p).toMatch(/^Usage: earshot /);
    }
  }, 120_000);
});
