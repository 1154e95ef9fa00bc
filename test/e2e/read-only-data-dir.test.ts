/**
 * A read-only data directory (issue 10 §6): commands that only read work on it; one that writes fails with an
 * error naming the directory and the fix, not `STORE_IO: database read failed: SQLITE_READONLY`. The directory
 * is made read-only by a read-only bind mount (root, as CI runs): without it the test fails, it never skips.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const WAKE = path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav');

let work: string;
let mnt: string;
let env: NodeJS.ProcessEnv;

async function cli(args: string[], e: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], { env: e }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (x: { code: number; stdout: string; stderr: string }) => ({ code: x.code, stdout: x.stdout, stderr: x.stderr }),
  );
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-ro-'));
  const rw = { ...process.env, HOME: work, EARSHOT_DATA_DIR: path.join(work, 'src', 'data'), EARSHOT_CONFIG: '' };
  await cli(['init'], rw);
  await cli(['owners', 'add', '--name', 'Read Only Owner'], rw);
  mnt = path.join(work, 'ro');
  mkdirSync(mnt);
  execFileSync('mount', ['--bind', path.join(work, 'src'), mnt]);
  execFileSync('mount', ['-o', 'remount,ro,bind', mnt]);
  env = { ...rw, EARSHOT_DATA_DIR: path.join(mnt, 'data') };
});

afterAll(async () => {
  if (mnt) execFileSync('umount', [mnt]);
  await fs.rm(work, { recursive: true, force: true });
});

describe('a read-only data directory', () => {
  it('read-only commands work: status, owners list, audit verify, recordings list', async () => {
    const status = await cli(['status', '--json'], env);
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toMatchObject({ daemon: { running: false } });
    const owners = await cli(['owners', 'list'], env);
    expect(owners.stdout).toContain('Read Only Owner');
    const verify = await cli(['audit', 'verify'], env);
    expect(verify.code, verify.stderr).toBe(0);
    expect((await cli(['recordings', 'list', '--json'], env)).code).toBe(0);
  }, 60_000);

  it('a command that writes names the directory and what to do', async () => {
    const add = await cli(['owners', 'add', '--name', 'Someone'], env);
    expect(add.code).toBe(1);
    expect(add.stderr).toContain(`the data directory ${path.join(mnt, 'data')} is read-only`);
    expect(add.stderr).toMatch(/make it writable/);
    expect(add.stderr).not.toMatch(/database read failed/);
    const daemon = await cli(['run', '--input', WAKE], env);
    expect(daemon.code).toBe(1);
    expect(daemon.stderr).toContain(`the data directory ${path.join(mnt, 'data')} is read-only`);
  }, 60_000);
});
