#!/usr/bin/env node
// Chunk-phase sensitivity study (test/fixtures/MEASUREMENTS.md §1): what 1, 2, 4 and 8 phases buy.
//
//   npm run build && node scripts/phase-study.mjs [--json]
//
// For each clip ("hey jarvis" by an espeak-ng voice at a given rate and pitch, normalised to -6 dBFS, in the
// hard set mixed with pink noise at sox `vol 0.08`), the clip is preceded by 3 s + k·10 ms of silence
// (k = 0…7) and followed by 1 s; for each shift we take the clip's peak hey_jarvis score over warm frames.
// Per clip and phase count: spread = max − min of the 8 peaks, worst = the smallest peak, reliable = worst ≥ 0.5.
// Needs espeak-ng and sox; nothing is recorded, the clips are synthesised and kept only in memory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => pathToFileURL(path.join(root, 'dist', f)).href;
if (!existsSync(path.join(root, 'dist', 'wakeword', 'index.js'))) {
  console.error('phase-study: build first (npm run build)');
  process.exit(2);
}
const { loadWakeModels, WakeScorer } = await import(dist('wakeword/index.js'));
const { loadManifest } = await import(dist('models/index.js'));
const RATE = 16000;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'earshot-phases-'));
const raw = (file, ...effects) => {
  const out = path.join(tmp, 'out.raw');
  execFileSync('sox', ['-R', file, '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'raw', out, ...effects]);
  const b = readFileSync(out);
  return new Int16Array(b.buffer, b.byteOffset, b.byteLength >> 1).slice();
};
function phrase(voice, wpm, pitch) {
  const wav = path.join(tmp, 'phrase.wav');
  execFileSync('espeak-ng', ['-v', voice, '-s', String(wpm), '-p', String(pitch), '-w', wav, 'hey jarvis']);
  return raw(wav, 'norm', '-6');
}
const noiseFile = path.join(tmp, 'noise.wav');
execFileSync('sox', ['-R', '-n', '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', noiseFile, 'synth', '8', 'pinknoise', 'vol', '0.08']);
const noise = raw(noiseFile);

function shifted(clip, k, noisy) {
  const lead = Math.round(RATE * (3 + k * 0.01));
  const out = new Int16Array(lead + clip.length + RATE);
  out.set(clip, lead);
  if (noisy) for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, out[i] + noise[i % noise.length]));
  return out;
}

const manifest = await loadManifest();
const models = await loadWakeModels(manifest, ['hey_jarvis']);
const PHASES = [1, 2, 4, 8];
const scorers = new Map();
for (const p of PHASES) scorers.set(p, await WakeScorer.create(models.features, models.classifiers, { phases: p }));
async function peak(pcm, phases) {
  const s = scorers.get(phases);
  s.reset();
  let best = 0;
  await s.feed(pcm, (f) => {
    if (f.warm[0] && f.scores[0] > best) best = f.scores[0];
  });
  return best;
}

const sets = {
  hard: ['en-us', 'en-gb', 'en+f3', 'en-us+m7', 'en-029', 'en+m3'].flatMap((v) => [120, 190].map((wpm) => ({ voice: v, wpm, pitch: 50, noisy: true }))),
  borderline: [110, 130, 150, 170].flatMap((wpm) => [40, 60].map((pitch) => ({ voice: 'en-029', wpm, pitch, noisy: false }))),
};
const result = {};
for (const [name, clips] of Object.entries(sets)) {
  const rows = Object.fromEntries(PHASES.map((p) => [p, []]));
  for (const c of clips) {
    const clip = phrase(c.voice, c.wpm, c.pitch);
    for (const p of PHASES) {
      const peaks = [];
      for (let k = 0; k < 8; k++) peaks.push(await peak(shifted(clip, k, c.noisy), p));
      rows[p].push({ ...c, spread: Math.max(...peaks) - Math.min(...peaks), worst: Math.min(...peaks) });
    }
  }
  result[name] = PHASES.map((p) => {
    const r = rows[p];
    const mean = (f) => r.reduce((s, x) => s + f(x), 0) / r.length;
    return {
      phases: p,
      meanSpread: mean((x) => x.spread),
      maxSpread: Math.max(...r.map((x) => x.spread)),
      meanWorstPeak: mean((x) => x.worst),
      reliable: `${r.filter((x) => x.worst >= 0.5).length} / ${r.length}`,
      clips: r,
    };
  });
}
rmSync(tmp, { recursive: true, force: true });
if (process.argv.includes('--json')) console.log(JSON.stringify(result));
else {
  for (const [name, rows] of Object.entries(result)) {
    console.log(`\n${name} set`);
    console.log('| phases | mean spread | max spread | mean worst peak | reliable |');
    console.log('|-------:|------------:|-----------:|----------------:|---------:|');
    for (const r of rows) console.log(`| ${r.phases} | ${r.meanSpread.toFixed(3)} | ${r.maxSpread.toFixed(3)} | ${r.meanWorstPeak.toFixed(3)} | ${r.reliable} |`);
  }
}
