/** Shared test helpers for the wake-word tests: fixture paths, WAV reading, synthesised negative speech. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWavFile } from '../../src/audio/wav.js';
import { synthesiseSpeech } from '../../src/bench/synthetic-speech.js';
import { concat } from '../audio/signal.js';
import { FRAME_SAMPLES } from '../../src/core/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const MANIFEST = path.join(ROOT, 'models', 'manifest.json');

export async function readPcm(file: string): Promise<Int16Array> {
  return (await readWavFile(file)).pcm16k;
}

function wavFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? wavFiles(p) : f.endsWith('.wav') ? [p] : [];
    });
}

/**
 * Every committed WAV below test/fixtures that the reader accepts (the audio/ folder also holds formats it must
 * refuse) and that holds at least one 80 ms chunk, as 16 kHz PCM, named by its path below test/fixtures.
 */
export async function committedFixtures(): Promise<{ name: string; pcm: Int16Array }[]> {
  const out: { name: string; pcm: Int16Array }[] = [];
  for (const file of wavFiles(FIXTURES)) {
    const pcm = await readPcm(file).catch(() => undefined);
    if (pcm && pcm.length >= FRAME_SAMPLES) out.push({ name: path.relative(FIXTURES, file), pcm });
  }
  return out;
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

/** A property test's piece of audio: part of a speech clip, or a faint stretch below the quiet gate. */
export type AudioPiece = { kind: 'speech'; clip: number; from: number; n: number } | { kind: 'quiet'; n: number };

/** The pieces concatenated: speech from `speech[clip]` starting at `from` (wrapped), quiet as faint noise. */
export function audioOfPieces(pieces: readonly AudioPiece[], speech: readonly Int16Array[]): Int16Array {
  const parts = pieces.map((p) => {
    if (p.kind === 'quiet') return new Int16Array(p.n).map((_, i) => ((i * 7919) % 21) - 10);
    const clip = speech[p.clip]!;
    const from = p.from % clip.length;
    return clip.subarray(from, Math.min(clip.length, from + p.n));
  });
  return concat(parts);
}
