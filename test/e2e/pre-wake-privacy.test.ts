/**
 * Promise 1, end to end through the real `earshot run` process: nothing from before the wake word persists.
 * The scenario has a 1 kHz marker tone in the background talk before the first wake word. After the daemon
 * has processed it, the marker must not be in any decrypted capture, in any file the process wrote (data
 * directory and its own TMPDIR), or in anything it printed (stdout, stderr logs at debug level).
 * Also: a long command with short pauses after the wake word is captured whole.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { longestToneMs } from '../../src/audio/goertzel.js';
import { encodeWav, readWavFile } from '../../src/audio/wav.js';
import { RecordingStore } from '../../src/store/index.js';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const SCENARIO = path.join(ROOT, 'test', 'fixtures', 'scenario.wav');
const info = JSON.parse(await fs.readFile(path.join(ROOT, 'test', 'fixtures', 'scenario.json'), 'utf8')) as {
  segments: { kind: string; startMs: number; endMs: number; marker?: { startMs: number; endMs: number; hz: number } }[];
};
const marker = info.segments.find((s) => s.marker)!.marker!;

async function earshot(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20 });
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Byte patterns of the marker as it would appear if copied: raw s16le windows, and as JSON numbers. */
function markerPatterns(pcm: Int16Array): { raw: Buffer[]; text: string[] } {
  const start = Math.round((marker.startMs + 100) * 16);
  const raw: Buffer[] = [];
  const text: string[] = [];
  for (let k = 0; k < 8; k++) {
    const s = start + k * 800; // eight 32-sample windows spread over the tone
    const win = pcm.subarray(s, s + 32);
    raw.push(Buffer.from(win.buffer, win.byteOffset, win.byteLength));
    text.push(Array.from(win.subarray(0, 8)).join(','));
  }
  return { raw, text };
}

function containsAny(haystack: Buffer, needles: Buffer[]): boolean {
  return needles.some((n) => haystack.includes(n));
}

describe('no pre-wake audio persists (real earshot run, scenario with a marker tone)', () => {
  let work: string;
  let dataDir: string;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let output = '';
  let scenarioPcm: Int16Array;
  let captures: { id: string; atMs: number; durationMs: number }[] = [];

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-e2e-'));
    dataDir = path.join(work, 'data');
    tmp = path.join(work, 'tmp');
    await fs.mkdir(tmp);
    const configFile = path.join(work, 'config.json');
    await fs.writeFile(configFile, JSON.stringify({ configVersion: 1, device: { id: 'spk-e2e', groups: [] }, log: { level: 'debug' } }));
    env = { ...process.env, TMPDIR: tmp, HOME: work, EARSHOT_DATA_DIR: dataDir, EARSHOT_CONFIG: configFile };
    await earshot(['init'], env);
    await earshot(['owners', 'add', '--name', 'Marker Test Owner'], env);
    const r = await earshot(['run', '--input', SCENARIO, '--json'], env);
    output = r.stdout + r.stderr;
    captures = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; recordingId: string; atMs: number; durationMs: number })
      .filter((e) => e.type === 'captured')
      .map((e) => ({ id: e.recordingId, atMs: e.atMs, durationMs: e.durationMs }));
    scenarioPcm = (await readWavFile(SCENARIO)).pcm16k;
  }, 120_000);

  afterAll(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  it('the scenario really contains the marker before the first wake word (positive control)', () => {
    const firstWake = info.segments.find((s) => s.kind === 'wake')!;
    expect(marker.endMs).toBeLessThan(firstWake.startMs);
    const around = scenarioPcm.subarray(Math.round(marker.startMs * 16) - 1600, Math.round(marker.endMs * 16) + 1600);
    expect(longestToneMs(around, marker.hz)).toBeGreaterThanOrEqual(400);
    // The byte scan finds the marker where it is present.
    const wavBytes = encodeWav(scenarioPcm);
    expect(containsAny(wavBytes, markerPatterns(scenarioPcm).raw)).toBe(true);
  });

  it('captures both commands, each starting after its wake word', () => {
    const wakes = info.segments.filter((s) => s.kind === 'wake');
    expect(captures).toHaveLength(wakes.length);
    for (const [i, c] of captures.entries()) expect(c.atMs).toBeGreaterThan(wakes[i]!.startMs);
  });

  it('no decrypted capture contains the marker tone', async () => {
    const store = await RecordingStore.open({ dataDir, deviceId: 'spk-e2e' });
    try {
      for (const c of captures) {
        const rec = await store.uow.read((tx) => tx.recordings.open(c.id));
        expect(rec.pcm.length).toBeGreaterThan(16_000);
        expect(longestToneMs(rec.pcm, marker.hz)).toBe(0);
      }
    } finally {
      await store.close();
    }
  });

  it('no file the process wrote (data dir, TMPDIR) contains the marker samples', async () => {
    const { raw } = markerPatterns(scenarioPcm);
    const files = [...(await filesUnder(dataDir)), ...(await filesUnder(tmp))];
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(containsAny(await fs.readFile(f), raw), f).toBe(false);
  });

  it('nothing printed (stdout events, debug logs) contains audio', () => {
    const { raw, text } = markerPatterns(scenarioPcm);
    expect(output.length).toBeGreaterThan(0);
    expect(containsAny(Buffer.from(output, 'latin1'), raw)).toBe(false);
    for (const t of text) expect(output.includes(t)).toBe(false);
    expect(output).not.toMatch(/Marker Test Owner/);
  });
});

describe('a long command after the wake word is captured whole', () => {
  it('keeps a command of over 6 s with short pauses in one capture (within the 10 s maximum)', async () => {
    expect(spawnSync('espeak-ng', ['--version']).status, 'espeak-ng is required (apt-get install espeak-ng)').toBe(0);
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-long-'));
    try {
      // wake phrase + a long, comma-paused command, 16 kHz mono (espeak-ng writes 22.05 kHz; the WAV reader resamples).
      const wake = (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav'))).pcm16k;
      const cmdFile = path.join(work, 'cmd.wav');
      const text = 'and remind me tomorrow to call the plumber, buy milk and bread, and water the plants';
      expect(spawnSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', cmdFile, text]).status).toBe(0);
      const cmd = (await readWavFile(cmdFile)).pcm16k;
      // Where the wake clip's own command ends: its last loud sample.
      const lastLoud = (pcm: Int16Array) => {
        for (let i = pcm.length - 1; i >= 0; i--) if (Math.abs(pcm[i]!) > 800) return i;
        return 0;
      };
      const wakeEnd = lastLoud(wake) + 1;
      const gap = new Int16Array(16 * 300); // 300 ms pause, shorter than the 700 ms end-of-speech silence
      const tail = new Int16Array(16 * 1500);
      const all = new Int16Array(wakeEnd + gap.length + cmd.length + tail.length);
      all.set(wake.subarray(0, wakeEnd), 0);
      all.set(cmd, wakeEnd + gap.length);
      const speechEndMs = (wakeEnd + gap.length + lastLoud(cmd)) / 16;
      const input = path.join(work, 'long.wav');
      await fs.writeFile(input, encodeWav(all));

      const dataDir = path.join(work, 'data');
      const env = { ...process.env, HOME: work, EARSHOT_DATA_DIR: dataDir };
      await earshot(['init'], env);
      await earshot(['owners', 'add', '--name', 'Long Command'], env);
      const r = await earshot(['run', '--input', input, '--json'], env);
      const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; atMs: number; durationMs: number; endReason: string });
      const caps = events.filter((e) => e.type === 'captured');
      expect(caps).toHaveLength(1);
      const cap = caps[0]!;
      expect(cap.endReason).toBe('end-of-speech');
      const captureEndMs = cap.atMs + cap.durationMs;
      expect(speechEndMs - cap.atMs).toBeGreaterThan(6000);
      // Ends after the last word (not cut at a pause), and not much later than it.
      expect(captureEndMs).toBeGreaterThanOrEqual(speechEndMs - 150);
      expect(captureEndMs).toBeLessThanOrEqual(speechEndMs + 1000);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }, 120_000);
});
