/**
 * Proof that the streaming embedding model changes nothing: over every committed fixture and every phase,
 * streaming embeddings equal the window model's (the pinned embedding_model.onnx, run on the same 76 rows);
 * scores and detections equal those of the window path whatever the chunk size; the quiet gate's resume and
 * re-warm paths and resets give the same values; and a property test over random audio, chunk sizes, quiet
 * stretches and resets.
 */
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDING_DIM, FRAME_SAMPLES } from '../../src/wakeword/constants.js';
import { DetectorState, type WakeDetection } from '../../src/wakeword/detector-state.js';
import { FeatureStream, embeddingsOfClip } from '../../src/wakeword/feature-stream.js';
import { loadManifest, modelOfKind, type ModelManifest } from '../../src/models/index.js';
import { warmupNoise } from '../../src/wakeword/noise.js';
import { openModel, type Session } from '../../src/wakeword/onnx-sessions.js';
import { loadWakeModels, DEFAULT_QUIET_RMS, type LoadedWakeModels } from '../../src/wakeword/wake-detector.js';
import { WakeScorer } from '../../src/wakeword/wake-scorer.js';
import { noiseEmbeddings } from '../../src/wakeword/wake-scorer.js';
import { embeddingsOfClipWindow, WindowFeatureStream } from '../../src/wakeword/window-feature-stream.js';
import { audioOfPieces, committedFixtures, MANIFEST } from './helpers.js';

const WORDS = ['hey_jarvis', 'alexa', 'hey_mycroft'];
const EMBEDDING_TOLERANCE = 1e-5;
const SCORE_TOLERANCE = 1e-4;

let manifest: ModelManifest;
let models: LoadedWakeModels;
let windowModel: Session;
let windowNoise: Awaited<ReturnType<typeof embeddingsOfClipWindow>>;
const fixtures: { name: string; pcm: Int16Array }[] = [];

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
  models = await loadWakeModels(manifest, WORDS);
  windowModel = await openModel(manifest, modelOfKind(manifest, 'embedding'));
  windowNoise = await embeddingsOfClipWindow({ mel: models.features.mel, window: windowModel }, warmupNoise());
  fixtures.push(...(await committedFixtures()));
}, 120_000);

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The oracle: the window model, mel rows computed for every chunk (eager stream), and each phase's window scored
 * by its own call of the pinned classifier (not the batched one the streamed scorer uses for several phases).
 */
function windowScorer(phases: number, quietRms?: number): WakeScorer {
  const stream = new WindowFeatureStream({ mel: models.features.mel, window: windowModel }, windowNoise, phases);
  const unbatched = models.classifiers.map(({ batched: _batched, ...c }) => c);
  return WakeScorer.withStream(stream, windowNoise.rows, unbatched, quietRms === undefined ? {} : { quietRms });
}

interface Run {
  scores: number[][];
  gated: boolean[][];
  detections: WakeDetection[];
}

/** Feeds `pcm` in pieces (sizes from `chunk`), with resets before the given sample positions. */
async function run(scorer: WakeScorer, pcm: Int16Array, chunk: () => number, resetsAt: number[] = []): Promise<Run> {
  const state = new DetectorState({ words: WORDS.map((name) => ({ name, threshold: 0.5 })) });
  const out: Run = { scores: [], gated: [], detections: [] };
  const resets = [...resetsAt].sort((a, b) => a - b);
  let pos = 0;
  let offsetMs = 0;
  while (pos < pcm.length) {
    const nextReset = resets.find((r) => r > pos) ?? pcm.length;
    const n = Math.min(chunk(), nextReset - pos);
    await scorer.feed(pcm.subarray(pos, pos + n), (f) => {
      out.scores.push(Array.from(f.scores));
      out.gated.push([...f.gated]);
      for (const d of state.onFrame(f)) out.detections.push({ ...d, atMs: d.atMs + offsetMs });
    });
    pos += n;
    if (pos === nextReset && pos < pcm.length) {
      scorer.reset();
      state.reset();
      offsetMs = (pos * 1000) / 16000;
    }
  }
  return out;
}

function expectSameRuns(streamed: Run, oracle: Run): void {
  expect(streamed.scores.length).toBe(oracle.scores.length);
  expect(streamed.gated).toEqual(oracle.gated);
  let worst = 0;
  streamed.scores.forEach((row, i) => row.forEach((s, w) => (worst = Math.max(worst, Math.abs(s - oracle.scores[i]![w]!)))));
  expect(worst).toBeLessThanOrEqual(SCORE_TOLERANCE);
  expect(streamed.detections.map((d) => [d.wakeword, d.atMs])).toEqual(oracle.detections.map((d) => [d.wakeword, d.atMs]));
  streamed.detections.forEach((d, i) => expect(Math.abs(d.score - oracle.detections[i]!.score)).toBeLessThanOrEqual(SCORE_TOLERANCE));
}

const whole = (pcm: Int16Array) => () => pcm.length;

describe('streaming embedding model: same embeddings as the window model', () => {
  it('the warm-up noise embeddings (41 windows of the 4 s noise clip) are the same', async () => {
    const streamed = await noiseEmbeddings(models.features);
    expect(streamed.rows).toBe(41);
    expect(windowNoise.rows).toBe(41);
    expect(maxAbs(streamed.data, windowNoise.data)).toBeLessThanOrEqual(EMBEDDING_TOLERANCE);
    const again = await embeddingsOfClip(models.features, warmupNoise(7));
    const windowAgain = await embeddingsOfClipWindow({ mel: models.features.mel, window: windowModel }, warmupNoise(7));
    expect(maxAbs(again.data, windowAgain.data)).toBeLessThanOrEqual(EMBEDDING_TOLERANCE);
  });

  it('over every committed fixture and every phase (8 phases = all 8 row offsets), every frame, ≤ 1e-5', async () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(9);
    const noise = await noiseEmbeddings(models.features);
    const a = new Float32Array(EMBEDDING_DIM);
    const b = new Float32Array(EMBEDDING_DIM);
    // 4 phases: the multi-phase model (embedding_streaming_4phases.onnx, all tracks from one batch item); 8 and
    // 3: the one-phase model stepped with one batch item per track.
    expect(models.features.phased?.map((m) => m.phases)).toEqual([4]);
    // ...and the streamed scorers below score all phases with one call of the batched classifiers.
    expect(models.classifiers.map((c) => c.batched !== undefined)).toEqual([true, true, true]);
    for (const phases of [8, 4, 3]) {
      for (const f of fixtures) {
        const streamed = new FeatureStream(models.features, noise, phases);
        const oracle = new WindowFeatureStream({ mel: models.features.mel, window: windowModel }, windowNoise, phases);
        let worst = 0;
        for (let pos = 0; pos + FRAME_SAMPLES <= f.pcm.length; pos += FRAME_SAMPLES) {
          const chunk = f.pcm.subarray(pos, pos + FRAME_SAMPLES);
          await streamed.pushChunk(chunk);
          await oracle.pushChunk(chunk);
          await streamed.ensureAllEmbeddings(1);
          await oracle.ensureAllEmbeddings(1);
          for (let p = 0; p < phases; p++) {
            streamed.copyWindow(p, 1, a);
            oracle.copyWindow(p, 1, b);
            worst = Math.max(worst, maxAbs(a, b));
          }
        }
        expect({ fixture: f.name, phases, worst: worst <= EMBEDDING_TOLERANCE ? 'ok' : worst }).toEqual({ fixture: f.name, phases, worst: 'ok' });
        // One streaming call per frame for all phases (plus the 9 warm-up steps before the first frame).
        expect(streamed.streamSteps).toBe(streamed.chunks + 9);
        expect(streamed.rewarms).toBe(1);
      }
    }
  }, 300_000);
});

describe('streaming embedding model: same scores and detections as the window path', () => {
  it('on every fixture, for 1, 2, 4 and 8 phases: scores within 1e-4, identical detections (word, frame, score)', async () => {
    let detections = 0;
    for (const phases of [1, 2, 4, 8]) {
      for (const f of fixtures) {
        const streamed = await run(await WakeScorer.create(models.features, models.classifiers, { phases }), f.pcm, whole(f.pcm));
        const oracle = await run(windowScorer(phases), f.pcm, whole(f.pcm));
        expectSameRuns(streamed, oracle);
        detections += streamed.detections.length;
      }
    }
    expect(detections).toBeGreaterThanOrEqual(4 * 7); // the fixtures do contain wake words
  }, 300_000);

  it('any chunk size gives the scores of the window path (1, 160, 1279, 1281, 4000, whole clip)', async () => {
    const f = fixtures.find((x) => x.name.includes('scenario'))!;
    const pcm = f.pcm.subarray(0, 16000 * 20);
    const oracle = await run(windowScorer(2), pcm, () => FRAME_SAMPLES);
    for (const size of [1, 160, 1279, 1281, 4000, pcm.length]) {
      const streamed = await run(await WakeScorer.create(models.features, models.classifiers, { phases: 2 }), pcm, () => size);
      expectSameRuns(streamed, oracle);
    }
  }, 300_000);

  it('quiet gate: after a short gap the stream resumes over the skipped chunks, after a long one it re-warms; both exact', async () => {
    const f = fixtures.find((x) => x.name === path.join('wake', 'hey_jarvis__en-us.wav'))!;
    const loud = f.pcm.map((_, i) => ((i * 7919) % 4001) - 2000); // noise well above the gate
    for (const [quietChunks, expected] of [
      [10, { resumes: 1, rewarms: 1 }],
      [120, { resumes: 0, rewarms: 2 }],
    ] as const) {
      // loud, then silence (the gate closes after 28 chunks), then the fixture (its own 2.4 s lead-in is faint).
      const pcm = new Int16Array(loud.length + quietChunks * FRAME_SAMPLES + f.pcm.length);
      pcm.set(loud, 0);
      pcm.set(f.pcm, loud.length + quietChunks * FRAME_SAMPLES);
      const scorer = await WakeScorer.create(models.features, models.classifiers, { phases: 2, quietRms: DEFAULT_QUIET_RMS });
      const streamed = await run(scorer, pcm, () => 3000);
      const oracle = await run(windowScorer(2, DEFAULT_QUIET_RMS), pcm, () => 3000);
      const ungated = await run(windowScorer(2), pcm, () => 3000);
      expectSameRuns(streamed, oracle);
      expect(streamed.gated.some((g) => g[0])).toBe(true);
      expect(streamed.detections.map((d) => [d.wakeword, d.atMs])).toEqual(ungated.detections.map((d) => [d.wakeword, d.atMs]));
      expect(streamed.detections.map((d) => d.wakeword)).toEqual(['hey_jarvis']);
      const stats = scorer.streamStats;
      expect({ quietChunks, resumes: stats.resumes, rewarms: stats.rewarms }).toEqual({ quietChunks, ...expected });
      // The mel model waits too while gated: after a short gap every deferred chunk's rows are computed when
      // sound returns; after a long one the oldest quiet chunks' rows are never needed, so never computed.
      expect(stats.melCalls + stats.melSkipped).toBe(scorer.chunks);
      if (quietChunks === 10) expect(stats.melSkipped).toBe(0);
      else expect(stats.melSkipped).toBeGreaterThan(60);
    }
  }, 300_000);

  it('deferred mel: computed late it equals eager mel; a ring too short for the backfill fails loudly instead of reading given-up rows', async () => {
    const f = fixtures.find((x) => x.name === path.join('wake', 'hey_jarvis__en-us.wav'))!;
    const noise = await noiseEmbeddings(models.features);
    const eager = new FeatureStream(models.features, noise, 4);
    const deferred = new FeatureStream(models.features, noise, 4, 27);
    const short = new FeatureStream(models.features, noise, 4, 5);
    const a = new Float32Array(16 * EMBEDDING_DIM);
    const b = new Float32Array(16 * EMBEDDING_DIM);
    const chunks = Math.floor(f.pcm.length / FRAME_SAMPLES);
    for (let c = 0; c < chunks; c++) {
      const chunk = f.pcm.subarray(c * FRAME_SAMPLES, (c + 1) * FRAME_SAMPLES);
      for (const s of [eager, deferred, short]) await s.pushChunk(chunk);
      await eager.ensureAllEmbeddings(16);
      // The deferred streams are asked only every 40 chunks (as after a quiet stretch).
      if (c % 40 !== 39) continue;
      await deferred.ensureAllEmbeddings(16);
      for (let p = 0; p < 4; p++) {
        eager.copyWindow(p, 16, a);
        deferred.copyWindow(p, 16, b);
        expect(maxAbs(a, b)).toBe(0);
      }
      await expect(short.ensureAllEmbeddings(16)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('never computed') });
      short.reset();
    }
    expect(deferred.droppedMelChunks).toBeGreaterThan(0);
    expect(deferred.melCalls + deferred.droppedMelChunks + deferred.pendingMelChunks).toBe(chunks);
    expect(eager.melCalls).toBe(chunks);
  }, 120_000);

  it('reset drops the stream state: after a reset the scores equal a fresh scorer on the rest', async () => {
    const f = fixtures.find((x) => x.name === path.join('wake', 'hey_jarvis__en-gb.wav'))!;
    const at = 16000 * 2 + 357;
    const streamed = await run(await WakeScorer.create(models.features, models.classifiers, { phases: 4 }), f.pcm, () => 1000, [at]);
    const fresh = await run(await WakeScorer.create(models.features, models.classifiers, { phases: 4 }), f.pcm.subarray(at), () => 1000);
    // The reset drops the partial frame before it; the frames after it are the fresh scorer's.
    expect(streamed.scores.length).toBe(Math.floor(at / FRAME_SAMPLES) + fresh.scores.length);
    expect(streamed.scores.slice(streamed.scores.length - fresh.scores.length)).toEqual(fresh.scores);
  }, 120_000);

  it('property: random audio lengths, chunk sizes, quiet stretches and resets give the window path’s scores', async () => {
    const speech = fixtures.filter((x) => x.name.startsWith('wake')).map((x) => x.pcm);
    const piece = fc.oneof(
      fc.record({ kind: fc.constant('speech' as const), clip: fc.nat(speech.length - 1), from: fc.nat(60_000), n: fc.integer({ min: 1, max: 40_000 }) }),
      fc.record({ kind: fc.constant('quiet' as const), n: fc.integer({ min: 1, max: 110 * FRAME_SAMPLES }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 2 }),
        fc.constantFrom(1, 2, 3, 4, 8),
        async (pieces, sizes, resetFractions, phases) => {
          const pcm = audioOfPieces(pieces, speech); // quiet pieces: faint, below the quiet gate
          const resets = resetFractions.map((x) => Math.floor(x * pcm.length)).filter((x) => x > 0);
          let i = 0;
          const chunk = () => sizes[i++ % sizes.length]!;
          const streamed = await run(await WakeScorer.create(models.features, models.classifiers, { phases, quietRms: DEFAULT_QUIET_RMS }), pcm, chunk, resets);
          i = 0;
          const oracle = await run(windowScorer(phases, DEFAULT_QUIET_RMS), pcm, chunk, resets);
          expectSameRuns(streamed, oracle);
        },
      ),
      { numRuns: 25, seed: 11 },
    );
  }, 600_000);
});
