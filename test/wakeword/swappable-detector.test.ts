/** The live swap of detectors: at a frame boundary, whatever the chunk sizes, with stream-time detections. */
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../src/core/audio-format.js';
import type { WakeDetection } from '../../src/wakeword/detector-state.js';
import { SwappableDetector } from '../../src/wakeword/swappable-detector.js';

/** Records what it was fed; "detects" at the end of every 10th frame it completes, in its own time. */
class RecordingProcessor {
  readonly fed: number[] = [];
  private samples = 0;
  constructor(readonly name: string) {}
  async push(samples: Int16Array): Promise<WakeDetection[]> {
    const out: WakeDetection[] = [];
    for (const s of samples) {
      this.fed.push(s);
      this.samples++;
      if (this.samples % (10 * FRAME_SAMPLES) === 0) out.push({ wakeword: this.name, score: 1, atMs: (this.samples * 1000) / 16000 });
    }
    return out;
  }
}

describe('SwappableDetector', () => {
  it('swaps at the next frame boundary even when chunks never align, losing and repeating no sample', async () => {
    const a = new RecordingProcessor('a');
    const b = new RecordingProcessor('b');
    const d = new SwappableDetector(a);
    const stream = Int16Array.from({ length: 40 * FRAME_SAMPLES }, (_, i) => i % 30000);
    const found: WakeDetection[] = [];
    let pos = 0;
    const chunk = 1000; // never a multiple of 1280
    while (pos < stream.length) {
      if (pos >= 5 * FRAME_SAMPLES && d.active === a && !found.some((x) => x.wakeword === 'swap')) {
        d.swap(b);
        found.push({ wakeword: 'swap', score: 0, atMs: 0 });
      }
      found.push(...(await d.push(stream.subarray(pos, pos + chunk))));
      pos += chunk;
    }
    expect(a.fed.length % FRAME_SAMPLES).toBe(0);
    expect(a.fed.length + b.fed.length).toBe(stream.length);
    expect([...a.fed, ...b.fed]).toEqual(Array.from(stream));
    // b detects at its own 10th, 20th, 30th frame; reported in stream time (offset by what a processed).
    const offsetMs = (a.fed.length * 1000) / 16000;
    expect(found.filter((x) => x.wakeword === 'b').map((x) => x.atMs)).toEqual([800, 1600, 2400].map((t) => t + offsetMs).filter((t) => t <= 3200));
  });
});
