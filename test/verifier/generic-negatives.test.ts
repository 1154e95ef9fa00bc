import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/index.js';
import { loadManifest, parseManifest, verifyAll } from '../../src/models/index.js';
import { decodeNegativeRuns, encodeNegativeRuns, genericNegatives, windowsOfRuns } from '../../src/verifier/index.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/verifier/float16.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MANIFEST = path.join(ROOT, 'models', 'manifest.json');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'earshot-negatives-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('float16', () => {
  it('round-trips every half exactly and rounds to the nearest half', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = fromFloat16Bits(h);
      if (Number.isNaN(x)) continue;
      expect(toFloat16Bits(x)).toBe(h === 0x8000 ? 0x8000 : h);
    }
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
        const y = fromFloat16Bits(toFloat16Bits(x));
        // Half precision keeps 11 significant bits; below 2^-14 the step is fixed at 2^-24.
        return Math.abs(y - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25);
      }),
    );
    expect(fromFloat16Bits(toFloat16Bits(1e6))).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('the negatives file format', () => {
  const runs = { dim: 3, window: 2, stride: 1, runs: [Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), Float32Array.from([0.5, -0.25, 2, 1, 1, 1])] };

  it('round-trips runs and rebuilds the sliding windows (oldest embedding first)', () => {
    const back = decodeNegativeRuns(encodeNegativeRuns(runs));
    expect(back).toEqual(runs);
    expect(windowsOfRuns(back).map((w) => Array.from(w))).toEqual([
      [1, 2, 3, 4, 5, 6],
      [4, 5, 6, 7, 8, 9],
      [0.5, -0.25, 2, 1, 1, 1],
    ]);
    expect(windowsOfRuns({ ...back, stride: 2 })).toHaveLength(2);
  });

  it('refuses a foreign, truncated, extended or mis-described file with INTEGRITY', () => {
    const b = encodeNegativeRuns(runs);
    const bad = [new Uint8Array(0), b.subarray(0, 10), b.subarray(0, b.length - 2), new Uint8Array([...b, 0, 0]), Uint8Array.from(b).fill(0x41, 0, 4)];
    const lying = Uint8Array.from(b);
    new DataView(lying.buffer).setUint32(16, 0xffffffff, true); // first run "holds" 4 billion embeddings
    const manyRuns = Uint8Array.from(b);
    new DataView(manyRuns.buffer).setUint32(12, 0x7fffffff, true);
    for (const x of [...bad, lying, manyRuns]) expect(isEarshotError(errorOf(() => decodeNegativeRuns(x)), 'INTEGRITY')).toBe(true);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (x) => {
        const e = errorOf(() => decodeNegativeRuns(x));
        return e === undefined || isEarshotError(e, 'INTEGRITY');
      }),
    );
  });
});

describe('the shipped generic negatives', () => {
  it('load through the manifest: a few thousand windows of 16 × 96, pinned with their provenance', async () => {
    const manifest = await loadManifest(MANIFEST);
    const entry = manifest.models.find((m) => m.kind === 'verifier-negatives')!;
    expect(entry.madeWith?.script).toBe('scripts/make-verifier-negatives.mjs');
    expect(entry.madeWith?.models['embedding_streaming']).toBe(manifest.models.find((m) => m.kind === 'embedding-stream')!.sha256);
    expect(entry.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    const windows = await genericNegatives(manifest);
    expect(windows.length).toBeGreaterThan(1000);
    expect(windows.length).toBeLessThan(5000);
    for (const w of windows) expect(w.length).toBe(1536);
    expect(windows.some((w) => w.some((x) => x !== 0))).toBe(true);
  });

  it('a changed file is refused (MODEL_HASH_MISMATCH), and `models verify` reports it', async () => {
    const doc = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { models: { kind: string; file: string }[] };
    const entry = doc.models.find((m) => m.kind === 'verifier-negatives')!;
    const bytes = readFileSync(path.join(ROOT, 'models', entry.file));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(path.join(tmp, entry.file), bytes);
    // The same manifest, read from a folder where the local files are this test's copies.
    const manifest = parseManifest(doc, path.join(tmp, 'manifest.json'));
    let err: unknown;
    try {
      await genericNegatives(manifest);
    } catch (e) {
      err = e;
    }
    expect(isEarshotError(err, 'MODEL_HASH_MISMATCH')).toBe(true);
    const report = await verifyAll({ ...manifest, models: manifest.models.filter((m) => m.kind === 'verifier-negatives') });
    expect(report).toMatchObject([{ name: 'verifier_negatives', ok: false, code: 'MODEL_HASH_MISMATCH' }]);
    copyFileSync(path.join(ROOT, 'models', entry.file), path.join(tmp, entry.file));
    expect(await verifyAll({ ...manifest, models: manifest.models.filter((m) => m.kind === 'verifier-negatives') })).toMatchObject([{ ok: true }]);
  });

  it('the manifest is invalid when the feature models it was made with are not the pinned ones', () => {
    const doc = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { models: { kind: string; madeWith?: { models: Record<string, string> } }[] };
    const entry = doc.models.find((m) => m.kind === 'verifier-negatives')!;
    entry.madeWith!.models['embedding_streaming'] = '0'.repeat(64);
    const err = errorOf(() => parseManifest(doc, MANIFEST));
    expect(isEarshotError(err, 'MODEL_MANIFEST_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/madeWith\/models\/embedding_streaming.*make-verifier-negatives/);
  });
});
