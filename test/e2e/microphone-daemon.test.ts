/**
 * The whole daemon on the microphone path, through the real `arecord` with no sound card: an ALSA `file` PCM
 * (test/audio/alsa-fixture.ts) plays a wake phrase + command at real-time pace; `earshot run` must hear the
 * wake word, capture the command and store it, then stop cleanly on SIGTERM. Fails (never skips) without
 * arecord: CI installs alsa-utils.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import { createAlsaFixture, FIXTURE_PCM, type AlsaFixture } from '../audio/alsa-fixture.js';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

let fixture: AlsaFixture;
let work: string;

beforeAll(async () => {
  const r = spawnSync('arecord', ['--version']);
  if (r.error) throw new Error(`arecord is required for this system test (apt-get install alsa-utils): ${r.error.message}`);
  fixture = await createAlsaFixture();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'earshot-mic-'));
});

afterAll(async () => {
  fixture?.remove();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('earshot run on the microphone (real arecord, ALSA file PCM)', () => {
  it('hears the wake word, captures and stores the command, and stops cleanly on SIGTERM', async () => {
    const clip = (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav'))).pcm16k;
    const tail = new Int16Array(16_000 * 2); // 2 s of silence so the capture ends on end of speech
    const pcm = new Int16Array(clip.length + tail.length);
    pcm.set(clip);
    fixture.writeRaw(pcm);
    const configFile = path.join(work, 'config.json');
    await fs.writeFile(configFile, JSON.stringify({ configVersion: 1, audio: { recorder: 'arecord', device: FIXTURE_PCM } }));
    const env = { ...process.env, HOME: work, EARSHOT_DATA_DIR: path.join(work, 'data'), EARSHOT_CONFIG: configFile, ALSA_CONFIG_PATH: fixture.confPath };
    await run(process.execPath, [CLI, 'init'], { env });
    await run(process.execPath, [CLI, 'owners', 'add', '--name', 'Mic Owner'], { env });

    const child = spawn(process.execPath, [CLI, 'run', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    while (!stdout.includes('"type":"captured"') && Date.now() - started < 30_000 && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsed = Date.now() - started;
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('close', r)));
    expect(code, stderr).toBe(0);
    const events = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; source?: string; wakeword?: string; endReason?: string });
    expect(events[0]).toMatchObject({ type: 'listening', source: 'microphone' });
    expect(events.find((e) => e.type === 'wake')).toMatchObject({ wakeword: 'hey_jarvis' });
    expect(events.find((e) => e.type === 'captured')).toMatchObject({ endReason: 'end-of-speech' });
    // Real-time pace: the wake word ends ~3.4 s into the clip, so the capture cannot be done much sooner.
    expect(elapsed).toBeGreaterThan(2_500);
    const list = await run(process.execPath, [CLI, 'recordings', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout)).toHaveLength(1);
  }, 60_000);
});
