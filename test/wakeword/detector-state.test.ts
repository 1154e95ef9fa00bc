import { describe, expect, it } from 'vitest';
import { DetectorState } from '../../src/wakeword/detector-state.js';

const frame = (i: number, ...scores: number[]) => ({ endMs: i * 80, scores });

describe('DetectorState (pure decisions on scores)', () => {
  it('fires once when a score reaches the threshold and reports the frame end time', () => {
    const s = new DetectorState({ words: [{ name: 'hey_jarvis', threshold: 0.5 }] });
    const seq = [0.1, 0.3, 0.49, 0.5, 0.9, 0.95, 0.2];
    const hits = seq.flatMap((x, i) => s.onFrame(frame(i + 1, x)));
    expect(hits).toEqual([{ wakeword: 'hey_jarvis', score: 0.5, atMs: 320 }]);
  });

  it('uses per-word thresholds', () => {
    const s = new DetectorState({ words: [{ name: 'a', threshold: 0.9 }, { name: 'b', threshold: 0.3 }] });
    expect(s.onFrame(frame(1, 0.6, 0.6)).map((d) => d.wakeword)).toEqual(['b']);
    expect(s.onFrame(frame(2, 0.95, 0.1)).map((d) => d.wakeword)).toEqual(['a']);
  });

  it('patience needs N consecutive frames above threshold; a dip resets the count', () => {
    const s = new DetectorState({ words: [{ name: 'w', threshold: 0.5 }], patienceFrames: 3 });
    const seq = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9];
    const hits = seq.map((x, i) => s.onFrame(frame(i + 1, x)).length);
    expect(hits).toEqual([0, 0, 0, 0, 0, 1]);
  });

  it('refractory: the same word cannot fire again within refractoryMs, but can after it', () => {
    const s = new DetectorState({ words: [{ name: 'w', threshold: 0.5 }], refractoryMs: 2000 });
    const fired: number[] = [];
    for (let i = 1; i <= 60; i++) {
      // Two separate utterances: high at frames 10-12, 20-22 (within 2 s) and 40-42 (after).
      const high = [10, 11, 12, 20, 21, 22, 40, 41, 42].includes(i);
      for (const d of s.onFrame(frame(i, high ? 0.9 : 0.1))) fired.push(d.atMs);
    }
    expect(fired).toEqual([800, 3200]);
  });

  it('refractory is per word: another word may fire meanwhile', () => {
    const s = new DetectorState({ words: [{ name: 'a', threshold: 0.5 }, { name: 'b', threshold: 0.5 }] });
    expect(s.onFrame(frame(1, 0.9, 0)).length).toBe(1);
    expect(s.onFrame(frame(3, 0.1, 0)).length).toBe(0);
    expect(s.onFrame(frame(4, 0.9, 0.9)).map((d) => d.wakeword)).toEqual(['b']);
  });

  it('frames that are not warm never fire and break a patience streak', () => {
    const s = new DetectorState({ words: [{ name: 'w', threshold: 0.5 }], patienceFrames: 2 });
    expect(s.onFrame({ endMs: 80, scores: [0.99], warm: [false] })).toEqual([]);
    expect(s.onFrame({ endMs: 160, scores: [0.99], warm: [true] })).toEqual([]);
    expect(s.onFrame({ endMs: 240, scores: [0.99], warm: [true] }).length).toBe(1);
  });

  it('VAD gate: only fires when speech was noted within the last second', () => {
    const s = new DetectorState({ words: [{ name: 'w', threshold: 0.5 }], vadGate: true, refractoryMs: 0 });
    expect(s.onFrame(frame(10, 0.9))).toEqual([]);
    s.noteSpeech(700);
    expect(s.onFrame(frame(11, 0.1))).toEqual([]);
    expect(s.onFrame(frame(12, 0.9)).length).toBe(1); // 960 − 700 ≤ 1000
    expect(s.onFrame(frame(30, 0.9))).toEqual([]); // 2400 − 700 > 1000
  });

  it('rejects nonsense settings', () => {
    expect(() => new DetectorState({ words: [] })).toThrow();
    expect(() => new DetectorState({ words: [{ name: 'w', threshold: 1.5 }] })).toThrow(/threshold/);
    expect(() => new DetectorState({ words: [{ name: 'w', threshold: 0.5 }], patienceFrames: 0 })).toThrow(/patience/);
  });
});
