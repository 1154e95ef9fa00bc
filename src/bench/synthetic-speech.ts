/**
 * Synthetic speech (never user audio) for the benchmark and the detection tests: the text in
 * scripts/fixtures-negative.txt read by several espeak-ng voices in turn, converted to 16 kHz mono s16 WAV
 * with sox, and cached under the OS temp dir by a hash of text and voices, so it is made once per machine
 * and never committed.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../models/index.js';

export const SPEECH_TEXT_FILE = path.join(PROJECT_ROOT, 'scripts', 'fixtures-negative.txt');

/** Path of the cached WAV; synthesised first if missing (needs espeak-ng and sox). */
export function synthesiseSpeech(opts: { voices: string[]; cacheName: string; log?: (line: string) => void }): string {
  const text = readFileSync(SPEECH_TEXT_FILE, 'utf8');
  const key = createHash('sha256').update(text).update(opts.voices.join()).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), opts.cacheName);
  const out = path.join(dir, `speech-${key}.wav`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  opts.log?.(`synthesising speech with espeak-ng into ${out}`);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parts: string[] = [];
  opts.voices.forEach((voice, v) => {
    const raw = path.join(dir, `part-${key}-${v}-raw.wav`);
    const conv = path.join(dir, `part-${key}-${v}.wav`);
    const words = lines.filter((_, i) => i % opts.voices.length === v).join(' ');
    execFileSync('espeak-ng', ['-v', voice, '-s', '160', '-w', raw, words]);
    execFileSync('sox', ['-R', raw, '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', conv, 'norm', '-3']);
    rmSync(raw);
    parts.push(conv);
  });
  // Written under a temporary name and renamed, so a concurrent or interrupted run never sees half a file.
  const tmp = `${out}.${process.pid}.tmp.wav`;
  execFileSync('sox', ['-R', ...parts, tmp]);
  for (const p of parts) rmSync(p);
  renameSync(tmp, out);
  return out;
}
