#!/usr/bin/env node
// CPU time per call of the 1-phase wake frame's three model calls (mel, one streaming embedding step, the
// hey_jarvis classifier), each alone and in the loop's order — the mel both as the device computes it (its FFT
// form, src/wakeword/fft-mel-spectrogram.ts) and as the ONNX model — interleaved in rounds in ONE process (a change
// of load hits every variant alike; medians of the rounds). Shows what calling several sessions in turn costs
// beyond their calls alone (each session's weights evicting the others' from the cache).
//
//   npm run build && node scripts/frame-calls-cpu.mjs [ROUNDS] [--step-model OTHER.onnx]
//
// --step-model adds a step of another streaming model file (e.g. an older build's models/embedding_streaming.onnx,
// loaded without a pin check: a measurement, not the detector). Random inputs; nothing is recorded.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(path.join(root, 'dist', 'wakeword', 'index.js'))) {
  console.error('frame-calls-cpu: build first (npm run build)');
  process.exit(2);
}
const { loadManifest, modelOfKind, findModel, openModel, ort, SESSION_OPTIONS } = await import(pathToFileURL(path.join(root, 'dist', 'models', 'index.js')).href);
const args = process.argv.slice(2);
const other = args.indexOf('--step-model');
const rounds = Number(args.find((a, i) => /^\d+$/.test(a) && (other < 0 || i !== other + 1)) ?? 20);
const m = await loadManifest(path.join(root, 'models', 'manifest.json'));
const [mel, step, step2, cls, batched] = await Promise.all([
  openModel(m, modelOfKind(m, 'mel')),
  openModel(m, modelOfKind(m, 'embedding-stream')),
  openModel(m, modelOfKind(m, 'embedding-stream')),
  openModel(m, findModel(m, 'hey_jarvis')),
  openModel(m, findModel(m, 'hey_jarvis_batched')),
]);
const { loadMelSpectrogram } = await import(pathToFileURL(path.join(root, 'dist', 'wakeword', 'index.js')).href);
const fftMel = await loadMelSpectrogram(m);
const otherStep = other >= 0 ? await ort.InferenceSession.create(readFileSync(args[other + 1]), SESSION_OPTIONS) : undefined;

let seed = 7;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const tensor = (n, dims, f = () => rnd() * 4 - 1) => new ort.Tensor('float32', Float32Array.from({ length: n }, f), dims);
/** A step closure over its own feeds: states start at zero and are fed back, as EmbeddingStepper does. */
const stepper = (session) => {
  const feeds = { [session.inputNames[0]]: tensor(320, [1, 10, 32, 1]) };
  const states = session.inputNames.slice(1);
  for (const name of states) {
    const dims = session.inputMetadata.find((x) => x.name === name).shape.slice(1);
    feeds[name] = tensor(dims.reduce((a, b) => a * b, 1), [1, ...dims], () => 0);
  }
  return async () => {
    const out = await session.run(feeds);
    states.forEach((name, i) => (feeds[name] = out[session.outputNames[i + 1]]));
  };
};
const melFeeds = { [mel.inputNames[0]]: tensor(1760, [1, 1760], () => (rnd() - 0.5) * 8000) };
const melSamples = melFeeds[mel.inputNames[0]].data;
const window = tensor(16 * 96, [1, 16, 96]);
const clsFeeds = { [cls.inputNames[0]]: window };
const batchedFeeds = { [batched.inputNames[0]]: window };
const stepA = stepper(step);
const stepB = stepper(step);
const stepC = stepper(step2);
const variants = {
  'mel alone (ONNX)': () => mel.run(melFeeds),
  'mel alone (FFT)': async () => fftMel.run(melSamples),
  'step alone': stepA,
  'classifier alone': () => cls.run(clsFeeds),
  'batched classifier, batch 1': () => batched.run(batchedFeeds),
  'frame: FFT mel → step → classifier': async () => {
    fftMel.run(melSamples);
    await stepA();
    await cls.run(clsFeeds);
  },
  'frame: ONNX mel → step → classifier': async () => {
    await mel.run(melFeeds);
    await stepA();
    await cls.run(clsFeeds);
  },
  'ONNX mel → step': async () => {
    await mel.run(melFeeds);
    await stepA();
  },
  'two steps, one session': async () => {
    await stepA();
    await stepB();
  },
  'two steps, two sessions (same file)': async () => {
    await stepA();
    await stepC();
  },
  ...(otherStep ? { 'step of --step-model': stepper(otherStep) } : {}),
};
const calls = 100;
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const f of Object.values(variants)) for (let i = 0; i < 30; i++) await f();
for (let r = 0; r < rounds; r++) {
  const keys = Object.keys(variants);
  // Rotate the order every round.
  for (const k of [...keys.slice(r % keys.length), ...keys.slice(0, r % keys.length)]) {
    const c = process.cpuUsage();
    for (let i = 0; i < calls; i++) await variants[k]();
    const d = process.cpuUsage(c);
    times[k].push((d.user + d.system) / 1000 / calls);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [k, v] of Object.entries(times)) console.log(`${k.padEnd(36)} ${median(v).toFixed(4)} ms CPU per call (median of ${v.length} rounds of ${calls})`);
