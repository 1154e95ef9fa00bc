/**
 * The generator of the streaming embedding model: deterministic, reproduces the committed file, records its
 * provenance, refuses a source graph that breaks its assumptions, and the model it makes is step-by-step equal
 * to the window model once 9 warm-up steps have run (and not before: the warm-up rule is needed).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { EarshotError } from '../../src/core/errors.js';
import { EMBEDDING_DIM, STREAM_WARMUP_STEPS } from '../../src/wakeword/constants.js';
import { EmbeddingStepper } from '../../src/wakeword/embedding-stepper.js';
import { findModel, loadManifest, readVerifiedModel, type ModelManifest } from '../../src/models/index.js';
import { createSession } from '../../src/wakeword/onnx-sessions.js';
import { deriveStreamingEmbedding, STREAMING_GENERATOR_VERSION } from '../../src/wakeword/streaming-embedding-generator.js';
import { windowEmbeddings } from '../../src/wakeword/window-feature-stream.js';
import { MANIFEST, ROOT, rng } from './helpers.js';

const { onnx } = onnxProto;
let manifest: ModelManifest;
let source: Uint8Array;
let sourceSha: string;

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
  const v = await readVerifiedModel(manifest, findModel(manifest, 'embedding'));
  source = v.bytes;
  sourceSha = v.entry.sha256;
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function mutated(change: (g: onnxProto.onnx.IGraphProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(source);
  change(m.graph!);
  return onnx.ModelProto.encode(m).finish();
}

function refusal(bytes: Uint8Array): string {
  try {
    deriveStreamingEmbedding(bytes, sourceSha);
  } catch (e) {
    expect(e).toBeInstanceOf(EarshotError);
    expect((e as EarshotError).code).toBe('MODEL_LOAD_FAILED');
    return (e as Error).message;
  }
  throw new Error('the generator accepted a graph it must refuse');
}

describe('streaming embedding generator', () => {
  it('is deterministic and reproduces the committed, pinned models/embedding_streaming.onnx', () => {
    const a = deriveStreamingEmbedding(source, sourceSha);
    const b = deriveStreamingEmbedding(Uint8Array.from(source), sourceSha);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const committed = readFileSync(path.join(ROOT, 'models', 'embedding_streaming.onnx'));
    expect(sha(a.bytes)).toBe(sha(committed));
    expect(sha(a.bytes)).toBe(findModel(manifest, 'embedding_streaming').sha256);
    // Ten states, the shapes the issue measured: [24,2,32], [48,2,16]×2, [72,2,8]×2, [96,2,4]×2, [96,2,2]×2, [96,2,1].
    expect(a.states.map((s) => `${s.channels}x${s.rows}x${s.width}`)).toEqual(['24x2x32', '48x2x16', '48x2x16', '72x2x8', '72x2x8', '96x2x4', '96x2x4', '96x2x2', '96x2x2', '96x2x1']);
    const meta = Object.fromEntries(onnx.ModelProto.decode(a.bytes).metadataProps!.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ 'earshot.derivedFrom.sha256': sourceSha, 'earshot.generatorVersion': STREAMING_GENERATOR_VERSION });
  });

  it('refuses a source graph that breaks its assumptions, naming the node', () => {
    const convNamed = (g: onnxProto.onnx.IGraphProto, name: string) => g.node!.find((n) => n.name === name)!;
    const timePad = mutated((g) => {
      const pads = convNamed(g, 'model/conv2d_2/Conv2D').attribute!.find((a) => a.name === 'pads');
      if (pads) pads.ints = [1, 0, 1, 0];
      else convNamed(g, 'model/conv2d_2/Conv2D').attribute!.push(onnx.AttributeProto.create({ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 0, 1, 0] }));
    });
    expect(refusal(timePad)).toMatch(/model\/conv2d_2\/Conv2D.*time/);
    const overlappingPool = mutated((g) => {
      convNamed(g, 'model/max_pooling2d/MaxPool').attribute!.find((a) => a.name === 'strides')!.ints = [1, 2];
    });
    expect(refusal(overlappingPool)).toMatch(/model\/max_pooling2d\/MaxPool/);
    const otherOp = mutated((g) => {
      convNamed(g, 'model/leaky_re_lu_3/LeakyRelu').opType = 'Sigmoid';
    });
    expect(refusal(otherOp)).toMatch(/leaky_re_lu_3.*Sigmoid.*not supported/);
    expect(refusal(new Uint8Array([1, 2, 3, 4, 5]))).toMatch(/not an ONNX model|input|graph/);
  });

  it('each step equals the window model on the last 76 rows once 9 steps have run — and only then', async () => {
    const stream = await createSession({ entry: findModel(manifest, 'embedding_streaming'), path: 'derived', bytes: deriveStreamingEmbedding(source, sourceSha).bytes });
    const window = await ort.InferenceSession.create(source, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    // Three tracks with different random rows, stepped together as one batch (as the phases are).
    const batch = 3;
    const r = rng(5);
    const total = 2 + 10 + 8 * 30;
    const rows = Array.from({ length: batch }, () => Float32Array.from({ length: total * 32 }, () => r() * 6 - 2));
    const stepper = new EmbeddingStepper(stream, batch);
    const start = 2; // two real rows before the first fed row: the empty state stands in for them
    let exactAt = -1;
    for (let j = 0; start + 8 * j + 10 <= total; j++) {
      const end = start + 8 * j + 10;
      rows.forEach((x, b) => stepper.input.set(x.subarray((end - 10) * 32, end * 32), b * 320));
      const out = await stepper.step();
      if (end < 76) continue;
      const input = new Float32Array(batch * 76 * 32);
      rows.forEach((x, b) => input.set(x.subarray((end - 76) * 32, end * 32), b * 76 * 32));
      const expected = await windowEmbeddings(window, input, batch);
      let worst = 0;
      for (let i = 0; i < batch * EMBEDDING_DIM; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!));
      if (j < STREAM_WARMUP_STEPS) expect(worst).toBeGreaterThan(1e-3);
      else expect(worst).toBeLessThanOrEqual(1e-5);
      if (j === STREAM_WARMUP_STEPS) exactAt = j;
    }
    expect(exactAt).toBe(9);
  });

  it('the 4-phase model: reproduces the committed file, and each step yields the 4 phases\' window embeddings (oldest first) once 9 steps have run', async () => {
    const four = deriveStreamingEmbedding(source, sourceSha, { phases: 4 });
    expect(Buffer.from(four.bytes).equals(Buffer.from(deriveStreamingEmbedding(Uint8Array.from(source), sourceSha, { phases: 4 }).bytes))).toBe(true);
    expect(sha(four.bytes)).toBe(sha(readFileSync(path.join(ROOT, 'models', 'embedding_streaming_4phases.onnx'))));
    expect(sha(four.bytes)).toBe(findModel(manifest, 'embedding_streaming_4phases').sha256);
    // The one-phase model is the same rewrite with phases 1: its bytes did not change with the option.
    expect(sha(deriveStreamingEmbedding(source, sourceSha, { phases: 1 }).bytes)).toBe(findModel(manifest, 'embedding_streaming').sha256);
    const meta = Object.fromEntries(onnx.ModelProto.decode(four.bytes).metadataProps!.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ 'earshot.derivedFrom.sha256': sourceSha, 'earshot.phases': '4' });
    const stream = await createSession({ entry: findModel(manifest, 'embedding_streaming_4phases'), path: 'derived', bytes: four.bytes });
    const window = await ort.InferenceSession.create(source, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const r = rng(9);
    const total = 10 + 8 * 30;
    const rows = Float32Array.from({ length: total * 32 }, () => r() * 6 - 2);
    const stepper = new EmbeddingStepper(stream, 1, 4);
    let exactAt = -1;
    for (let j = 0; 8 * j + 10 <= total; j++) {
      const end = 8 * j + 10;
      stepper.input.set(rows.subarray((end - 10) * 32, end * 32));
      const out = await stepper.step();
      if (end - 6 < 76) continue;
      // Output i is the window ending (3 − i) · 2 rows before the newest row.
      const input = new Float32Array(4 * 76 * 32);
      for (let i = 0; i < 4; i++) {
        const e = end - (3 - i) * 2;
        input.set(rows.subarray((e - 76) * 32, e * 32), i * 76 * 32);
      }
      const expected = await windowEmbeddings(window, input, 4);
      let worst = 0;
      for (let i = 0; i < 4 * EMBEDDING_DIM; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!));
      if (j < STREAM_WARMUP_STEPS) expect(worst).toBeGreaterThan(1e-3);
      else expect(worst).toBeLessThanOrEqual(1e-5);
      if (j === STREAM_WARMUP_STEPS) exactAt = j;
    }
    expect(exactAt).toBe(9);
  });

  it('both committed streaming models carry all their convolution states in one packed tensor (one call marshals 2 inputs, 2 outputs)', async () => {
    for (const [name, phases, count] of [['embedding_streaming', 1, 10], ['embedding_streaming_4phases', 4, 12]] as const) {
      const derived = deriveStreamingEmbedding(source, sourceSha, { phases });
      expect(derived.states).toHaveLength(count);
      expect(derived.packedSize).toBe(derived.states.reduce((a, s) => a + s.channels * s.rows * s.width, 0));
      const session = await createSession({ entry: findModel(manifest, name), path: name, bytes: readFileSync(path.join(ROOT, 'models', `${name}.onnx`)) });
      expect([session.inputNames, session.outputNames]).toEqual([['input_1', 'state'], ['conv2d_19', 'state_next']]);
      expect(findModel(manifest, name).inputs[1]).toEqual({ name: 'state', shape: ['batch', derived.packedSize] });
      expect(findModel(manifest, name).outputs[1]).toEqual({ name: 'state_next', shape: ['batch', derived.packedSize] });
    }
  });

  it('refuses a phase count whose spacing is not a whole number of mel rows', () => {
    expect(() => deriveStreamingEmbedding(source, sourceSha, { phases: 3 })).toThrow(/phases must be one of 1, 2, 4, 8/);
  });
});
