import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/index.js';
import { decodeVerifierModel, encodeVerifierModel, trainVerifier, verifierProbability, type VerifierModel } from '../../src/verifier/index.js';
import { separableSet } from './synthetic-sets.js';

const model = trainVerifier(separableSet({ dim: 40, positives: 9, negatives: 60, clips: 3 }), { wakeword: 'hey_mycroft', now: 1_764_590_000_000, gate: 0.15, threshold: 0.6 });

function decodeError(b: Uint8Array): unknown {
  try {
    decodeVerifierModel(b);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('verifier model bytes', () => {
  it('round-trips every field exactly, and the decoded model scores the same', () => {
    const back = decodeVerifierModel(encodeVerifierModel(model));
    expect(back).toEqual(model);
    const x = separableSet({ dim: 40, positives: 1, negatives: 0, clips: 1, seed: 5 }).positives[0]!;
    expect(verifierProbability(back, x)).toBe(verifierProbability(model, x));
  });

  it('starts with its version byte; an unknown version is refused', () => {
    const b = encodeVerifierModel(model);
    expect(b[0]).toBe(1);
    b[0] = 2;
    const err = decodeError(b);
    expect(isEarshotError(err, 'INTEGRITY')).toBe(true);
    expect((err as Error).message).toMatch(/version 2/);
  });

  it('refuses truncated, extended and mis-sized blobs with INTEGRITY', () => {
    const b = encodeVerifierModel(model);
    for (const bad of [b.subarray(0, 0), b.subarray(0, 10), b.subarray(0, b.length - 1), new Uint8Array([...b, 0])]) {
      expect(isEarshotError(decodeError(bad), 'INTEGRITY')).toBe(true);
    }
    // featureDim claims more than the bytes hold: refused before any array is made.
    const big = Uint8Array.from(b);
    new DataView(big.buffer).setUint32(2 + model.wakeword.length, 16_000, true);
    expect((decodeError(big) as Error).message).toMatch(/16000 features/);
    const huge = Uint8Array.from(b);
    new DataView(huge.buffer).setUint32(2 + model.wakeword.length, 0xffffffff, true);
    expect((decodeError(huge) as Error).message).toMatch(/out of range/);
  });

  it('refuses values no trained model has (NaN weight, zero scale, gate above threshold, bad name)', () => {
    const enc = encodeVerifierModel(model);
    const head = 2 + model.wakeword.length + 4;
    const patch = (f: (v: DataView) => void): Uint8Array => {
      const c = Uint8Array.from(enc);
      f(new DataView(c.buffer));
      return c;
    };
    const weightsAt = head + 48 + 12 + 2 * 4 * model.featureDim;
    const scaleAt = head + 48 + 12 + 4 * model.featureDim;
    const cases: [Uint8Array, RegExp][] = [
      [patch((v) => v.setFloat32(weightsAt + 8, Number.NaN, true)), /weights\[2\] is not finite/],
      [patch((v) => v.setFloat32(scaleAt, 0, true)), /scale\[0\] must be > 0/],
      [patch((v) => v.setFloat64(head + 8, 0.9, true)), /gate/],
      [patch((v) => v.setFloat64(head, Number.POSITIVE_INFINITY, true)), /bias/],
      [patch((v) => v.setFloat64(head + 32, 1.5, true)), /cvRecall/],
      [patch((v) => v.setUint8(2, 0x20)), /wakeword/],
      [patch((v) => v.setUint8(3, 0xff)), /UTF-8|wakeword/],
    ];
    for (const [bytes, msg] of cases) {
      const err = decodeError(bytes);
      expect(isEarshotError(err, 'INTEGRITY'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(msg);
    }
  });

  it('never crashes on arbitrary bytes or on random corruption: a model or INTEGRITY', () => {
    const enc = encodeVerifierModel(model);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const err = decodeError(bytes);
        return err === undefined || isEarshotError(err, 'INTEGRITY');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(enc.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const c = Uint8Array.from(enc);
        for (const [i, x] of edits) c[i] = x;
        const err = decodeError(c);
        if (err !== undefined) return isEarshotError(err, 'INTEGRITY');
        const m = decodeVerifierModel(c);
        return m.mean.length === m.featureDim && m.weights.length === m.featureDim && m.scale.length === m.featureDim;
      }),
      { numRuns: 300 },
    );
  });

  it('decodes from a view at any offset (a slice of a larger buffer)', () => {
    const enc = encodeVerifierModel(model);
    const big = new Uint8Array(enc.length + 3);
    big.set(enc, 3);
    expect(decodeVerifierModel(big.subarray(3))).toEqual(model);
  });

  it('refuses to encode an invalid model (BAD_ARGUMENT)', () => {
    const bad: VerifierModel = { ...model, weights: new Float32Array(3) };
    let err: unknown;
    try {
      encodeVerifierModel(bad);
    } catch (e) {
      err = e;
    }
    expect(isEarshotError(err, 'BAD_ARGUMENT')).toBe(true);
    expect(() => decodeVerifierModel('nope' as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });
});
