import { describe, expect, it } from 'vitest';
import { NearMissWatch, type NearMiss } from '../../src/daemon/index.js';

function run(seq: number[][], words = [{ name: 'a', threshold: 0.5 }, { name: 'b', threshold: 0.8 }]): NearMiss[] {
  const got: NearMiss[] = [];
  const w = new NearMissWatch(words, (n) => got.push(n));
  seq.forEach((scores, i) => w.onFrame({ endMs: (i + 1) * 80, scores }));
  return got;
}

describe('NearMissWatch (earshot run --log-near-misses)', () => {
  it('reports one near miss per episode above half the threshold: the peak and its time', () => {
    const got = run([[0.1, 0], [0.3, 0], [0.45, 0], [0.3, 0], [0.1, 0], [0.26, 0], [0.0, 0]]);
    expect(got).toEqual([
      { wakeword: 'a', score: 0.45, atMs: 240 },
      { wakeword: 'a', score: 0.26, atMs: 480 },
    ]);
  });

  it('an episode that reached the threshold is a detection, not a near miss; words have their own thresholds', () => {
    const got = run([[0.4, 0.45], [0.9, 0.5], [0.3, 0.1], [0.0, 0.0]]);
    expect(got).toEqual([{ wakeword: 'b', score: 0.5, atMs: 160 }]);
  });

  it('reports only word, score and time', () => {
    const [n] = run([[0.3, 0], [0, 0]]);
    expect(Object.keys(n!).sort()).toEqual(['atMs', 'score', 'wakeword']);
  });
});
