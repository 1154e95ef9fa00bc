/**
 * The second look (src/wakeword/second-look.ts): the odd 4 of 8 phases, scored only while a base score is at
 * or above a gate. With gate 0 it is the 8-phase loop; with a gate, every frame is the 8-phase loop's where the
 * look is on and the 4-phase loop's where it is off, whatever the chunk sizes, resets and quiet stretches (the
 * catch-up after the look switches on is exact); the verifier reads the best of the 8 windows.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDING_DIM, FRAME_SAMPLES } from '../../src/wakeword/constants.js';
import { DetectorState, type WakeDetection } from '../../src/wakeword/detector-state.js';
import { loadManifest, type ModelManifest } from '../../src/models/index.js';
import { SecondLookGate } from '../../src/wakeword/second-look-gate.js';
import { DEFAULT_QUIET_RMS, loadWakeModels, WakeDetector, type LoadedWakeModels } from '../../src/wakeword/wake-detector.js';
import { WakeScorer, type WakeScorerOptions } from '../../src/wakeword/wake-scorer.js';
import { FIXTURES, MANIFEST, readPcm, audioOfPieces } from './helpers.js';

const WORDS = ['hey_jarvis', 'alexa', 'hey_mycroft'];
const TOLERANCE = 1e-4;

let manifest: ModelManifest;
let models: LoadedWakeModels;
const fixtures: { name: string; pcm: Int16Array }[] = [];

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
  models = await loadWakeModels(manifest, WORDS);
  // The wake fixtures and the verifier fixtures (enrolment clips and near misses: scores around the gate).
  for (const dir of ['wake', 'verifier/enrol', 'verifier/nearmiss']) {
    for (const f of readdirSync(path.join(FIXTURES, dir)).sort()) {
      if (f.endsWith('.wav')) fixtures.push({ name: `${dir}/${f}`, pcm: await readPcm(path.join(FIXTURES, dir, f)) });
    }
  }
}, 120_000);

interface Frame {
  scores: number[];
  warm: boolean[];
  gated: boolean[];
  look: boolean;
  bestPhase: number[];
}

interface Run {
  frames: Frame[];
  detections: WakeDetection[];
}

const scorer = (opts: WakeScorerOptions) => WakeScorer.create(models.features, models.classifiers, opts);

/** Feeds `pcm` in pieces (sizes from `chunk`), with resets before the given sample positions. */
async function run(s: WakeScorer, pcm: Int16Array, chunk: () => number = () => pcm.length, resetsAt: number[] = []): Promise<Run> {
  const state = new DetectorState({ words: WORDS.map((name) => ({ name, threshold: 0.5 })) });
  const out: Run = { frames: [], detections: [] };
  const resets = [...resetsAt].sort((a, b) => a - b);
  let pos = 0;
  let offsetMs = 0;
  while (pos < pcm.length) {
    const nextReset = resets.find((r) => r > pos) ?? pcm.length;
    const n = Math.min(chunk(), nextReset - pos);
    await s.feed(pcm.subarray(pos, pos + n), (f) => {
      out.frames.push({ scores: Array.from(f.scores), warm: [...f.warm], gated: [...f.gated], look: f.secondLook, bestPhase: Array.from(f.bestPhase) });
      for (const d of state.onFrame(f)) out.detections.push({ ...d, atMs: d.atMs + offsetMs });
    });
    pos += n;
    if (pos === nextReset && pos < pcm.length) {
      s.reset();
      state.reset();
      offsetMs = (pos * 1000) / 16000;
    }
  }
  return out;
}

/** The 8-phase frame's row offset for a second-look phase index (0..3: the stream's 0, 2, 4, 6; 4..7: 1, 3, 5, 7). */
const offsetOf = (phase: number) => (phase < 4 ? 2 * phase : 2 * (phase - 4) + 1);

/**
 * Every warm frame equals the 8-phase run where the look was on and the 4-phase run where it was off (the
 * gated flags always); returns how many warm, ungated frames had the look on and off.
 */
function expectLookFrames(look: Run, p4: Run, p8: Run): { on: number; off: number } {
  expect(look.frames.length).toBe(p8.frames.length);
  expect(look.frames.length).toBe(p4.frames.length);
  let on = 0;
  let off = 0;
  let worst = 0;
  look.frames.forEach((f, i) => {
    expect(f.gated).toEqual(p8.frames[i]!.gated);
    expect(f.warm).toEqual(p8.frames[i]!.warm);
    const oracle = f.look ? p8.frames[i]! : p4.frames[i]!;
    f.scores.forEach((s, w) => {
      if (!f.warm[w] || f.gated[w]) return;
      if (f.look) on++;
      else off++;
      worst = Math.max(worst, Math.abs(s - oracle.scores[w]!));
    });
  });
  expect(worst).toBeLessThanOrEqual(TOLERANCE);
  return { on, off };
}

const detectionsOf = (r: Run) => r.detections.map((d) => [d.wakeword, d.atMs]);

describe('SecondLookGate (pure)', () => {
  it('is on from the frame that reaches the gate until holdChunks − 1 frames after the last one that did', () => {
    const g = new SecondLookGate({ gate: 0.1, holdChunks: 3 });
    const on = [0, 0.2, 0.05, 0.05, 0.05, 0.1, 0, 0, 0].map((s, i) => g.update(i + 1, s));
    expect(on).toEqual([false, true, true, true, false, true, true, true, false]);
    expect({ framesOn: g.framesOn, switchesOn: g.switchesOn }).toEqual({ framesOn: 6, switchesOn: 2 });
    g.reset();
    expect(g.update(10, 0.09)).toBe(false);
    // Nothing scored (every word gated or not warm) never switches it on.
    expect(g.update(11, Number.NEGATIVE_INFINITY)).toBe(false);
  });

  it('refuses a gate outside [0, 1] and a hold that is not a whole number ≥ 1', () => {
    for (const bad of [{ gate: -0.1 }, { gate: 1.5 }, { gate: Number.NaN }, { gate: 0.1, holdChunks: 0 }, { gate: 0.1, holdChunks: 2.5 }]) {
      expect(() => new SecondLookGate(bad)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    }
  });
});

describe('the second look in the scorer', () => {
  it('gate 0: on every fixture, every warm frame scores as the 8-phase loop (≤ 1e-4), same detections and best phase', async () => {
    for (const f of fixtures) {
      const look = await run(await scorer({ phases: 4, secondLook: { gate: 0 } }), f.pcm);
      const p8 = await run(await scorer({ phases: 8 }), f.pcm);
      const p4 = await run(await scorer({ phases: 4 }), f.pcm);
      const { off } = expectLookFrames(look, p4, p8);
      expect(off, f.name).toBe(0);
      expect(detectionsOf(look), f.name).toEqual(detectionsOf(p8));
      look.frames.forEach((fr, i) =>
        fr.scores.forEach((s, w) => {
          // The same phase wins (ties included: phases are compared in the order of their offsets), unless two are within the tolerance.
          if (fr.warm[w] && s > 0.01 && offsetOf(fr.bestPhase[w]!) !== p8.frames[i]!.bestPhase[w]) {
            expect(Math.abs(s - p8.frames[i]!.scores[w]!), f.name).toBeLessThanOrEqual(TOLERANCE);
          }
        }),
      );
    }
  }, 300_000);

  it('with a gate: 8-phase frames where it is on, 4-phase frames where it is off; the 8-phase detections where the even phases reach the gate first', async () => {
    const gate = 0.1;
    let differ = 0;
    let covered = 0;
    for (const f of fixtures) {
      const s = await scorer({ phases: 4, secondLook: { gate } });
      const look = await run(s, f.pcm);
      const p8 = await run(await scorer({ phases: 8 }), f.pcm);
      const p4 = await run(await scorer({ phases: 4 }), f.pcm);
      const { on, off } = expectLookFrames(look, p4, p8);
      expect(off, f.name).toBeGreaterThan(0); // it does switch off (the lead-in is below the gate) …
      if (detectionsOf(p4).join() !== detectionsOf(p8).join()) differ++;
      // The condition: every frame at which the 8-phase loop reaches the threshold has the look on, i.e. the even
      // phases reached the gate at most holdChunks − 1 frames before it.
      const needed = p8.frames.every((fr, i) => fr.scores.every((x, w) => !fr.warm[w] || x < 0.5 || look.frames[i]!.look));
      if (!needed) continue;
      covered++;
      expect(on, f.name).toBeGreaterThan(0);
      expect(detectionsOf(look), f.name).toEqual(detectionsOf(p8));
    }
    // The fixtures exercise it: most meet the condition, and on some 4 and 8 phases detect differently.
    expect(covered).toBeGreaterThanOrEqual(fixtures.length - 2);
    expect(differ).toBeGreaterThan(0);
  }, 300_000);

  it('any chunk size gives the same frames (1, 160, 1279, 1281, 4000 samples, the whole clip)', async () => {
    const f = fixtures.find((x) => x.name === 'wake/hey_jarvis__en-gb.wav')!;
    const whole = await run(await scorer({ phases: 4, secondLook: { gate: 0.1 }, quietRms: DEFAULT_QUIET_RMS }), f.pcm);
    expect(whole.frames.some((x) => x.look)).toBe(true);
    for (const size of [1, 160, 1279, 1281, 4000]) {
      const r = await run(await scorer({ phases: 4, secondLook: { gate: 0.1 }, quietRms: DEFAULT_QUIET_RMS }), f.pcm, () => size);
      expect(r.frames, `chunk ${size}`).toEqual(whole.frames);
    }
  }, 300_000);

  it('reset drops the look with the stream: after a reset the frames equal a fresh scorer on the rest', async () => {
    const f = fixtures.find((x) => x.name === 'wake/hey_jarvis__en-us.wav')!;
    const before = fixtures.find((x) => x.name === 'wake/hey_jarvis__en-gb.wav')!;
    // Reset in another clip's phrase, while the look is on; then this clip (where the look switches on again).
    const first = await run(await scorer({ phases: 4, secondLook: { gate: 0.05 } }), before.pcm);
    const onAt = first.frames.findIndex((x) => x.look);
    expect(onAt).toBeGreaterThan(0);
    const at = (onAt + 4) * FRAME_SAMPLES + 333;
    const pcm = new Int16Array(at + f.pcm.length);
    pcm.set(before.pcm.subarray(0, at), 0);
    pcm.set(f.pcm, at);
    const streamed = await run(await scorer({ phases: 4, secondLook: { gate: 0.05 } }), pcm, () => 1000, [at]);
    const fresh = await run(await scorer({ phases: 4, secondLook: { gate: 0.05 } }), f.pcm, () => 1000);
    expect(fresh.frames.some((x) => x.look)).toBe(true);
    expect(streamed.frames.length).toBe(Math.floor(at / FRAME_SAMPLES) + fresh.frames.length);
    expect(streamed.frames.slice(streamed.frames.length - fresh.frames.length)).toEqual(fresh.frames);
    expect(streamed.frames.slice(0, onAt + 4).map((x) => x.look)).toEqual(first.frames.slice(0, onAt + 4).map((x) => x.look));
  }, 120_000);

  it('quiet gate: after short and long silences the look catches up exactly (8-phase frames when on, 4-phase when off)', async () => {
    const f = fixtures.find((x) => x.name === 'wake/hey_jarvis__en-us.wav')!;
    const loud = f.pcm.map((_, i) => ((i * 7919) % 4001) - 2000); // noise well above the quiet gate
    for (const quietChunks of [10, 120]) {
      // the fixture, silence (the quiet gate closes), the fixture again
      const pcm = new Int16Array(2 * f.pcm.length + loud.length + quietChunks * FRAME_SAMPLES);
      pcm.set(f.pcm, 0);
      pcm.set(loud, f.pcm.length);
      pcm.set(f.pcm, f.pcm.length + loud.length + quietChunks * FRAME_SAMPLES);
      const opts = { quietRms: DEFAULT_QUIET_RMS };
      const s = await scorer({ phases: 4, secondLook: { gate: 0.1, holdChunks: 10 }, ...opts });
      const look = await run(s, pcm, () => 3000);
      const p8 = await run(await scorer({ phases: 8, ...opts }), pcm, () => 3000);
      const p4 = await run(await scorer({ phases: 4, ...opts }), pcm, () => 3000);
      const { on, off } = expectLookFrames(look, p4, p8);
      expect(on).toBeGreaterThan(0);
      expect(off).toBeGreaterThan(0);
      expect(look.frames.some((x) => x.gated[0])).toBe(true);
      expect(detectionsOf(look)).toEqual(detectionsOf(p8));
      expect(s.secondLookStats!.switchesOn).toBeGreaterThanOrEqual(2);
    }
  }, 300_000);

  it('property: random audio, chunk sizes, quiet stretches, resets, gates and holds: 8-phase frames when on, 4-phase when off', async () => {
    const speech = fixtures.map((x) => x.pcm);
    const piece = fc.oneof(
      fc.record({ kind: fc.constant('speech' as const), clip: fc.nat(speech.length - 1), from: fc.nat(60_000), n: fc.integer({ min: 1, max: 40_000 }) }),
      fc.record({ kind: fc.constant('quiet' as const), n: fc.integer({ min: 1, max: 60 * FRAME_SAMPLES }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 2 }),
        fc.constantFrom(0, 0.02, 0.1, 0.3),
        fc.constantFrom(1, 2, 12, 25),
        fc.boolean(),
        async (pieces, sizes, resetFractions, gate, holdChunks, quiet) => {
          const pcm = audioOfPieces(pieces, speech); // quiet pieces: faint, below the quiet gate
          const resets = resetFractions.map((x) => Math.floor(x * pcm.length)).filter((x) => x > 0);
          const opts = quiet ? { quietRms: DEFAULT_QUIET_RMS } : {};
          let i = 0;
          const chunk = () => sizes[i++ % sizes.length]!;
          const look = await run(await scorer({ phases: 4, secondLook: { gate, holdChunks }, ...opts }), pcm, chunk, resets);
          i = 0;
          const p8 = await run(await scorer({ phases: 8, ...opts }), pcm, chunk, resets);
          i = 0;
          const p4 = await run(await scorer({ phases: 4, ...opts }), pcm, chunk, resets);
          expectLookFrames(look, p4, p8);
        },
      ),
      { numRuns: 20, seed: 13 },
    );
  }, 600_000);

  it('the verifier reads the best of the 8 windows: the detector hands out the 8-phase loop’s window', async () => {
    const words = ['hey_jarvis'];
    const one = await loadWakeModels(manifest, words);
    for (const f of fixtures.filter((x) => x.name.startsWith('wake/hey_jarvis') || x.name.includes('nearmiss'))) {
      const look = await WakeDetector.create({ words, models: one, manifest, secondLook: { gate: 0 } });
      const p8 = await WakeDetector.create({ words, models: one, manifest, phases: 8 });
      const a: Float32Array[] = [];
      const b: Float32Array[] = [];
      const copy = (d: WakeDetector, into: Float32Array[]) => (fr: { scores: Float32Array; warm: boolean[]; bestPhase: Int8Array }) => {
        if (!fr.warm[0] || fr.scores[0]! < 0.1) return;
        const w = new Float32Array(16 * EMBEDDING_DIM);
        d.scorer.copyWindow(0, fr.bestPhase[0]!, w);
        into.push(w);
      };
      const da = await look.push(f.pcm, copy(look, a));
      const db = await p8.push(f.pcm, copy(p8, b));
      expect(a.length, f.name).toBe(b.length);
      a.forEach((w, i) => w.forEach((x, k) => expect(Math.abs(x - b[i]![k]!)).toBeLessThanOrEqual(1e-5)));
      expect(da.map((d) => d.atMs), f.name).toEqual(db.map((d) => d.atMs));
      da.forEach((d, i) => d.features!.forEach((x, k) => expect(Math.abs(x - db[i]!.features![k]!)).toBeLessThanOrEqual(1e-5)));
    }
  }, 300_000);

  it('completes only a 4-phase stream with the 4-phase model: other phase counts are refused', async () => {
    for (const phases of [1, 2, 8]) {
      await expect(scorer({ phases, secondLook: { gate: 0.1 } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    }
  });
});
