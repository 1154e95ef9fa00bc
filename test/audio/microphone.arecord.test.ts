/**
 * The microphone path through the REAL `arecord` binary and node-record-lpcm16, with no sound card (see
 * alsa-fixture.ts). These tests fail — never skip — when arecord is missing: CI must install alsa-utils.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MicrophoneSource } from '../../src/audio/sources/microphone-source.js';
import { resilientMicrophone } from '../../src/audio/sources/resilient-microphone.js';
import type { SourceFailure } from '../../src/audio/sources/supervise.js';
import { readWavFile } from '../../src/audio/wav.js';
import { createLogger } from '../../src/core/logger.js';
import { EarshotError } from '../../src/core/errors.js';
import { createAlsaFixture, FIXTURE_PCM, type AlsaFixture } from './alsa-fixture.js';

const FIX = join(import.meta.dirname, '../fixtures/audio');

function requireTool(cmd: string, args: string[], install: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error !== undefined) {
    throw new Error(`"${cmd}" is not available (${r.error.message}); the microphone test needs it: ${install}`);
  }
}

/** Index at which `needle` occurs exactly in `hay` (searching the first `maxOffset` positions), or −1. */
function findExact(hay: Int16Array, needle: Int16Array, maxOffset: number): number {
  const a = Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength);
  for (let o = 0; o <= maxOffset && o + needle.length <= hay.length; o++) {
    if (hay[o] !== needle[0]) continue;
    const b = Buffer.from(hay.buffer, hay.byteOffset + o * 2, needle.byteLength);
    if (a.equals(b)) return o;
  }
  return -1;
}

function loggerInto(lines: string[]) {
  return createLogger({ level: 'debug', out: { write: (l: string) => lines.push(l) } });
}

function pidsFrom(lines: string[]): number[] {
  return lines.map((l) => JSON.parse(l) as { msg: string; pid?: number }).filter((r) => r.msg === 'recorder starting').map((r) => r.pid!);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: the process is gone, which is what the caller checks for
  }
}

async function expectRecorderFailure(source: AsyncIterable<Int16Array>, pattern: RegExp): Promise<EarshotError> {
  try {
    for await (const _ of source) {
      /* drain until the failure */
    }
  } catch (e) {
    expect(e).toBeInstanceOf(EarshotError);
    expect((e as EarshotError).code).toBe('RECORDER_FAILED');
    expect((e as EarshotError).message).toMatch(pattern);
    return e as EarshotError;
  }
  throw new Error('expected RECORDER_FAILED');
}

let fixture: AlsaFixture;
let restoreEnv: () => void;
let speech: Int16Array;

beforeAll(async () => {
  requireTool('arecord', ['--version'], 'apt-get install alsa-utils');
  requireTool('perl', ['-e', '1'], 'apt-get install perl-base');
  speech = (await readWavFile(join(FIX, 'mic-speech-16k.wav'))).pcm16k;
  fixture = await createAlsaFixture();
  fixture.writeRaw(speech);
  restoreEnv = fixture.activate();
});

afterAll(() => {
  restoreEnv?.();
  fixture?.remove();
});

describe('MicrophoneSource with the real arecord', () => {
  it('delivers the fixture sample-exactly, at real-time pace, and stops arecord when aborted', async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    const mic = new MicrophoneSource({ recorder: 'arecord', device: FIXTURE_PCM, signal: ac.signal, logger: loggerInto(lines) });
    const want = speech.length + 8000; // the fixture (3 s) and 0.5 s more
    const got = new Int16Array(want + 16000);
    let n = 0;
    const t0 = performance.now();
    const reached: Record<number, number> = {};
    for await (const chunk of mic) {
      got.set(chunk.subarray(0, got.length - n), n);
      n = Math.min(got.length, n + chunk.length);
      for (const s of [16000, 48000]) if (reached[s] === undefined && n >= s) reached[s] = performance.now() - t0;
      if (n >= want) ac.abort();
    }
    const audio = got.subarray(0, n);
    const offset = findExact(audio, speech, 16000);
    expect(offset).toBeGreaterThanOrEqual(0);
    // Pacing: after the fixed start-up lead (one ALSA buffer, ≤ 0.75 s), audio from 1 s to 3 s takes about 2 s.
    const paceMs = reached[48000]! - reached[16000]!;
    expect(paceMs).toBeGreaterThan(1600);
    expect(paceMs).toBeLessThan(2800);
    const [pid] = pidsFrom(lines);
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid!)).toBe(false);
    expect(lines.join('\n')).toMatch(/recorder stopped/);
  });

  it('leaving the loop early stops the recorder too', async () => {
    const lines: string[] = [];
    for await (const _ of new MicrophoneSource({ recorder: 'arecord', device: FIXTURE_PCM, logger: loggerInto(lines) })) break;
    const [pid] = pidsFrom(lines);
    expect(isAlive(pid!)).toBe(false);
  });

  it('an unknown device is RECORDER_FAILED quoting arecord', async () => {
    const err = await expectRecorderFailure(
      new MicrophoneSource({ recorder: 'arecord', device: 'earshot_no_such_device' }),
      /arecord \(device "earshot_no_such_device"\) exited with code 1: .*Unknown PCM earshot_no_such_device/,
    );
    expect(err.details).toMatchObject({ exitCode: 1 });
  });

  it('a recorder that dies mid-stream is RECORDER_FAILED, after the audio it did deliver', async () => {
    const lines: string[] = [];
    let samples = 0;
    const mic = new MicrophoneSource({ recorder: 'arecord', device: FIXTURE_PCM, logger: loggerInto(lines) });
    const failure = expectRecorderFailure(
      (async function* () {
        for await (const c of mic) {
          samples += c.length;
          if (samples >= 16000 && samples - c.length < 16000) process.kill(pidsFrom(lines)[0]!, 'SIGKILL');
          yield c;
        }
      })(),
      /was killed by SIGKILL/,
    );
    await failure;
    expect(samples).toBeGreaterThanOrEqual(16000);
  });

  it('a recorder that stops delivering audio is RECORDER_FAILED after the stall timeout', async () => {
    const lines: string[] = [];
    const mic = new MicrophoneSource({ recorder: 'arecord', device: FIXTURE_PCM, logger: loggerInto(lines), stallTimeoutMs: 400 });
    let stopped = false;
    await expectRecorderFailure(
      (async function* () {
        for await (const c of mic) {
          if (!stopped) {
            stopped = true;
            process.kill(pidsFrom(lines)[0]!, 'SIGSTOP');
          }
          yield c;
        }
      })(),
      /delivered no audio for 400 ms/,
    );
    expect(isAlive(pidsFrom(lines)[0]!)).toBe(false);
  });

  it('a missing recorder program is RECORDER_FAILED naming the package to install', async () => {
    const path = process.env.PATH;
    const empty = mkdtempSync(join(tmpdir(), 'earshot-empty-path-'));
    process.env.PATH = empty;
    try {
      await expectRecorderFailure(new MicrophoneSource({ recorder: 'arecord', device: FIXTURE_PCM }), /"arecord" was not found; install alsa-utils/);
    } finally {
      process.env.PATH = path;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('resilientMicrophone with the real arecord', () => {
  it('restarts a failing recorder with backoff and delivers audio once the device works', async () => {
    const late = await createAlsaFixture(); // its infile does not exist yet: arecord cannot open the device
    const restore = late.activate();
    const failures: SourceFailure[] = [];
    const ac = new AbortController();
    try {
      const mic = resilientMicrophone(
        { recorder: 'arecord', device: FIXTURE_PCM, retryInitialMs: 100, retryMaxMs: 400 },
        {
          signal: ac.signal,
          random: () => 0,
          onFailure: (f) => {
            failures.push(f);
            if (failures.length === 2) late.writeRaw(speech); // the "device" comes back
          },
        },
      );
      const got: Int16Array[] = [];
      let n = 0;
      for await (const c of mic) {
        got.push(c);
        n += c.length;
        if (n >= 8000) ac.abort();
      }
      expect(failures.map((f) => f.retryInMs)).toEqual([100, 200]);
      for (const f of failures) {
        expect(f.error).toMatchObject({ code: 'RECORDER_FAILED', message: expect.stringMatching(/fixture\.raw for reading failed/) });
      }
      const audio = new Int16Array(n);
      let o = 0;
      for (const c of got) {
        audio.set(c, o);
        o += c.length;
      }
      expect(Array.from(audio.subarray(0, 4000))).toEqual(Array.from(speech.subarray(0, 4000)));
    } finally {
      restore();
      late.remove();
    }
  });
});
