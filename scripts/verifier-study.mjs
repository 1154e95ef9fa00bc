#!/usr/bin/env node
// The study behind the verifier's training defaults (class weighting, L2): a small development set built
// from the NON-held-out voices only (the held-out ones are for branch eval's report), measured before kept.
//
//   npm run build && node scripts/verifier-study.mjs [--keep DIR]
//
// Per voice (9) and word (3): 3 enrolment clips at varied speed/pitch, 3 test clips (other speed/pitch,
// one in pink noise at ~20 dB SNR), and near misses of that word by every voice at a speed the shipped
// negatives do not use. For each configuration a verifier is trained per (voice, word) from the enrolment
// clips and the shipped generic negatives, and each clip is judged as the detector would: it fires when a
// warm frame's score (the verifier's probability where the base score reached the gate, else the base score)
// reaches 0.5. Printed: the enrolled voice's misses, near-miss fires (base vs verified), other voices' true
// phrases accepted (the verifier is per person, but synthetic voices differ less than people do).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (...p) => pathToFileURL(path.join(root, 'dist', ...p)).href;
if (!existsSync(path.join(root, 'dist', 'verifier', 'index.js'))) {
  console.error('verifier-study: build first (npm run build)');
  process.exit(2);
}
const { loadManifest } = await import(dist('models', 'index.js'));
const { loadWakeModels, WakeScorer, featuresOfEnrolmentClip } = await import(dist('wakeword', 'index.js'));
const { readWavFile } = await import(dist('audio', 'index.js'));
const { trainVerifier, genericNegatives, verifierProbability } = await import(dist('verifier', 'index.js'));

const args = process.argv.slice(2);
const keepAt = args.indexOf('--keep');
const tmp = keepAt >= 0 ? path.resolve(args[keepAt + 1]) : mkdtempSync(path.join(os.tmpdir(), 'earshot-verifier-study-'));
mkdirSync(tmp, { recursive: true });
const FMT = ['-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer'];
const run = (cmd, a) => execFileSync(cmd, a, { stdio: ['pipe', 'pipe', 'pipe'] });

const VOICES = [
  ['espeak', 'en-us'], ['espeak', 'en-gb'], ['espeak', 'en+f3'], ['espeak', 'en-us+m7'],
  ['flite', 'kal'], ['flite', 'awb'], ['flite', 'slt'], ['festival', 'kal_diphone'], ['festival', 'cmu_us_slt_arctic_hts'],
];
const WORDS = {
  hey_jarvis: { phrase: 'hey jarvis', near: ['hey jar', 'hey travis', 'hey harvest'] },
  alexa: { phrase: 'alexa', near: ['a lexus', 'alexis', 'election'] },
  // espeak-ng says "mycroft" as one unfamiliar word; two words sound like the real phrase (as in make-fixtures.sh).
  hey_mycroft: { phrase: 'hey my croft', near: ['hey microsoft', 'hey my cross', 'hey minecraft'] },
};
// [espeak wpm, espeak pitch, flite/festival stretch]
const ENROL = [['130', '45', '1.2'], ['155', '60', '1.05'], ['170', '40', '0.95']];
const TEST = [['145', '52', '1.1', false], ['160', '48', '1.0', false], ['150', '50', '1.0', true]];
const NEAR = ['150', '50', '1.0'];

function clip(name, [engine, voice], [wpm, pitch, stretch], text, noisy) {
  const out = path.join(tmp, `${name}.wav`);
  if (existsSync(out)) return out;
  const raw = path.join(tmp, 'raw.wav');
  if (engine === 'espeak') run('espeak-ng', ['-v', voice, '-s', wpm, '-p', pitch, '-w', raw, text]);
  else if (engine === 'flite') run('flite', ['-voice', voice, '--setf', `duration_stretch=${stretch}`, '-t', text, '-o', raw]);
  else {
    writeFileSync(`${raw}.txt`, text);
    run('text2wave', ['-eval', `(voice_${voice})`, '-eval', `(Parameter.set 'Duration_Stretch ${stretch})`, '-o', raw, `${raw}.txt`]);
  }
  run('sox', ['-R', raw, ...FMT, path.join(tmp, 'speech.wav'), 'norm', '-3']);
  run('sox', ['-R', '-n', ...FMT, path.join(tmp, 'lead.wav'), 'synth', '2.4', 'pinknoise', 'vol', '0.002']);
  run('sox', ['-R', '-n', ...FMT, path.join(tmp, 'tail.wav'), 'synth', '0.8', 'pinknoise', 'vol', '0.002']);
  const dry = noisy ? path.join(tmp, 'dry.wav') : out;
  run('sox', ['-R', path.join(tmp, 'lead.wav'), path.join(tmp, 'speech.wav'), path.join(tmp, 'tail.wav'), ...FMT, dry]);
  if (noisy) {
    const secs = run('soxi', ['-D', dry]).toString().trim();
    run('sox', ['-R', '-n', ...FMT, path.join(tmp, 'noise.wav'), 'synth', secs, 'pinknoise', 'vol', '0.05']);
    run('sox', ['-R', '-m', dry, path.join(tmp, 'noise.wav'), ...FMT, out]);
  }
  return out;
}

const manifest = await loadManifest(path.join(root, 'models', 'manifest.json'));
const words = Object.keys(WORDS);
const models = await loadWakeModels(manifest, words);
const scorer = await WakeScorer.create(models.features, models.classifiers, { phases: 4 });
const negatives = await genericNegatives(manifest);
const pcm = async (f) => (await readWavFile(f)).pcm16k;

/** Frames of a clip for word w as the detector sees them: base score, warm, and the best phase's window when base ≥ 0.05. */
async function judged(file, w) {
  scorer.reset();
  const frames = [];
  await scorer.feed(await pcm(file), (f) => {
    if (!f.warm[w]) return;
    const base = f.scores[w];
    let window;
    if (base >= 0.05 && !f.gated[w]) {
      window = new Float32Array(16 * 96);
      scorer.copyWindow(w, f.bestPhase[w], window);
    }
    frames.push({ base, window });
  });
  return frames;
}
const fires = (frames, model, gate, threshold = 0.5) =>
  frames.some((f) => (model && f.base >= gate && f.window ? verifierProbability(model, f.window) : f.base) >= threshold);

console.error(`verifier-study: synthesising and scoring in ${tmp}`);
const data = {};
for (const [wi, word] of words.entries()) {
  const spec = WORDS[word];
  data[word] = {};
  const near = [];
  for (const [vi, voice] of VOICES.entries()) {
    for (const [ni, text] of spec.near.entries()) near.push({ voice: vi, frames: await judged(clip(`n-${word}-${vi}-${ni}`, voice, NEAR, text, false), wi) });
  }
  for (const [vi, voice] of VOICES.entries()) {
    const enrol = [];
    for (const [ei, e] of ENROL.entries()) enrol.push(await featuresOfEnrolmentClip(models, await pcm(clip(`e-${word}-${vi}-${ei}`, voice, e, spec.phrase, false)), word));
    const tests = [];
    for (const [ti, t] of TEST.entries()) tests.push(await judged(clip(`t-${word}-${vi}-${ti}`, voice, t, spec.phrase, t[3]), wi));
    data[word][vi] = { enrol, tests };
  }
  data[word].near = near;
}

const CONFIGS = [
  { positiveShare: 0.5, l2: 0.05 },
  { positiveShare: 0.5, l2: 0.005 },
  { positiveShare: 0.2, l2: 0.02 },
  { positiveShare: 0.2, l2: 0.005 },
  { positiveShare: 0.1, l2: 0.02 },
  { positiveShare: 0.1, l2: 0.005 },
  { positiveShare: 0.05, l2: 0.005 },
];
const gate = 0.1;
console.log('config                     | own misses (of 3 per voice) | near-miss fires base → verified | other voices accepted | cvRecall mean | train s');
let baseMisses = 0;
let baseNear = 0;
let nearTotal = 0;
for (const word of words) {
  for (let vi = 0; vi < VOICES.length; vi++) baseMisses += data[word][vi].tests.filter((t) => !fires(t, undefined, gate)).length;
  baseNear += data[word].near.filter((n) => fires(n.frames, undefined, gate)).length * VOICES.length;
  nearTotal += data[word].near.length * VOICES.length;
}
console.log(`base (no verifier)         | ${baseMisses} of ${words.length * VOICES.length * 3} | ${baseNear} of ${nearTotal} | — | — | —`);
for (const cfg of CONFIGS) {
  let misses = 0;
  let near = 0;
  let others = 0;
  let othersTotal = 0;
  let cv = 0;
  let ms = 0;
  let models = 0;
  for (const word of words) {
    for (let vi = 0; vi < VOICES.length; vi++) {
      const { enrol, tests } = data[word][vi];
      const positives = [];
      const positiveClip = [];
      enrol.forEach((e, c) => e.windows.forEach((w) => (positives.push(w), positiveClip.push(c))));
      if (new Set(positiveClip).size < 2) continue;
      const t0 = performance.now();
      const model = trainVerifier({ positives, positiveClip, negatives }, { wakeword: word, now: 0, gate, ...cfg });
      ms += performance.now() - t0;
      models++;
      cv += model.cvRecall;
      misses += tests.filter((t) => !fires(t, model, gate)).length;
      near += data[word].near.filter((n) => fires(n.frames, model, gate)).length;
      for (let ov = 0; ov < VOICES.length; ov++) {
        if (ov === vi) continue;
        othersTotal += 3;
        others += data[word][ov].tests.filter((t) => fires(t, model, gate)).length;
      }
    }
  }
  console.log(
    `share ${String(cfg.positiveShare).padEnd(4)} l2 ${String(cfg.l2).padEnd(5)}     | ${misses} of ${models * 3} | ${baseNear} → ${near} of ${nearTotal} | ${others} of ${othersTotal} | ${(cv / models).toFixed(3)} | ${(ms / models / 1000).toFixed(2)}`,
  );
}
if (keepAt < 0) rmSync(tmp, { recursive: true, force: true });
