#!/usr/bin/env node
// Makes models/verifier_negatives.bin: the generic negative windows the household verifier trains against
// (issue 13 §3), from the project's own synthetic negative audio, and pins it in models/manifest.json.
//
//   npm run build && node scripts/make-verifier-negatives.mjs [--check] [--keep DIR]
//
// Audio (never committed, made in a temporary folder): near-miss phrases for the three wake words, prose
// (scripts/verifier-negatives-prose.txt), room noise and tones, spoken by the NON-held-out voices only
// (issue 13: espeak-ng en-us, en-gb, en+f3, en-us+m7; flite kal, awb, slt; festival kal_diphone,
// cmu_us_slt_arctic_hts; held out and never used here: espeak-ng en-gb-scotland, en-029, flite rms,
// festival ked_diphone). Speeds are 135/175 wpm (espeak-ng) and stretch 0.9/1.15 (flite, festival), never
// the 150 wpm / 1.0 of the test fixtures, and the test fixtures' near-miss phrases ("hey travis",
// "hey service", "hey harvest") are not among the phrases, so the veto tests are not trained on.
//
// Features: every clip goes through the real feature stream (WakeScorer, reference phase, no quiet gate) and
// the classifier windows (16 embeddings × 96) of selected frames are kept: near misses around the frame
// where a base model scores highest (where the detector consults a verifier), prose at its hardest frames
// and two frames in every 12, noise and tones every 10th frame. Consecutive windows are stored as runs of
// embeddings (float16), see src/verifier/generic-negatives.ts.
//
// Deterministic: espeak-ng/flite/festival output is fixed for a version, sox runs with -R, ONNX Runtime on
// the CPU is deterministic for a given build, and values are rounded to float16. With --check it writes
// nothing and exits 1 unless the result has the committed file's and the manifest's SHA-256.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SCRIPT = 'scripts/make-verifier-negatives.mjs';
// 2: the mel rows come from the FFT form of the mel model (src/wakeword/fft-mel-spectrogram.ts), as on the device.
export const SCRIPT_VERSION = '2';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (...p) => pathToFileURL(path.join(root, 'dist', ...p)).href;
if (!existsSync(path.join(root, 'dist', 'verifier', 'index.js'))) {
  console.error('make-verifier-negatives: build first (npm run build)');
  process.exit(2);
}
const { loadManifest, findModel, modelOfKind } = await import(dist('models', 'index.js'));
const { loadWakeModels, WakeScorer } = await import(dist('wakeword', 'index.js'));
const { readWavFile } = await import(dist('audio', 'index.js'));
const { encodeNegativeRuns, decodeNegativeRuns, windowsOfRuns } = await import(dist('verifier', 'index.js'));

const args = process.argv.slice(2);
const check = args.includes('--check');
const keepAt = args.indexOf('--keep');
const WORDS = ['hey_jarvis', 'alexa', 'hey_mycroft'];
const WINDOW = 16;
const DIM = 96;
const OUT_NAME = 'verifier_negatives.bin';

/** voice: [engine, name, slow, fast] */
const VOICES = [
  ['espeak', 'en-us', '135', '175'],
  ['espeak', 'en-gb', '135', '175'],
  ['espeak', 'en+f3', '135', '175'],
  ['espeak', 'en-us+m7', '135', '175'],
  ['flite', 'kal', '1.15', '0.9'],
  ['flite', 'awb', '1.15', '0.9'],
  ['flite', 'slt', '1.15', '0.9'],
  ['festival', 'kal_diphone', '1.15', '0.9'],
  ['festival', 'cmu_us_slt_arctic_hts', '1.15', '0.9'],
];
const NEAR_MISSES = [
  'hey jar', 'hey marvis', 'hey garvey', 'jarvis', 'hey jarrett', 'hey carmen',
  'a lexus', 'alexis', 'hey alex', 'election', 'lexa', 'alexander',
  'hey microsoft', 'hey my cross', 'my croft', 'hey mike', 'hey minecraft', 'hey micro',
];

const tmp = keepAt >= 0 ? path.resolve(args[keepAt + 1]) : mkdtempSync(path.join(os.tmpdir(), 'earshot-negatives-'));
mkdirSync(tmp, { recursive: true });
const FMT = ['-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer'];
const run = (cmd, a, input) => execFileSync(cmd, a, { stdio: ['pipe', 'pipe', 'pipe'], input });

function speak(raw, [engine, voice], speed, text) {
  if (engine === 'espeak') run('espeak-ng', ['-v', voice, '-s', speed, '-w', raw, text]);
  else if (engine === 'flite') run('flite', ['-voice', voice, '--setf', `duration_stretch=${speed}`, '-t', text, '-o', raw]);
  else {
    const txt = `${raw}.txt`;
    writeFileSync(txt, text);
    run('text2wave', ['-eval', `(voice_${voice})`, '-eval', `(Parameter.set 'Duration_Stretch ${speed})`, '-o', raw, txt]);
  }
}

/** A clip: quiet room lead-in (the classifier needs ~2 s to warm), the speech, a short tail; optional pink noise at 20 dB SNR. */
function speechClip(name, voice, speed, text, noisy) {
  const out = path.join(tmp, `${name}.wav`);
  const raw = path.join(tmp, 'raw.wav');
  speak(raw, voice, speed, text);
  run('sox', ['-R', raw, ...FMT, path.join(tmp, 'speech.wav'), 'norm', '-3']);
  run('sox', ['-R', '-n', ...FMT, path.join(tmp, 'lead.wav'), 'synth', '2.4', 'pinknoise', 'vol', '0.002']);
  run('sox', ['-R', '-n', ...FMT, path.join(tmp, 'tail.wav'), 'synth', '0.6', 'pinknoise', 'vol', '0.002']);
  const dry = path.join(tmp, 'dry.wav');
  run('sox', ['-R', path.join(tmp, 'lead.wav'), path.join(tmp, 'speech.wav'), path.join(tmp, 'tail.wav'), ...FMT, dry]);
  if (!noisy) run('sox', ['-R', dry, out]);
  else {
    const secs = run('soxi', ['-D', dry]).toString().trim();
    const noise = path.join(tmp, 'noise.wav');
    // Speech at −3 dBFS peak; pink noise at vol 0.05 is about 20 dB below the speech's level.
    run('sox', ['-R', '-n', ...FMT, noise, 'synth', secs, 'pinknoise', 'vol', '0.05']);
    run('sox', ['-R', '-m', dry, noise, ...FMT, out]);
  }
  return out;
}

function synthClip(name, synthArgs, secs) {
  const out = path.join(tmp, `${name}.wav`);
  run('sox', ['-R', '-n', ...FMT, out, 'synth', String(secs), ...synthArgs]);
  return out;
}

// ---- the clips ------------------------------------------------------------------------------------------
const clips = [];
let k = 0;
for (const phrase of NEAR_MISSES) {
  VOICES.forEach((voice, v) => {
    // One speed and one noise condition per (phrase, voice), alternating, to keep the set small and varied.
    const speed = (k + v) % 2 === 0 ? voice[2] : voice[3];
    const noisy = (k + v) % 3 === 0;
    clips.push({ kind: 'nearmiss', file: speechClip(`near-${k}-${v}`, voice, speed, phrase, noisy) });
  });
  k++;
}
const prose = readFileSync(path.join(root, 'scripts', 'verifier-negatives-prose.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
VOICES.forEach((voice, v) => {
  const text = prose.filter((_, i) => i % VOICES.length === v).join(' ');
  clips.push({ kind: 'prose', file: speechClip(`prose-${v}`, voice, v % 2 === 0 ? voice[2] : voice[3], text, v % 3 === 0) });
});
const NOISES = [
  ['pinknoise', 'vol', '0.002'], ['pinknoise', 'vol', '0.02'], ['pinknoise', 'vol', '0.1'],
  ['brownnoise', 'vol', '0.02'], ['brownnoise', 'vol', '0.2'], ['whitenoise', 'vol', '0.01'], ['whitenoise', 'vol', '0.05'],
  ['sine', '440', 'vol', '0.3'], ['sine', '1000', 'vol', '0.25'], ['sine', '200-4000', 'vol', '0.3'], ['square', '880', 'vol', '0.05'],
];
NOISES.forEach((n, i) => clips.push({ kind: 'noise', file: synthClip(`noise-${i}`, n, 6) }));

// ---- features -------------------------------------------------------------------------------------------
const manifest = await loadManifest(path.join(root, 'models', 'manifest.json'));
const models = await loadWakeModels(manifest, WORDS);
const scorer = await WakeScorer.create(models.features, models.classifiers, { phases: 1 });

/** Per warm frame: its window and the highest base score over the words. */
async function framesOf(file) {
  scorer.reset();
  const pcm = (await readWavFile(file)).pcm16k;
  const frames = [];
  await scorer.feed(pcm, (f) => {
    if (!f.warm.every(Boolean)) return;
    const window = new Float32Array(WINDOW * DIM);
    scorer.copyWindow(0, 0, window);
    frames.push({ index: f.index, score: Math.max(...f.scores), window });
  });
  return frames;
}

function select(kind, frames) {
  if (kind === 'nearmiss') {
    let peak = 0;
    frames.forEach((f, i) => (f.score > frames[peak].score ? (peak = i) : 0));
    return frames.filter((_, i) => i >= peak - 5 && i <= peak + 3);
  }
  // Pairs of consecutive frames every 12 (a pair costs 17 embeddings, two single frames 32), plus the hardest.
  if (kind === 'prose') return frames.filter((f, i) => f.score >= 0.05 || i % 12 < 2);
  return frames.filter((_, i) => i % 10 === 0);
}

/** Consecutive frames → one run of embeddings: the first window, then each next frame's newest embedding. */
function runsOf(frames) {
  const runs = [];
  let cur = [];
  const flush = () => {
    if (cur.length === 0) return;
    const run = new Float32Array((WINDOW + cur.length - 1) * DIM);
    run.set(cur[0].window, 0);
    for (let i = 1; i < cur.length; i++) run.set(cur[i].window.subarray((WINDOW - 1) * DIM), (WINDOW - 1 + i) * DIM);
    runs.push(run);
    cur = [];
  };
  for (const f of frames) {
    if (cur.length > 0 && f.index !== cur[cur.length - 1].index + 1) flush();
    cur.push(f);
  }
  flush();
  return runs;
}

const runs = [];
const counts = { nearmiss: 0, prose: 0, noise: 0 };
for (const c of clips) {
  const chosen = select(c.kind, await framesOf(c.file));
  counts[c.kind] += chosen.length;
  runs.push(...runsOf(chosen));
}
if (keepAt < 0) rmSync(tmp, { recursive: true, force: true });

const bytes = encodeNegativeRuns({ dim: DIM, window: WINDOW, stride: 1, runs });
const windows = windowsOfRuns(decodeNegativeRuns(bytes)).length;
const sha256 = createHash('sha256').update(bytes).digest('hex');
const pinned = (name) => findModel(manifest, name).sha256;
const madeWith = {
  script: SCRIPT,
  scriptVersion: SCRIPT_VERSION,
  models: {
    melspectrogram: modelOfKind(manifest, 'mel').sha256,
    embedding_streaming: modelOfKind(manifest, 'embedding-stream').sha256,
    ...Object.fromEntries(WORDS.map((w) => [w, pinned(w)])),
  },
};
const summary = `${windows} windows (near misses ${counts.nearmiss}, prose ${counts.prose}, noise and tones ${counts.noise}) in ${runs.length} runs, ${bytes.length} bytes, sha256 ${sha256}`;
const outFile = path.join(root, 'models', OUT_NAME);
const manifestFile = path.join(root, 'models', 'manifest.json');
if (check) {
  const entry = manifest.models.find((m) => m.kind === 'verifier-negatives');
  const file = existsSync(outFile) ? createHash('sha256').update(readFileSync(outFile)).digest('hex') : 'missing';
  const ok = entry?.sha256 === sha256 && file === sha256;
  console.log(`${ok ? 'ok' : 'MISMATCH'}: made ${summary}; committed file ${file}, manifest ${entry?.sha256 ?? 'no verifier-negatives entry'}`);
  process.exit(ok ? 0 : 1);
}
writeFileSync(outFile, bytes);
// The manifest keeps its hand-made layout: replace (or append) this one entry as a single block.
const entry = {
  name: 'verifier_negatives',
  kind: 'verifier-negatives',
  file: OUT_NAME,
  source: { type: 'local', path: OUT_NAME },
  sha256,
  bytes: bytes.length,
  licence: 'Apache-2.0',
  licenceNote: `Generic negative windows for the household verifier: ${windows} classifier input windows (16 embeddings × 96, float16) of Earshot's own synthetic negative audio (espeak-ng, flite, festival, sox; non-held-out voices only), made by ${SCRIPT}. Features of synthetic speech, no recording of anyone.`,
  madeWith,
  inputs: [],
  outputs: [],
};
const text = readFileSync(manifestFile, 'utf8');
const block = `    {\n${Object.entries(entry).map(([key, value]) => `      ${JSON.stringify(key)}: ${JSON.stringify(value)}`).join(',\n')}\n    }`;
const existing = /\n {4}\{\n {6}"name": "verifier_negatives",[\s\S]*?\n {4}\}/;
const next = existing.test(text) ? text.replace(existing, `\n${block}`) : text.replace(/\n {2}\]\n\}\s*$/, `,\n${block}\n  ]\n}\n`);
JSON.parse(next);
writeFileSync(manifestFile, next);
console.log(`wrote models/${OUT_NAME}: ${summary}`);
