import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WakeDetection } from '../../src/wakeword/detector-state.js';
import { WakeDetector } from '../../src/wakeword/wake-detector.js';
import { WakeLoop, type FrameProcessor } from '../../src/wakeword/wake-loop.js';
import { FIXTURES, MANIFEST, readPcm } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A processor slower than real time: 30 ms per 10 ms chunk. It records what it saw, in order. */
class SlowProcessor implements FrameProcessor {
  seen: number[] = [];
  async push(samples: Int16Array): Promise<WakeDetection[]> {
    await sleep(30);
    this.seen.push(samples[0]!);
    return samples[0] === 7 ? [{ wakeword: 'w', score: 0.9, atMs: 70 }] : [];
  }
}

describe('WakeLoop', () => {
  it('never drops audio when the processor is slower than real time: everything is processed in order and the backlog is reported', async () => {
    const proc = new SlowProcessor();
    const detections: WakeDetection[] = [];
    const loop = new WakeLoop(proc, { onDetection: (d) => void detections.push(d) });
    // 40 chunks of 160 samples (10 ms each) arriving every 10 ms.
    for (let i = 0; i < 40; i++) {
      loop.accept(new Int16Array(160).fill(i));
      await sleep(10);
    }
    const during = loop.metrics();
    expect(during.backlogFrames).toBeGreaterThan(0);
    await loop.drain();
    const m = loop.metrics();
    expect(proc.seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(m.framesProcessed).toBe(Math.floor((40 * 160) / 1280));
    expect(m.backlogFrames).toBe(0);
    expect(m.maxBacklogFrames).toBeGreaterThan(1);
    expect(m.maxLagMs).toBeGreaterThan(300);
    expect(detections).toEqual([{ wakeword: 'w', score: 0.9, atMs: 70 }]);
  });

  it('reports a processing failure instead of hiding it', async () => {
    const loop = new WakeLoop({ push: async () => Promise.reject(new Error('boom')) });
    loop.accept(new Int16Array(1280));
    await expect(loop.drain()).rejects.toThrow('boom');
    expect(() => loop.accept(new Int16Array(1280))).toThrow(/stopped/);
  });

  it('runs the real detector over a WAV source at whatever pace it arrives and finds the wake word', async () => {
    const pcm = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-gb.wav'));
    const detector = await WakeDetector.create({ words: ['hey_jarvis'], manifest: MANIFEST });
    const found: WakeDetection[] = [];
    let postWake = 0;
    const loop = new WakeLoop(detector, {
      onDetection: (d) => void found.push(d),
      // What a capture session does: keep only what follows the detecting frame.
      onProcessed: (samples, detections, startSample) => {
        if (detections.length > 0) postWake += samples.length - (detections[0]!.atMs * 16 - startSample);
        else if (found.length > 0) postWake += samples.length;
      },
    });
    async function* source() {
      for (let i = 0; i < pcm.length; i += 3000) yield pcm.subarray(i, i + 3000);
    }
    await loop.run(source());
    expect(found.map((d) => d.wakeword)).toEqual(['hey_jarvis']);
    expect(loop.metrics().framesProcessed).toBe(Math.floor(pcm.length / 1280));
    expect(postWake).toBe(pcm.length - found[0]!.atMs * 16);
  });
});
