import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEarshot } from '../helpers/cli.js';

const CLIP = path.resolve('test/fixtures/wake/alexa__en-us.wav');

describe('earshot detect --scores (per-frame readout for tuning by hand)', () => {
  it('--json prints one object per 80 ms frame with every word, and marks the detecting frame', async () => {
    const r = await runEarshot(['detect', CLIP, '--wakeword', 'alexa', '--wakeword', 'hey_jarvis', '--scores', '--json']);
    expect(r.code).toBe(0);
    const frames = r.out.trim().split('\n').map((l) => JSON.parse(l) as { endMs: number; scores: Record<string, number>; warm: boolean; fired: string[] });
    expect(frames.map((f) => f.endMs)).toEqual(frames.map((_, i) => (i + 1) * 80));
    for (const f of frames) expect(Object.keys(f.scores)).toEqual(['alexa', 'hey_jarvis']);
    expect(frames[0]!.warm).toBe(false);
    const fired = frames.filter((f) => f.fired.length > 0);
    // Same detection as plain `detect` (test/fixtures/MEASUREMENTS.md §5: alexa @ 3120 ms).
    expect(fired.map((f) => [f.endMs, f.fired])).toEqual([[3120, ['alexa']]]);
    expect(fired[0]!.scores['alexa']).toBeGreaterThanOrEqual(0.5);
    const plain = await runEarshot(['detect', CLIP, '--wakeword', 'alexa', '--wakeword', 'hey_jarvis', '--json']);
    expect(JSON.parse(plain.out.trim()).atMs).toBe(3120);
  });

  it('plain text: a header, one line per frame, the detection noted', async () => {
    const r = await runEarshot(['detect', CLIP, '--wakeword', 'alexa', '--scores']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ +time +alexa$/);
    expect(lines[1]).toMatch(/^ +0\.08 s +0\.000 +warming up$/);
    expect(r.out).toMatch(/^ +3\.12 s +0\.\d{3} +fired: alexa$/m);
  });
});
