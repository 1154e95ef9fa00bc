/**
 * Household verifier benchmark (issue 13 §3, §6): what a verifier costs per frame when the detector consults
 * it (one probability on a 16 × 96 window, the worst case of a word whose base score passes the gate on
 * every frame), and how long training takes on the device for a realistic set (3 enrolment clips, the
 * shipped generic negatives, leave-one-clip-out cross-validation). Synthetic speech only; measurements only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readWavFile } from '../audio/index.js';
import { DEFAULT_MANIFEST, loadManifest } from '../models/index.js';
import { genericNegatives, trainVerifier, verifierProbability } from '../verifier/index.js';
import { featuresOfEnrolmentClip, loadWakeModels } from '../wakeword/index.js';

const FMT = ['-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer'];

/** 3 "hey jarvis" clips by espeak-ng en-us (2.4 s of quiet room first), cached under the OS temp dir. */
function enrolmentClips(log: (l: string) => void): string[] {
  const dir = path.join(os.tmpdir(), 'earshot-bench-cache');
  mkdirSync(dir, { recursive: true });
  return [
    ['130', '45'],
    ['155', '60'],
    ['170', '40'],
  ].map(([wpm, pitch]) => {
    const out = path.join(dir, `enrol-hey_jarvis-en-us-${wpm}-${pitch}.wav`);
    if (existsSync(out)) return out;
    log(`bench verifier: synthesising ${out}`);
    const tmp = `${out}.${process.pid}`;
    execFileSync('espeak-ng', ['-v', 'en-us', '-s', wpm!, '-p', pitch!, '-w', `${tmp}-raw.wav`, 'hey jarvis']);
    execFileSync('sox', ['-R', `${tmp}-raw.wav`, ...FMT, `${tmp}-phrase.wav`, 'norm', '-3']);
    execFileSync('sox', ['-R', '-n', ...FMT, `${tmp}-lead.wav`, 'synth', '2.4', 'pinknoise', 'vol', '0.002']);
    execFileSync('sox', ['-R', `${tmp}-lead.wav`, `${tmp}-phrase.wav`, ...FMT, `${tmp}.wav`]);
    for (const f of ['-raw.wav', '-phrase.wav', '-lead.wav']) execFileSync('rm', ['-f', `${tmp}${f}`]);
    renameSync(`${tmp}.wav`, out);
    return out;
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function benchVerifier(opts: { log?: (line: string) => void; trainRounds?: number } = {}): Promise<Record<string, number>> {
  const log = opts.log ?? (() => {});
  const manifest = await loadManifest(DEFAULT_MANIFEST);
  const models = await loadWakeModels(manifest, ['hey_jarvis']);
  const negatives = await genericNegatives(manifest);
  const positives: Float32Array[] = [];
  const positiveClip: number[] = [];
  for (const [i, file] of enrolmentClips(log).entries()) {
    const e = await featuresOfEnrolmentClip(models, (await readWavFile(file)).pcm16k, 'hey_jarvis');
    for (const w of e.windows) {
      positives.push(w);
      positiveClip.push(i);
    }
  }
  const res: Record<string, number> = {};
  res['wake.verifierTrainPositives'] = positives.length;
  res['wake.verifierTrainNegatives'] = negatives.length;
  const times: number[] = [];
  let model = undefined as ReturnType<typeof trainVerifier> | undefined;
  for (let r = 0; r < (opts.trainRounds ?? 3); r++) {
    const t0 = performance.now();
    model = trainVerifier({ positives, positiveClip, negatives }, { wakeword: 'hey_jarvis', now: 0 });
    times.push(performance.now() - t0);
  }
  res['wake.verifierTrainMs'] = Math.round(median(times));
  res['wake.verifierCvRecall'] = r3(model!.cvRecall);
  log(`bench verifier: training ${positives.length} positives × ${negatives.length} negatives (3-fold CV included): ${res['wake.verifierTrainMs']} ms`);
  // Per frame: one probability per consulted word. Rounds of calls over real windows; the median round counts.
  const calls = 20_000;
  const rounds: number[] = [];
  let sink = 0;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) sink += verifierProbability(model!, negatives[i % negatives.length]!);
    rounds.push((performance.now() - t0) / calls);
  }
  if (!Number.isFinite(sink)) throw new Error('verifier bench: non-finite probability');
  res['wake.verifierMsPerFrame'] = Math.round(median(rounds) * 1e5) / 1e5;
  log(`bench verifier: ${res['wake.verifierMsPerFrame']} ms per consulted frame and word`);
  return res;
}
