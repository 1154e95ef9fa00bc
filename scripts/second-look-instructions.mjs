#!/usr/bin/env node
// What the second look costs, machine-independently: CPU instructions per 80 ms frame of the default wake loop
// (1 word, 4 phases, quiet gate, the bench's speech throughout) with the second look (SECOND_LOOK), without it,
// and with it always on (gate 0), counted with valgrind --tool=callgrind as (I(N2) − I(N1)) / (N2 − N1).
// Also prints the share of frames on which the look was on over the same frames (from a plain run).
//
//   npm run build && node scripts/second-look-instructions.mjs [--frames N1,N2] [--variants noLook,look,alwaysOn]
//   (default 50,550 and all three; needs valgrind)
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => pathToFileURL(path.join(root, 'dist', f)).href;
const { speechClip, speechThroughout, writePcm, CHILD_FLAG, childScript } = await import(dist('bench/wake.js'));
const { WakeDetector, SECOND_LOOK } = await import(dist('wakeword/index.js'));
const i = process.argv.indexOf('--frames');
const [n1, n2] = i > 0 ? process.argv[i + 1].split(',').map(Number) : [50, 550];
const v = process.argv.indexOf('--variants');
const only = v > 0 ? process.argv[v + 1].split(',') : undefined;
const log = (l) => console.error(l);
const clip = speechThroughout(await speechClip(log), (n2 * 80) / 60000 + 0.05);
const pcm = writePcm('speech-second-look.s16', clip);

function callgrind(spec) {
  return new Promise((resolve, reject) => {
    execFile(
      'valgrind',
      ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file', process.execPath, childScript(), CHILD_FLAG, JSON.stringify(spec)],
      { maxBuffer: 16 * 1024 * 1024, timeout: 60 * 60 * 1000 },
      (err, _out, stderr) => {
        const m = /Collected : (\d+)/.exec(stderr);
        if (err || !m) reject(new Error(`callgrind failed: ${err ? err.message : 'no "Collected" line'}\n${stderr.split('\n').slice(-5).join('\n')}`));
        else resolve(Number(m[1]));
      },
    );
  });
}

const variants = { noLook: null, look: SECOND_LOOK, alwaysOn: { gate: 0 } };
const out = {};
for (const [name, secondLook] of Object.entries(variants)) {
  if (only && !only.includes(name)) continue;
  const spec = (frames) => ({ mode: 'earshot', pcm, words: ['hey_jarvis'], phases: 4, quietGate: true, frames, secondLook });
  log(`second-look instructions: ${name}: callgrind over ${n1} and ${n2} frames …`);
  const a = await callgrind(spec(n1));
  const b = await callgrind(spec(n2));
  out[name] = Math.round((b - a) / (n2 - n1));
  log(`second-look instructions: ${name}: ${(out[name] / 1e6).toFixed(3)} M per frame`);
}
// The look's duty over the same frames (frames n1+1 … n2), outside valgrind.
const det = await WakeDetector.create({ words: ['hey_jarvis'], secondLook: SECOND_LOOK });
let on = 0;
for (let f = 0; f < n2; f++) {
  await det.push(clip.subarray(f * 1280, (f + 1) * 1280), (fr) => {
    if (f >= n1 && fr.secondLook) on++;
  });
}
console.log(
  JSON.stringify({
    frames: [n1, n2],
    gate: SECOND_LOOK.gate,
    holdChunks: SECOND_LOOK.holdChunks,
    instructionsPerFrame: out,
    ...(out.look ? { lookOverNoLook: Math.round((out.look / out.noLook) * 1000) / 1000 } : {}),
    ...(out.alwaysOn ? { alwaysOnOverNoLook: Math.round((out.alwaysOn / out.noLook) * 1000) / 1000 } : {}),
    lookOnPct: Math.round((1000 * on) / (n2 - n1)) / 10,
  }),
);
