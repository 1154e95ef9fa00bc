/**
 * Faithfulness of the streaming pipeline: chunk-size independence, and equality with a plain, non-streaming
 * computation of the reference algorithm written out here with its own ONNX sessions.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadManifest, resolveModelPath, type ModelManifest } from '../../src/models/index.js';
import { warmupNoise } from '../../src/wakeword/noise.js';
import { collectScores } from '../../src/wakeword/score-clip.js';
import { loadWakeModels, type LoadedWakeModels } from '../../src/wakeword/wake-detector.js';
import { WakeScorer } from '../../src/wakeword/wake-scorer.js';
import { FIXTURES, MANIFEST, readPcm, rng } from './helpers.js';

let manifest: ModelManifest;
let models: LoadedWakeModels;
let clip: Int16Array;

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
  models = await loadWakeModels(manifest, ['hey_jarvis']);
  clip = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav'));
});

async function scores(opts: { phases: number; chunk?: number | (() => number); pcm?: Int16Array }): Promise<number[]> {
  const scorer = await WakeScorer.create(models.features, models.classifiers, { phases: opts.phases });
  const pcm = opts.pcm ?? clip;
  const out: number[] = [];
  const next = typeof opts.chunk === 'function' ? opts.chunk : () => (opts.chunk as number | undefined) ?? pcm.length;
  for (let pos = 0; pos < pcm.length; ) {
    const n = next();
    await scorer.feed(pcm.subarray(pos, pos + n), (f) => void out.push(f.scores[0]!));
    pos += n;
  }
  return out;
}

/**
 * The reference algorithm written plainly: per 80 ms chunk n, mel of samples [max(0, 1280n − 1760), 1280n),
 * rows x/10 + 2 appended to a list starting as ones(76, 32); an embedding of the last 76 rows (or of the rows
 * ending `offset` rows earlier, for a shifted phase); the history starts with embeddings of the 4 s noise clip
 * (windows of 76 rows every 8 rows); the classifier reads the last 16; the first 5 scores are 0.
 */
async function plainReference(pcm: Int16Array, offset: number): Promise<number[]> {
  const file = (name: string) => resolveModelPath(manifest, manifest.models.find((m) => m.name === name)!);
  const mel = await ort.InferenceSession.create(file('melspectrogram'));
  const emb = await ort.InferenceSession.create(file('embedding'));
  const cls = await ort.InferenceSession.create(file('hey_jarvis'));
  const melRows = async (x: Float32Array): Promise<number[][]> => {
    const out = (await mel.run({ input: new ort.Tensor('float32', x, [1, x.length]) }))['output']!.data as Float32Array;
    const rows: number[][] = [];
    for (let r = 0; r < out.length / 32; r++) rows.push(Array.from(out.subarray(r * 32, r * 32 + 32), (v) => v / 10 + 2));
    return rows;
  };
  const embed = async (rows: number[][]): Promise<number[]> => {
    const x = new Float32Array(rows.flat());
    return Array.from((await emb.run({ input_1: new ort.Tensor('float32', x, [1, 76, 32, 1]) }))['conv2d_19']!.data as Float32Array);
  };
  const noiseRows = await melRows(warmupNoise());
  const history: number[][] = [];
  for (let i = 0; i + 76 <= noiseRows.length; i += 8) history.push(await embed(noiseRows.slice(i, i + 76)));
  expect(history.length).toBe(41);
  const rows: number[][] = Array.from({ length: 76 }, () => new Array<number>(32).fill(1));
  const out: number[] = [];
  for (let n = 1; n * 1280 <= pcm.length; n++) {
    const window = Float32Array.from(pcm.subarray(Math.max(0, n * 1280 - 1760), n * 1280));
    rows.push(...(await melRows(window)));
    if (rows.length > 970) rows.splice(0, rows.length - 970);
    history.push(await embed(rows.slice(rows.length - offset - 76, rows.length - offset)));
    if (history.length > 120) history.shift();
    const x = new Float32Array(history.slice(-16).flat());
    const score = ((await cls.run({ 'x.1': new ort.Tensor('float32', x, [1, 16, 96]) }))['53']!.data as Float32Array)[0]!;
    out.push(n <= 5 ? 0 : score);
  }
  return out;
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

describe('streaming pipeline (openWakeWord reference)', () => {
  it('gives identical scores whether audio arrives in chunks of 1280, 512, 4000 or random sizes', async () => {
    const base = await scores({ phases: 1, chunk: 1280 });
    expect(base.length).toBe(Math.floor(clip.length / 1280));
    expect(Math.max(...base)).toBeGreaterThan(0.9); // the clip really contains the wake word
    expect(await scores({ phases: 1, chunk: 512 })).toEqual(base);
    expect(await scores({ phases: 1, chunk: 4000 })).toEqual(base);
    const r = rng(7);
    expect(await scores({ phases: 1, chunk: () => 1 + Math.floor(r() * 5000) })).toEqual(base);
    expect(await scores({ phases: 1 })).toEqual(base); // the whole clip at once
    const two = await scores({ phases: 2, chunk: 1280 });
    expect(await scores({ phases: 2, chunk: () => 1 + Math.floor(r() * 3000) })).toEqual(two);
  });

  it('equals a straightforward non-streaming computation over the same windows', async () => {
    const streamed = await scores({ phases: 1, chunk: 1000 });
    const plain = await plainReference(clip, 0);
    expect(maxAbsDiff(streamed, plain)).toBeLessThan(1e-4);
    // 20 s (250 frames): past the 120-row embedding cap, the ring wrap-around and mel-buffer compaction.
    const long = (await readPcm(path.join(FIXTURES, 'scenario.wav'))).subarray(0, 16000 * 20);
    const streamedLong = await scores({ phases: 1, chunk: 4000, pcm: long });
    expect(maxAbsDiff(streamedLong, await plainReference(long, 0))).toBeLessThan(1e-4);
  }, 300_000);

  it('a second phase scores the grid shifted by 40 ms (embeddings 4 mel rows back); the frame score is the max', async () => {
    const streamed = await scores({ phases: 2, chunk: 1280 });
    const [p0, p1] = await Promise.all([plainReference(clip, 0), plainReference(clip, 4)]);
    expect(maxAbsDiff(streamed, p0.map((x, i) => Math.max(x, p1[i]!)))).toBeLessThan(1e-4);
    // The shifted phase is not a copy of the reference: it sees different windows.
    expect(maxAbsDiff(p0, p1)).toBeGreaterThan(0.01);
  });

  it('several words share one feature pipeline: one mel and one embedding per phase and frame', async () => {
    const three = await loadWakeModels(manifest, ['hey_jarvis', 'alexa', 'hey_mycroft']);
    const scorer = await WakeScorer.create(three.features, three.classifiers, { phases: 2 });
    const res = await collectScores(scorer, clip);
    expect(scorer.embeddingCalls).toBe(2 * res.frames.length);
    const single = await scores({ phases: 2 });
    expect(res.frames.map((f) => f.scores[0])).toEqual(single);
  });
});
