/**
 * The batched classifiers: the generator is deterministic and reproduces every committed, pinned
 * models/<word>_batched.onnx; one call over P windows gives, row by row, exactly what the pinned classifier
 * gives for each window alone (hey_jarvis's verifier branch included); graphs it cannot batch are refused.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { EarshotError } from '../../src/core/errors.js';
import { loadManifest, readVerifiedModel, type ModelManifest } from '../../src/models/index.js';
import { deriveBatchedClassifier } from '../../src/wakeword/batched-classifier-generator.js';
import { openClassifier } from '../../src/wakeword/onnx-sessions.js';
import { MANIFEST, ROOT, rng } from './helpers.js';

const { onnx } = onnxProto;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let manifest: ModelManifest;

beforeAll(async () => {
  manifest = await loadManifest(MANIFEST);
});

describe('batched classifier generator', () => {
  it('reproduces every committed batched classifier, deterministically', async () => {
    const words = manifest.models.filter((m) => m.kind === 'wakeword').map((m) => m.name);
    expect(words.length).toBe(6);
    for (const w of words) {
      const src = await readVerifiedModel(manifest, manifest.models.find((m) => m.name === w)!);
      const a = deriveBatchedClassifier(src.bytes, src.entry.sha256);
      const b = deriveBatchedClassifier(Uint8Array.from(src.bytes), src.entry.sha256);
      expect(sha(a.bytes)).toBe(sha(b.bytes));
      expect(sha(a.bytes)).toBe(sha(readFileSync(path.join(ROOT, 'models', `${w}_batched.onnx`))));
      expect(sha(a.bytes)).toBe(manifest.models.find((m) => m.name === `${w}_batched`)!.sha256);
      expect({ w, inlinedIf: a.inlinedIf }).toEqual({ w, inlinedIf: w === 'hey_jarvis' ? 1 : 0 });
    }
  });

  it('one call over 4 windows gives each row exactly the pinned classifier’s output for that window alone', async () => {
    const r = rng(3);
    for (const w of ['hey_jarvis', 'alexa', 'timer']) {
      const c = await openClassifier(manifest, w);
      expect(c.batched).toBeDefined();
      const per = c.window * 96;
      let verifierRows = 0;
      for (let round = 0; round < 40; round++) {
        const x = Float32Array.from({ length: 4 * per }, () => (r() * 2 - 1) * (1 + (round % 4)) * 2);
        const all = (await c.batched!.run({ [c.inputName]: new ort.Tensor('float32', x, [4, c.window, 96]) }))[c.outputName]!.data as Float32Array;
        for (let i = 0; i < 4; i++) {
          const one = (await c.session.run({ [c.inputName]: new ort.Tensor('float32', x.slice(i * per, (i + 1) * per), [1, c.window, 96]) }))[c.outputName]!.data as Float32Array;
          expect(Array.from(all.subarray(i * c.classes, (i + 1) * c.classes))).toEqual(Array.from(one));
          if (c.classes === 1 && one[0]! >= 0.5) verifierRows++;
        }
      }
      // hey_jarvis's second network runs only for rows its first one scores ≥ 0.5: those rows are covered.
      if (w === 'hey_jarvis') expect(verifierRows).toBeGreaterThan(10);
    }
  });

  it('refuses graphs whose rows are not independent, naming the node', async () => {
    const src = await readVerifiedModel(manifest, manifest.models.find((m) => m.name === 'alexa')!);
    const refusal = (change: (g: onnxProto.onnx.IGraphProto) => void): string => {
      const m = onnx.ModelProto.decode(src.bytes);
      change(m.graph!);
      try {
        deriveBatchedClassifier(onnx.ModelProto.encode(m).finish(), src.entry.sha256);
      } catch (e) {
        expect((e as EarshotError).code).toBe('MODEL_LOAD_FAILED');
        return (e as Error).message;
      }
      throw new Error('accepted a graph it must refuse');
    };
    expect(refusal((g) => (g.node![0]!.attribute![0]!.i = 0))).toMatch(/Flatten_0.*axis 1/);
    expect(refusal((g) => (g.node![1]!.opType = 'MatMulInteger'))).toMatch(/Gemm_1.*not supported/);
  });
});
