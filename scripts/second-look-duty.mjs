#!/usr/bin/env node
/**
 * How often the second look (src/wakeword/second-look.ts) is on: the share of frames on which it scores the
 * odd phases, per kind of clip of an evaluation corpus (prose, near misses, noise, tones, positives), for one
 * or more gates, with the device's quiet gate. Measurement only (the cost of a frame with the look on is the
 * bench's business: `earshot bench --only wake`).
 *
 *   npm run build && node scripts/second-look-duty.mjs CORPUS_DIR [--gate G …] [--hold N] [--words a,b,c] [--voices all|tuning|held-out]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readWavFile } from '../dist/audio/index.js';
import { loadManifest } from '../dist/models/index.js';
import { DEFAULT_SECOND_LOOK_HOLD_CHUNKS, loadWakeModels, WakeDetector } from '../dist/wakeword/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    gate: { type: 'string', multiple: true },
    hold: { type: 'string' },
    words: { type: 'string' },
    voices: { type: 'string' },
  },
});
const dir = positionals[0];
if (!dir) {
  console.error('usage: node scripts/second-look-duty.mjs CORPUS_DIR [--gate G …] [--hold N] [--words a,b,c] [--voices all|tuning|held-out]');
  process.exit(2);
}
const gates = (values.gate ?? ['0.1']).map(Number);
const hold = values.hold ? Number(values.hold) : DEFAULT_SECOND_LOOK_HOLD_CHUNKS;
const words = (values.words ?? 'hey_jarvis,alexa,hey_mycroft').split(',');
const voices = values.voices ?? 'all';
const keep = (c) => voices === 'all' || (voices === 'held-out') === (c.heldOut === true);

const manifest = await loadManifest();
const models = await loadWakeModels(manifest, words, 4);
const clips = [];
for (const side of ['negatives', 'positives']) {
  const index = JSON.parse(await readFile(path.join(dir, side, 'index.json'), 'utf8'));
  for (const c of index.clips) if (keep(c)) clips.push({ file: path.join(dir, side, c.file), kind: side === 'positives' ? 'positive' : c.kind });
}
const out = {};
for (const gate of gates) {
  const det = await WakeDetector.create({ words, models, manifest, secondLook: { gate, holdChunks: hold } });
  const byKind = {};
  for (const c of clips) {
    const pcm = (await readWavFile(c.file)).pcm16k;
    det.reset();
    let frames = 0;
    let on = 0;
    await det.push(pcm, (f) => {
      frames++;
      if (f.secondLook) on++;
    });
    const k = (byKind[c.kind] ??= { clips: 0, frames: 0, framesOn: 0 });
    k.clips++;
    k.frames += frames;
    k.framesOn += on;
  }
  for (const k of Object.values(byKind)) k.onPct = Math.round((1000 * k.framesOn) / k.frames) / 10;
  out[`gate ${gate}, hold ${hold}`] = byKind;
}
console.log(JSON.stringify({ words, voices, results: out }, null, 2));
