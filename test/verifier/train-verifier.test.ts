import { describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/index.js';
import { trainVerifier, verifierProbability, type TrainingSet } from '../../src/verifier/index.js';
import { separableSet } from './synthetic-sets.js';

const NOW = 1_764_590_000_000;

describe('trainVerifier', () => {
  it('separates separable data: positives above the threshold, negatives below, including unseen ones', () => {
    const set = separableSet({ dim: 96, positives: 30, negatives: 400, clips: 3, shift: 3 });
    const model = trainVerifier(set, { wakeword: 'hey_jarvis', now: NOW });
    const fresh = separableSet({ dim: 96, positives: 30, negatives: 400, clips: 3, shift: 3, seed: 99 });
    const acceptedPos = fresh.positives.filter((x) => verifierProbability(model, x) >= 0.5).length;
    const acceptedNeg = fresh.negatives.filter((x) => verifierProbability(model, x) >= 0.5).length;
    expect(acceptedPos).toBeGreaterThanOrEqual(29);
    expect(acceptedNeg).toBeLessThanOrEqual(4);
    expect(model.cvRecall).toBe(1);
    expect(model).toMatchObject({ wakeword: 'hey_jarvis', featureDim: 96, clips: 3, positives: 30, negatives: 400, trainedAt: NOW, gate: 0.1, threshold: 0.5 });
  });

  it('standardises with the training set: mean and scale of every feature', () => {
    const set = separableSet({ dim: 8, positives: 10, negatives: 30, clips: 2, informative: 0 });
    const model = trainVerifier(set, { wakeword: 'alexa', now: NOW });
    const rows = [...set.positives, ...set.negatives];
    const mean0 = rows.reduce((s, r) => s + r[0]!, 0) / rows.length;
    const sd0 = Math.sqrt(rows.reduce((s, r) => s + (r[0]! - mean0) ** 2, 0) / rows.length);
    expect(model.mean[0]).toBeCloseTo(mean0, 4);
    expect(model.scale[0]).toBeCloseTo(sd0, 4);
  });

  it('class weighting: the positives carry their share of the loss, however few they are', () => {
    const set = separableSet({ dim: 64, positives: 6, negatives: 1500, clips: 3, shift: 0.5 });
    const accepted = (positiveShare: number): number => {
      const model = trainVerifier(set, { wakeword: 'hey_jarvis', now: NOW, positiveShare });
      return set.positives.filter((x) => verifierProbability(model, x) >= 0.5).length;
    };
    // Unweighted (6 of 1506 windows), the few positives are outvoted; with the default share they are not.
    expect(accepted(6 / 1506)).toBeLessThan(3);
    expect(accepted(0.1)).toBe(6);
    expect(() => trainVerifier(set, { wakeword: 'hey_jarvis', now: NOW, positiveShare: 1 })).toThrow(/positiveShare/);
  });

  it('is deterministic: the same set gives the same model, bit for bit', () => {
    const a = trainVerifier(separableSet({ dim: 48, positives: 12, negatives: 200, clips: 3 }), { wakeword: 'hey_jarvis', now: NOW });
    const b = trainVerifier(separableSet({ dim: 48, positives: 12, negatives: 200, clips: 3 }), { wakeword: 'hey_jarvis', now: NOW });
    expect(Buffer.from(b.weights.buffer).equals(Buffer.from(a.weights.buffer))).toBe(true);
    expect(b.bias).toBe(a.bias);
    expect(b.cvRecall).toBe(a.cvRecall);
  });

  it('regularises: a larger l2 gives smaller weights', () => {
    const set = separableSet({ dim: 32, positives: 12, negatives: 200, clips: 3 });
    const norm = (l2: number): number => Math.hypot(...trainVerifier(set, { wakeword: 'hey_jarvis', now: NOW, l2 }).weights);
    expect(norm(1)).toBeLessThan(norm(0.01));
  });

  it('cross-validated recall falls when one clip is unlike the others', () => {
    const set = separableSet({ dim: 32, positives: 12, negatives: 300, clips: 3 });
    // Clip 2's windows look like negatives: a model trained without them cannot accept them.
    const negLike = separableSet({ dim: 32, positives: 0, negatives: 4, clips: 1, seed: 7 }).negatives;
    const odd: TrainingSet = { positives: [...set.positives, ...negLike], positiveClip: [...set.positiveClip.map((c) => (c === 2 ? 0 : c)), 2, 2, 2, 2], negatives: set.negatives };
    const model = trainVerifier(odd, { wakeword: 'hey_jarvis', now: NOW });
    expect(model.cvRecall).toBeCloseTo(2 / 3, 10);
  });

  it("negatives made from a clip (its partial phrases) train the model and leave the cross-validation with their clip", () => {
    const set = separableSet({ dim: 32, positives: 12, negatives: 300, clips: 3 });
    // Clip 2's own negatives are its positives again, several times: a fold that kept them while leaving clip 2's
    // positives out would have learnt exactly those windows as "not the word" and reject them.
    const clip2 = set.positives.filter((_, i) => set.positiveClip[i] === 2);
    const own = [...clip2, ...clip2, ...clip2].map((w) => w.slice());
    const withClip = trainVerifier({ ...set, clipNegatives: own, clipNegativeClip: own.map(() => 2) }, { wakeword: 'hey_jarvis', now: NOW });
    expect(withClip.cvRecall).toBe(1);
    expect(withClip.negatives).toBe(300 + own.length);
    // The same windows as plain negatives stay in every fold: clip 2's fold rejects its positives.
    const asPlain = trainVerifier({ ...set, negatives: [...set.negatives, ...own] }, { wakeword: 'hey_jarvis', now: NOW });
    expect(asPlain.cvRecall).toBeCloseTo(2 / 3, 10);
    // The full model learnt them: clip 2's windows score lower than without its own negatives.
    const without = trainVerifier(set, { wakeword: 'hey_jarvis', now: NOW });
    for (const w of clip2) expect(verifierProbability(withClip, w)).toBeLessThan(verifierProbability(without, w));
  });

  it('rejects unusable input with BAD_ARGUMENT naming the problem', () => {
    const ok = separableSet({ dim: 16, positives: 6, negatives: 20, clips: 3 });
    const cases: [Partial<TrainingSet>, RegExp][] = [
      [{ positives: [] }, /positive/],
      [{ negatives: [] }, /negative/],
      [{ positiveClip: [0] }, /positiveClip/],
      [{ positiveClip: ok.positiveClip.map(() => 0) }, /at least 2 enrolment clips/],
      [{ negatives: [...ok.negatives, new Float32Array(15)] }, /negatives\[20\]/],
      [{ positives: [new Float32Array(16).fill(Number.NaN), ...ok.positives.slice(1)] }, /not finite/],
      [{ clipNegatives: [ok.negatives[0]!] }, /clipNegativeClip/],
      [{ clipNegatives: [ok.negatives[0]!], clipNegativeClip: [7] }, /a clip negative names a clip without positives/],
      [{ clipNegatives: [new Float32Array(15)], clipNegativeClip: [0] }, /clipNegatives\[0\]/],
    ];
    for (const [patch, msg] of cases) {
      let err: unknown;
      try {
        trainVerifier({ ...ok, ...patch }, { wakeword: 'hey_jarvis', now: NOW });
      } catch (e) {
        err = e;
      }
      expect(isEarshotError(err, 'BAD_ARGUMENT'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(msg);
    }
    expect(() => trainVerifier(ok, { wakeword: 'hey_jarvis', now: NOW, gate: 0.6, threshold: 0.5 })).toThrow(/gate/);
    expect(() => trainVerifier(ok, { wakeword: 'hey jarvis!', now: NOW })).toThrow(/wakeword/);
  });
});
