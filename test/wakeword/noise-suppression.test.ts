/**
 * Noise suppression in front of the wake-word features (issue 13 §6): speex attenuates stationary noise and
 * leaves speech; it is deterministic and `reset` really starts again; it engages only while the room's noise
 * floor calls for it (so a quiet room scores exactly as without it); any chunk size gives the same scores;
 * and the point of it — a wake phrase in pink noise that the loop misses is heard with it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/index.js';
import { loadManifest, type ModelManifest } from '../../src/models/index.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import {
  loadWakeModels,
  DEFAULT_NOISE_SUPPRESSION_DB,
  featuresOfEnrolmentClip,
  NoiseFloor,
  NOISE_FLOOR_DEFAULTS,
  NoiseSuppressor,
  pinkNoise,
  rmsOf,
  WakeDetector,
  withPinkNoise,
  type LoadedWakeModels,
} from '../../src/wakeword/index.js';
import { FIXTURES, MANIFEST, readPcm, ROOT, rng } from './helpers.js';

const CHUNK = 1280;
const db = (a: number, b: number) => 20 * Math.log10(a / b);

/** `seconds` of pink noise at `rms` (int16 units), seeded. */
function pinkAt(seconds: number, rms: number, seed: number): Int16Array {
  const x = pinkNoise(seconds * 16000, seed);
  const r = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  return Int16Array.from(x, (v) => Math.round((v / r) * rms));
}

async function suppressAll(ns: NoiseSuppressor, pcm: Int16Array): Promise<Int16Array> {
  const out = pcm.slice(0, pcm.length - (pcm.length % CHUNK));
  for (let at = 0; at < out.length; at += CHUNK) ns.processChunk(out.subarray(at, at + CHUNK));
  return out;
}

describe('NoiseFloor (pure)', () => {
  it('engages once the quietest chunk of the window reaches engageRms, and releases below releaseRms', () => {
    const f = new NoiseFloor({ engageRms: 100, releaseRms: 50, windowChunks: 3 });
    expect([80, 120, 120].map((r) => f.update(r))).toEqual([false, false, false]); // 80 still in the window
    expect(f.update(120)).toBe(true); // the window is 120, 120, 120
    expect(f.floorRms).toBe(120);
    // Speech on top of noise does not move the floor; a pause in speech above releaseRms keeps it engaged.
    expect([3000, 60, 4000].map((r) => f.update(r))).toEqual([true, true, true]);
    expect(f.update(40)).toBe(false); // floor 40 < 50
    expect(f.update(70)).toBe(false); // floor still 40 (in the window), and 70 < 100 anyway
    f.reset();
    expect(f.engaged).toBe(false);
    expect(f.floorRms).toBe(0);
  });

  it('validates its options beside its defaults', () => {
    expect(NOISE_FLOOR_DEFAULTS.releaseRms).toBeLessThanOrEqual(NOISE_FLOOR_DEFAULTS.engageRms);
    for (const bad of [{ engageRms: 0 }, { releaseRms: 200 }, { releaseRms: 0 }, { windowChunks: 0 }, { windowChunks: 2.5 }]) {
      let err: unknown;
      try {
        new NoiseFloor(bad);
      } catch (e) {
        err = e;
      }
      expect(isEarshotError(err) && err.code === 'BAD_ARGUMENT', JSON.stringify(bad)).toBe(true);
      expect((err as Error).message).toContain(Object.keys(bad)[0]);
    }
  });

  it('rmsOf', () => {
    expect(rmsOf(Int16Array.from([3, -3, 3, -3]))).toBe(3);
    expect(rmsOf(new Int16Array(0))).toBe(0);
  });
});

describe('NoiseSuppressor (speex)', () => {
  it('attenuates stationary pink noise and keeps speech', async () => {
    const ns = await NoiseSuppressor.create(20);
    const noise = pinkAt(4, 300, 5);
    const out = await suppressAll(ns, noise);
    // After 1 s of adaptation the noise is clearly down (6.5 dB measured: speex weighs each band by its SNR,
    // and pink noise carries most of its power in the few low bands that the limit alone does not decide).
    const tail = (x: Int16Array) => x.subarray(16000, 64000);
    expect(db(rmsOf(tail(noise)), rmsOf(tail(out)))).toBeGreaterThan(4);

    const speech = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav'));
    const quietRoom = new Int16Array(16000 + speech.length);
    quietRoom.set(speech, 16000);
    const kept = await suppressAll(await NoiseSuppressor.create(20), withPinkNoise(quietRoom, 20, 9));
    const phrase = (x: Int16Array) => x.subarray(16000, 16000 + speech.length - (speech.length % CHUNK));
    expect(Math.abs(db(rmsOf(phrase(kept)), rmsOf(phrase(quietRoom))))).toBeLessThan(3);
  });

  it('is deterministic, and reset starts again exactly like a fresh suppressor', async () => {
    const noisy = pinkAt(2, 500, 6);
    const a = await NoiseSuppressor.create(15);
    const first = await suppressAll(a, noisy);
    a.reset();
    const again = await suppressAll(a, noisy);
    const fresh = await suppressAll(await NoiseSuppressor.create(15), noisy);
    expect(Buffer.from(again.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    expect(Buffer.from(fresh.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    expect(Buffer.from(first.buffer).equals(Buffer.from(noisy.buffer))).toBe(false);
  });

  it('a suppressor that is garbage-collected frees its ~25 KB of the shared WebAssembly heap', () => {
    // Detectors are rebuilt (owner switch, enrolment) without a close: 3000 suppressors used to grow the heap by
    // ~70 MB. Built code in a child process, because only `node --expose-gc` can force the collection.
    const wake = pathToFileURL(path.join(ROOT, 'dist', 'wakeword', 'index.js')).href;
    const script = `const { NoiseSuppressor } = await import(${JSON.stringify(wake)});
      let first = 0, last = 0;
      for (let i = 0; i < 3000; i++) {
        const n = await NoiseSuppressor.create(20);
        const bytes = n.h.module.HEAP16.buffer.byteLength; // the handle holding the heap (private: a test may look)
        if (i === 0) first = bytes;
        last = bytes;
        if (i % 100 === 99) { globalThis.gc(); await new Promise((r) => setTimeout(r, 0)); }
      }
      console.log(JSON.stringify({ first, last }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n').pop()!) as { first: number; last: number };
    expect(out.last - out.first).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);

  it('the device default is the suppressor default', () => {
    expect(DEFAULT_CONFIG.wake.noiseSuppressionDb).toBe(DEFAULT_NOISE_SUPPRESSION_DB);
  });

  it('refuses limits outside 1–60 dB and chunks that are not 80 ms, by name', async () => {
    for (const bad of [0, 61, Number.NaN]) {
      const err = await NoiseSuppressor.create(bad).catch((e: unknown) => e);
      expect(isEarshotError(err) && err.code === 'BAD_ARGUMENT').toBe(true);
      expect((err as Error).message).toContain('noiseSuppressionDb');
    }
    const ns = await NoiseSuppressor.create(15);
    expect(() => ns.processChunk(new Int16Array(1000))).toThrow(/1280/);
  });
});

describe('WakeDetector with noise suppression', () => {
  let manifest: ModelManifest;
  let models: LoadedWakeModels;
  beforeAll(async () => {
    manifest = await loadManifest(MANIFEST);
    models = await loadWakeModels(manifest, ['alexa', 'hey_jarvis'], 4);
  }, 60_000);

  async function trace(pcm: Int16Array, ns: number, chunking: () => number = () => pcm.length): Promise<{ scores: number[][]; suppressed: number }> {
    const d = await WakeDetector.create({ words: ['alexa', 'hey_jarvis'], models, manifest, ...(ns > 0 ? { noiseSuppressionDb: ns } : {}) });
    const scores: number[][] = [];
    for (let at = 0; at < pcm.length; ) {
      const n = Math.min(pcm.length - at, Math.max(1, chunking()));
      await d.push(pcm.subarray(at, at + n), (f) => scores.push(Array.from(f.scores)));
      at += n;
    }
    return { scores, suppressed: d.scorer.suppressedChunks };
  }

  /** 3 s of room before the phrase, as a device hears it. */
  async function inRoom(fixture: string): Promise<Int16Array> {
    const speech = await readPcm(path.join(FIXTURES, 'wake', fixture));
    const pcm = new Int16Array(48000 + speech.length);
    pcm.set(speech, 48000);
    return pcm;
  }

  it('in a quiet room it never engages: scores are exactly those without it', async () => {
    const quiet = await inRoom('hey_jarvis__en-us.wav');
    const [off, on] = [await trace(quiet, 0), await trace(quiet, 20)];
    expect(on.suppressed).toBe(0);
    expect(on.scores).toEqual(off.scores);
  }, 60_000);

  it('in pink noise at 10 dB it engages and hears an "alexa" that the loop without it misses', async () => {
    // One phrase of the corpus's hardest background; README "Noise suppression" has the measured rates.
    const noisy = withPinkNoise(await inRoom('alexa__en-us.wav'), 10, 3);
    const [off, on] = [await trace(noisy, 0), await trace(noisy, 20)];
    const best = (t: { scores: number[][] }) => Math.max(...t.scores.map((s) => s[0]!));
    expect(on.suppressed).toBeGreaterThan(on.scores.length - 3);
    expect(best(off)).toBeLessThan(0.5);
    expect(best(on)).toBeGreaterThan(0.9);
  }, 60_000);

  it('the quiet gate hears the suppressed audio, and what it lets through is scored exactly as ungated', async () => {
    // White noise at −45 dBFS (above the engage floor), which speex takes down below the gate, then a phrase.
    const speech = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav'));
    const pcm = new Int16Array(16000 * 6 + speech.length);
    pcm.set(speech, 16000 * 6);
    const r = rng(8);
    const noise = Int16Array.from({ length: pcm.length }, () => Math.round((r() - 0.5) * 184 * Math.sqrt(12)));
    const mixed = Int16Array.from(pcm, (v, i) => Math.max(-32768, Math.min(32767, v + noise[i]!)));
    const run = async (quietRms: number | null) => {
      const d = await WakeDetector.create({ words: ['alexa', 'hey_jarvis'], models, manifest, noiseSuppressionDb: 20, quietRms });
      const frames: { s: number[]; gated: boolean[] }[] = [];
      await d.push(mixed, (f) => frames.push({ s: Array.from(f.scores), gated: [...f.gated] }));
      return frames;
    };
    const [gated, ungated] = [await run(58), await run(null)];
    expect(gated.some((f) => f.gated[1])).toBe(true); // the suppressed noise was quiet enough to skip
    let compared = 0;
    gated.forEach((f, i) => {
      if (f.gated[1]) return;
      compared++;
      expect(f.s[1]).toBeCloseTo(ungated[i]!.s[1]!, 4);
    });
    expect(compared).toBeGreaterThan(10);
    expect(Math.max(...gated.map((f) => f.s[1]!))).toBeGreaterThan(0.5);
  }, 60_000);

  it('gives the same scores for any chunk size', async () => {
    const noisy = withPinkNoise(await inRoom('hey_jarvis__en-gb.wav'), 10, 4);
    const whole = await trace(noisy, 20);
    const r = rng(11);
    const random = await trace(noisy, 20, () => Math.floor(r() * 3000));
    expect(random.scores.length).toBe(whole.scores.length);
    for (let i = 0; i < whole.scores.length; i++) for (let w = 0; w < 2; w++) expect(random.scores[i]![w]).toBeCloseTo(whole.scores[i]![w]!, 6);
  }, 60_000);
});

describe('enrolment hears clips as the detector will', () => {
  it("a noisy copy's windows are the suppressed ones; a quiet-room clip's are unchanged", async () => {
    const manifest = await loadManifest(MANIFEST);
    const models = await loadWakeModels(manifest, ['hey_jarvis'], 1);
    const clip = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav'));
    const same = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((w, i) => w.every((v, j) => v === b[i]![j]));
    const [quietOff, quietOn] = [await featuresOfEnrolmentClip(models, clip, 'hey_jarvis'), await featuresOfEnrolmentClip(models, clip, 'hey_jarvis', { noiseSuppressionDb: 20 })];
    expect(quietOn.windows.length).toBeGreaterThan(0);
    expect(same(quietOn.windows, quietOff.windows)).toBe(true);
    const noisy = withPinkNoise(clip, 10, 21);
    const [noisyOff, noisyOn] = [await featuresOfEnrolmentClip(models, noisy, 'hey_jarvis'), await featuresOfEnrolmentClip(models, noisy, 'hey_jarvis', { noiseSuppressionDb: 20 })];
    expect(noisyOn.windows.length).toBeGreaterThan(0);
    expect(same(noisyOn.windows, noisyOff.windows)).toBe(false);
  }, 60_000);
});
