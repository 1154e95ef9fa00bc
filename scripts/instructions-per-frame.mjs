#!/usr/bin/env node
// Instructions per 80 ms frame of the default wake loop (1 word, default phases, speech throughout), counted
// with valgrind --tool=callgrind: old path (window embedding model) against new (streaming model).
//
//   npm run build && node scripts/instructions-per-frame.mjs [--phases N] [--run-only] [--streaming-only]
//
// --run-only counts only inside onnxruntime-node's session run (the model calls and their marshalling): the
// whole-process count varies by about ±1 M per frame between runs, this one repeats to within 0.1 %.
// --streaming-only skips the old path (the window model), whose runs take most of the time.
//
// Needs valgrind (apt-get install valgrind) and espeak-ng (the speech is synthesised, never recorded). Takes a
// few minutes: each path runs twice under callgrind, over 100 and 400 frames; the difference divided by 300
// frames is the steady per-frame cost (start-up, model loading and warm-up cancel out). `earshot bench` prints
// the same figures as wake.instructionsPerFrame*.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => pathToFileURL(path.join(root, 'dist', f)).href;
if (!existsSync(path.join(root, 'dist', 'bench', 'wake-instructions.js'))) {
  console.error('instructions-per-frame: build first (npm run build)');
  process.exit(2);
}
const { speechClip, speechThroughout, writePcm } = await import(dist('bench/wake.js'));
const { instructionsPerFrame } = await import(dist('bench/wake-instructions.js'));
const { DEFAULT_PHASES } = await import(dist('wakeword/wake-detector.js'));
const i = process.argv.indexOf('--phases');
const phases = i > 0 ? Number(process.argv[i + 1]) : DEFAULT_PHASES;
const log = (l) => console.error(l);
const pcm = writePcm('speech-instructions.s16', speechThroughout(await speechClip(log), 0.6));
const r = await instructionsPerFrame({ pcm, phases, log, runOnly: process.argv.includes('--run-only'), streamingOnly: process.argv.includes('--streaming-only') });
const what = process.argv.includes('--run-only') ? ' (inside run() only)' : '';
for (const [k, v] of Object.entries(r)) console.log(`wake.instructionsPerFrame${k}  ${v}${what}`);
