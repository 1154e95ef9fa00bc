/** Shared test helpers for the wake-word tests: fixture paths, WAV reading, synthesised negative speech. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWavFile } from '../../src/audio/wav.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const MANIFEST = path.join(ROOT, 'models', 'manifest.json');

export async function readPcm(file: string): Promise<Int16Array> {
  return (await readWavFile(file)).pcm16k;
}

/** The wake fixtures: test/fixtures/wake/<word>__<voice>.wav. */
export function wakeFixtures(): { file: string; word: string; voice: string }[] {
  const dir = path.join(FIXTURES, 'wake');
  return readdirSync(dir)
    .sort()
    .filter((f) => f.endsWith('.wav'))
    .map((f) => {
      const [word, voice] = f.replace(/\.wav$/, '').split('__') as [string, string];
      return { file: path.join(dir, f), word, voice };
    });
}

/**
 * Several minutes of ordinary speech (scripts/fixtures-negative.txt read by three espeak-ng voices), cached
 * under the OS temp dir by content hash so it is synthesised once per machine, not committed.
 */
export function negativeSpeechFile(): string {
  const textFile = path.join(ROOT, 'scripts', 'fixtures-negative.txt');
  const text = readFileSync(textFile, 'utf8');
  const voices = ['en-us', 'en-gb', 'en+f3'];
  const key = createHash('sha256').update(text).update(voices.join()).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'earshot-test-cache');
  const out = path.join(dir, `negative-speech-${key}.wav`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parts: string[] = [];
  voices.forEach((voice, v) => {
    const part = lines.filter((_, i) => i % voices.length === v).join(' ');
    const raw = path.join(dir, `neg-${key}-${v}-raw.wav`);
    const conv = path.join(dir, `neg-${key}-${v}.wav`);
    execFileSync('espeak-ng', ['-v', voice, '-s', '160', '-w', raw, part]);
    execFileSync('sox', ['-R', raw, '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', conv, 'norm', '-3']);
    rmSync(raw);
    parts.push(conv);
  });
  const tmp = `${out}.${process.pid}.tmp.wav`;
  execFileSync('sox', ['-R', ...parts, tmp]);
  for (const p of parts) rmSync(p);
  renameSync(tmp, out);
  return out;
}

/** Deterministic pseudo-random generator for chunk sizes and noise. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
