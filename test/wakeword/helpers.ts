/** Shared test helpers for the wake-word tests: fixture paths, WAV reading, synthesised negative speech. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWavFile } from '../../src/audio/wav.js';
import { synthesiseSpeech } from '../../src/bench/synthetic-speech.js';

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
  return synthesiseSpeech({ voices: ['en-us', 'en-gb', 'en+f3'], cacheName: 'earshot-test-cache' });
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
