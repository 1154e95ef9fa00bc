/**
 * The daemon's runtime as an operator meets it (issue 10 §3, §5, §6, §7; issue 9 §8): a signal stops a fast
 * replay at once with the usual summary; one daemon per data directory (a second one is refused naming the
 * holder's pid, a SIGKILL never leaves the lock stuck, CLI commands keep working beside it); `status` asks the
 * live daemon; clear errors for stdin from a directory, a trailing odd byte, an unknown wake word and a closed
 * stdout; the saved wake health holds no file path and no wake word.
 */
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSilentWav } from '../../src/bench/long-input.js';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const WAKE = path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav');

let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-runtime-'));
  env = { ...process.env, HOME: work, EARSHOT_DATA_DIR: path.join(work, 'data'), EARSHOT_CONFIG: '' };
  await run(process.execPath, [CLI, 'init'], { env });
  await run(process.execPath, [CLI, 'owners', 'add', '--name', 'Runtime Owner'], { env });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

interface Daemon {
  child: ChildProcessWithoutNullStreams;
  events: { type: string; [k: string]: unknown }[];
  stderr: () => string;
  closed: Promise<number | null>;
}

function startDaemon(args: string[], e: NodeJS.ProcessEnv = env): Daemon {
  const child = spawn(process.execPath, [CLI, 'run', '--json', ...args], { env: e, stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Daemon['events'] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      events.push(JSON.parse(out.slice(0, nl)) as Daemon['events'][number]);
      out = out.slice(nl + 1);
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.on('error', () => {});
  const closed = new Promise<number | null>((r) => child.on('close', r));
  return { child, events, stderr: () => err, closed };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function cli(args: string[], e: NodeJS.ProcessEnv = env): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], { env: e }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (x: { code: number; stdout: string; stderr: string }) => ({ code: x.code, stdout: x.stdout, stderr: x.stderr }),
  );
}

describe('stopping', () => {
  it('the first SIGTERM stops a fast replay of a 2-hour file within a second, with the usual summary', async () => {
    const file = path.join(work, 'two-hours.wav');
    writeSilentWav(file, 2 * 3600);
    const d = startDaemon(['--input', file]);
    await waitFor(() => d.events.some((e) => e.type === 'listening'), 30_000, 'listening');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const code = await d.closed;
    const took = Date.now() - t0;
    expect(code, d.stderr()).toBe(0);
    expect(took).toBeLessThan(1500);
    const stopped = d.events.find((e) => e.type === 'stopped') as { reason: string; metrics: { framesProcessed: number } } | undefined;
    expect(stopped).toMatchObject({ reason: 'signal' });
    expect(stopped!.metrics.framesProcessed).toBeGreaterThan(0);
    expect(stopped!.metrics.framesProcessed).toBeLessThan(90_000); // the rest of the file was not waited for
    await fs.rm(file);
  }, 60_000);
});

describe('a failing microphone', () => {
  it('is restarted with backoff and reported in the live status; the daemon keeps running', async () => {
    const config = path.join(work, 'no-mic.json');
    await fs.writeFile(config, JSON.stringify({ audio: { recorder: 'arecord', device: 'hw:97,0', retryInitialMs: 100, retryMaxMs: 200 }, log: { level: 'error' } }));
    const e = { ...env, EARSHOT_CONFIG: config };
    const d = startDaemon([], e);
    await waitFor(() => d.events.filter((x) => x.type === 'source-failed').length >= 2, 30_000, 'two microphone failures');
    const status = JSON.parse((await cli(['status', '--json'], e)).stdout) as {
      daemon: { running: boolean; source: string; sourceHealth: { failures: number; state: string; lastError: string } };
    };
    expect(status.daemon).toMatchObject({ running: true, source: 'microphone', sourceHealth: { state: 'retrying' } });
    expect(status.daemon.sourceHealth.failures).toBeGreaterThanOrEqual(2);
    expect(status.daemon.sourceHealth.lastError).toMatch(/arecord|RECORDER|audio/i);
    expect((await cli(['status'], e)).stdout).toMatch(/microphone failed, retrying \(\d+ failures, last: /);
    d.child.kill('SIGTERM');
    expect(await d.closed, d.stderr()).toBe(0);
  }, 60_000);
});

describe('a broker that never acknowledges', () => {
  it('cannot keep the daemon alive: the first SIGTERM ends it within the bounded shutdown, with the summary', async () => {
    // Accepts the MQTT 5 connection (CONNACK) and then answers nothing: no SUBACK, no PUBACK.
    const sockets: import('node:net').Socket[] = [];
    const server = (await import('node:net')).createServer((sock) => {
      sockets.push(sock);
      sock.once('data', () => sock.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00])));
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const config = path.join(work, 'silent-broker.json');
    await fs.writeFile(config, JSON.stringify({ uplink: { brokerUrl: `mqtt://127.0.0.1:${port}` }, log: { level: 'error' } }));
    try {
      const d = startDaemon(['--input', '-'], { ...env, EARSHOT_CONFIG: config });
      await waitFor(() => d.events.some((e) => e.type === 'listening'), 30_000, 'listening');
      await waitFor(() => sockets.length > 0, 10_000, 'the daemon connected');
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      d.child.kill('SIGTERM');
      const code = await d.closed;
      const took = Date.now() - t0;
      // 5 s at most for the uplink (offline status, disconnect), then the process exits.
      expect(took).toBeLessThan(8_000);
      expect(code, d.stderr()).toBe(0);
      expect(d.events.at(-1)).toMatchObject({ type: 'stopped', reason: 'signal' });
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  }, 60_000);
});

describe('one daemon per data directory', () => {
  it('refuses a second daemon naming the holder pid; CLI commands and status work beside it; SIGKILL frees the lock', async () => {
    const a = startDaemon(['--input', '-']);
    await waitFor(() => a.events.some((e) => e.type === 'listening'), 30_000, 'first daemon listening');

    const t0 = Date.now();
    const b = await cli(['run', '--input', '-']);
    expect(b.code).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(b.stderr).toContain('DAEMON_RUNNING');
    expect(b.stderr).toContain(`pid ${a.child.pid}`);

    // Read-only and read-write commands keep working beside the daemon.
    expect((await cli(['recordings', 'list', '--json'])).code).toBe(0);
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as {
      daemon: { running: boolean; pid: number; source: string; services: { name: string; state: string }[]; wake: { framesProcessed: number } };
    };
    expect(status.daemon).toMatchObject({ running: true, pid: a.child.pid, source: 'stdin' });
    expect(status.daemon.services.map((s) => s.name)).toEqual(['fleet', 'retention', 'privacy-watch', 'health', 'wake', 'verifier-watch']);
    expect(status.daemon.services.every((s) => s.state === 'running')).toBe(true);
    const text = (await cli(['status'])).stdout;
    expect(text).toMatch(new RegExp(`daemon +running \\(pid ${a.child.pid}, since `));

    // Live counters, not a snapshot: feed 2 s of audio and ask again.
    a.child.stdin.write(Buffer.alloc(2 * 16000 * 2));
    let frames = 0;
    const until = Date.now() + 10_000;
    while (frames < 25 && Date.now() < until) {
      frames = (JSON.parse((await cli(['status', '--json'])).stdout) as typeof status).daemon.wake.framesProcessed;
    }
    expect(frames).toBe(25);

    a.child.kill('SIGKILL');
    await a.closed;
    const c = startDaemon(['--input', '-']);
    await waitFor(() => c.events.some((e) => e.type === 'listening') || c.child.exitCode !== null, 30_000, 'a new daemon after SIGKILL');
    expect(c.events.some((e) => e.type === 'listening'), c.stderr()).toBe(true);
    c.child.kill('SIGTERM');
    expect(await c.closed).toBe(0);

    // No daemon: status says so, and since when.
    const after = (await cli(['status'])).stdout;
    expect(after).toMatch(/daemon +not running since \d{4}-\d\d-\d\dT/);
  }, 120_000);
});

describe('clear errors at the edges', () => {
  it('refuses standard input redirected from a directory', async () => {
    const fd = openSync(work, 'r');
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'run', '--input', '-'], { env, stdio: [fd, 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/AUDIO_FILE: standard input is a directory/);
    } finally {
      closeSync(fd);
    }
  }, 30_000);

  it('says that a trailing odd byte on stdin was dropped', async () => {
    const d = startDaemon(['--input', '-']);
    d.child.stdin.end(Buffer.alloc(16001));
    expect(await d.closed, d.stderr()).toBe(0);
    expect(d.events.map((e) => e.type)).toContain('input-truncated');
    expect(d.events.find((e) => e.type === 'input-truncated')).toMatchObject({ droppedBytes: 1 });
    expect(d.stderr()).toContain('odd byte');
  }, 30_000);

  it('names the config file and the field of an unknown wake word', async () => {
    const config = path.join(work, 'bad-word.json');
    await fs.writeFile(config, JSON.stringify({ wake: { words: [{ name: 'hey_jarvis' }, { name: 'hey_bobby' }] } }));
    const r = await cli(['run', '--input', WAKE, '--config', config]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain(config);
    expect(r.stderr).toContain('wake.words[1].name');
    expect(r.stderr).toContain("'hey_bobby'");
  }, 30_000);

  it('ends quietly when stdout is closed early (`earshot audit log | head`)', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'audit', 'log'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.destroy(); // the reader goes away before anything is written
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);

  it('resolves a relative --manifest against the working directory', async () => {
    const r = await run(process.execPath, [CLI, 'detect', '--manifest', 'models/manifest.json', WAKE], { env, cwd: ROOT });
    expect(r.stdout).toMatch(/^\d+\.\d+ s +hey_jarvis +score /m);
  }, 60_000);
});

describe('what the daemon keeps about itself', () => {
  it('wake.health in the settings table holds no file path and no wake word', async () => {
    const secret = path.join(work, 'Alice-bedroom-recording.wav');
    await fs.copyFile(WAKE, secret);
    const d = startDaemon(['--input', secret]);
    expect(await d.closed, d.stderr()).toBe(0);
    expect(d.events.some((e) => e.type === 'wake')).toBe(true);
    const db = new sqlite3.Database(path.join(env['EARSHOT_DATA_DIR']!, 'earshot.db'), sqlite3.OPEN_READONLY);
    const row = await new Promise<{ value: string } | undefined>((resolve, reject) =>
      db.get("SELECT value FROM settings WHERE key = 'wake.health'", (err: Error | null, r: { value: string } | undefined) => (err ? reject(err) : resolve(r))),
    );
    await new Promise((r) => db.close(r));
    expect(row).toBeDefined();
    const h = JSON.parse(row!.value) as Record<string, unknown>;
    expect(h['source']).toBe('file');
    expect(row!.value).not.toContain('Alice');
    expect(row!.value).not.toContain('hey_jarvis');
    expect(Object.keys(h).sort()).toEqual(['at', 'backlogFrames', 'detections', 'framesProcessed', 'maxBacklogFrames', 'maxLagMs', 'running', 'source']);
  }, 60_000);
});
