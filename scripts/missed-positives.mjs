#!/usr/bin/env node
/**
 * The positives a detector misses, one line each: clip, voice, speed, background and the peak score (over warm
 * frames from the phrase's start to 1 s after its end, about as `earshot eval` judges a hit) of the clips the
 * 4-phase loop with the second look misses, with the default loop's and any other phase counts' peaks beside.
 *
 *   npm run build && node scripts/missed-positives.mjs CORPUS_DIR --wakeword alexa [--voices held-out|tuning|all]
 *        [--skip-voice ID …] [--phases 8 …] [--threshold 0.5]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readWavFile } from '../dist/audio/index.js';
import { loadManifest } from '../dist/models/index.js';
import { loadWakeModels, SECOND_LOOK, WakeDetector } from '../dist/wakeword/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    wakeword: { type: 'string' },
    voices: { type: 'string' },
    'skip-voice': { type: 'string', multiple: true },
    phases: { type: 'string', multiple: true },
    threshold: { type: 'string' },
  },
});
const dir = positionals[0];
const word = values.wakeword;
if (!dir || !word) {
  console.error('usage: node scripts/missed-positives.mjs CORPUS_DIR --wakeword NAME [--voices held-out|tuning|all] [--skip-voice ID …] [--phases P …] [--threshold X]');
  process.exit(2);
}
const voices = values.voices ?? 'held-out';
const skip = new Set(values['skip-voice'] ?? []);
const threshold = Number(values.threshold ?? 0.5);
const manifest = await loadManifest();
const index = JSON.parse(await readFile(path.join(dir, 'positives', 'index.json'), 'utf8'));
const clips = index.clips.filter((c) => c.word === word && !skip.has(c.voiceId) && (voices === 'all' || (voices === 'held-out') === (c.heldOut === true)));
const setups = [{ name: 'default', phases: 4 }, { name: 'look', phases: 4, secondLook: SECOND_LOOK }, ...(values.phases ?? []).map((p) => ({ name: `p${p}`, phases: Number(p) }))];
const peaks = {};
for (const s of setups) {
  const models = await loadWakeModels(manifest, [word], s.phases);
  const det = await WakeDetector.create({ words: [{ name: word, threshold }], models, manifest, phases: s.phases, ...(s.secondLook ? { secondLook: s.secondLook } : {}) });
  for (const c of clips) {
    det.reset();
    let peak = 0;
    const pcm = (await readWavFile(path.join(dir, 'positives', c.file))).pcm16k;
    await det.push(pcm, (f) => {
      if (f.warm[0] && f.endMs >= c.phraseStartMs && f.endMs <= c.phraseEndMs + 1000) peak = Math.max(peak, f.scores[0]);
    });
    (peaks[c.file] ??= {})[s.name] = peak;
  }
}
let missed = 0;
for (const c of clips) {
  const p = peaks[c.file];
  if (p.look >= threshold) continue;
  missed++;
  console.log(`${c.file}  voice ${c.voiceId}  speed ${c.speed}  ${c.noise}  peak ${setups.map((s) => `${s.name} ${p[s.name].toFixed(3)}`).join(' / ')}`);
}
console.log(`${missed} of ${clips.length} ${word} positives peak below ${threshold} with the second look (look)`);
