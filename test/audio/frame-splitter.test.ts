import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { FrameSplitter, toFrames } from '../../src/audio/frame-splitter.js';
import { concat } from './signal.js';

function ramp(n: number, start = 0): Int16Array {
  return new Int16Array(n).map((_, i) => ((start + i) % 60000) - 30000);
}

/** Byte comparison: vitest's deep equality is slow on large typed arrays inside a property test. */
function same(a: Int16Array, b: Int16Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('FrameSplitter', () => {
  it('turns any chunking into the same exact frames, carrying the remainder', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 20 }), fc.constantFrom(1280, 640, 512, 3), (sizes, frameSize) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const input = ramp(total);
        const splitter = new FrameSplitter(frameSize);
        const frames: Int16Array[] = [];
        let pos = 0;
        for (const s of sizes) {
          frames.push(...splitter.push(input.subarray(pos, pos + s)));
          pos += s;
        }
        expect(frames.every((f) => f.length === frameSize)).toBe(true);
        expect(frames.length).toBe(Math.floor(total / frameSize));
        expect(splitter.pending).toBe(total % frameSize);
        expect(same(concat(frames), input.subarray(0, frames.length * frameSize))).toBe(true);
        const rest = splitter.flush();
        expect(same(concat(rest ? [...frames, rest] : frames), input)).toBe(true);
        expect(splitter.pending).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('returns frames the caller owns (not views of the input or of its own buffer)', () => {
    const s = new FrameSplitter(4);
    const input = Int16Array.from([1, 2, 3, 4, 5, 6]);
    const [a] = s.push(input);
    input.fill(0);
    const [b] = s.push(Int16Array.from([7, 8]));
    expect(Array.from(a!)).toEqual([1, 2, 3, 4]);
    expect(Array.from(b!)).toEqual([5, 6, 7, 8]);
  });

  it('flush(true) zero-pads the last frame; reset drops pending audio', () => {
    const s = new FrameSplitter(4);
    s.push(Int16Array.from([9, 9, 9]));
    expect(Array.from(s.flush(true)!)).toEqual([9, 9, 9, 0]);
    expect(s.flush()).toBeUndefined();
    s.push(Int16Array.from([1]));
    s.reset();
    expect(s.pending).toBe(0);
    expect(s.flush()).toBeUndefined();
  });

  it('rejects a nonsensical frame size', () => {
    expect(() => new FrameSplitter(0)).toThrow(RangeError);
    expect(() => new FrameSplitter(2.5)).toThrow(RangeError);
  });
});

describe('toFrames', () => {
  async function* chunks(parts: Int16Array[]) {
    for (const p of parts) yield p;
  }

  it('re-frames a stream and optionally pads the tail', async () => {
    const input = ramp(3000);
    const parts = [input.subarray(0, 700), input.subarray(700, 2900), input.subarray(2900)];
    const plain: Int16Array[] = [];
    for await (const f of toFrames(chunks(parts), 1280)) plain.push(f);
    expect(plain.map((f) => f.length)).toEqual([1280, 1280]);
    const padded: Int16Array[] = [];
    for await (const f of toFrames(chunks(parts), 1280, true)) padded.push(f);
    expect(padded.map((f) => f.length)).toEqual([1280, 1280, 1280]);
    expect(Array.from(padded[2]!.subarray(0, 440))).toEqual(Array.from(input.subarray(2560)));
    expect(padded[2]!.subarray(440).every((v) => v === 0)).toBe(true);
  });
});
