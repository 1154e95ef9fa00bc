/**
 * Partial-phrase copies (pure): the voiced span is found from 20 ms block powers, the copy is the clip up to the
 * cut then the clip's own lead-in background, as long as the clip, and refused fractions are named.
 */
import { describe, expect, it } from 'vitest';
import { isEarshotError } from '../../src/core/index.js';
import { truncatedPhrase, voicedSpan } from '../../src/wakeword/index.js';

/** 0.5 s of quiet background (±40, a fixed pattern), 1 s of loud tone, 0.3 s of background. */
function clip(): Int16Array {
  const out = new Int16Array(28800);
  for (let i = 0; i < out.length; i++) out[i] = ((i * 7919) % 81) - 40;
  for (let i = 8000; i < 24000; i++) out[i] = Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 16000));
  return out;
}

describe('voicedSpan', () => {
  it('runs from the first to the last block within 20 dB of the loudest, among the blocks ending by `before`', () => {
    expect(voicedSpan(clip())).toEqual({ start: 8000, end: 24000 });
    // A clip that goes on after the phrase: only what ends by `before` is the phrase.
    expect(voicedSpan(clip(), 16000)).toEqual({ start: 8000, end: 16000 });
    expect(truncatedPhrase(clip(), 0.5, 16000)!.cut).toBe(12000);
    expect(voicedSpan(new Int16Array(16000))).toBeUndefined();
    expect(voicedSpan(new Int16Array(100).fill(1000))).toBeUndefined();
  });
});

describe('truncatedPhrase', () => {
  it('keeps the clip up to the cut, then the background from before the phrase, at the clip\'s length', () => {
    const pcm = clip();
    const t = truncatedPhrase(pcm, 0.4)!;
    expect(t.cut).toBe(8000 + 0.4 * 16000);
    expect(t.pcm.length).toBe(pcm.length);
    // Before the cut (less the 5 ms fade-out) the copy is the clip.
    expect(Array.from(t.pcm.subarray(0, t.cut - 80))).toEqual(Array.from(pcm.subarray(0, t.cut - 80)));
    // After the fade-in, the clip's own lead-in background, repeated as needed; no tone is left.
    const after = Array.from(t.pcm.subarray(t.cut + 80));
    expect(after).toEqual(after.map((_, i) => pcm[(i + 80) % 8000]));
    expect(Math.max(...Array.from(t.pcm.subarray(t.cut)).map(Math.abs))).toBeLessThanOrEqual(40);
    // The fade: the last sample before the cut is silenced, so the splice adds no click.
    expect(t.pcm[t.cut - 1]).toBe(0);
    expect(truncatedPhrase(pcm, 0.4)).toEqual(t);
    expect(truncatedPhrase(pcm, 0.7)!.cut).toBe(8000 + 0.7 * 16000);
  });

  it('gives nothing for a clip without a phrase or without background before it; refuses fractions outside (0, 1)', () => {
    expect(truncatedPhrase(new Int16Array(16000), 0.5)).toBeUndefined();
    const noLead = clip().subarray(8000);
    expect(truncatedPhrase(noLead, 0.5)).toBeUndefined();
    for (const f of [0, 1, -0.2, Number.NaN]) {
      try {
        truncatedPhrase(clip(), f);
        expect.unreachable();
      } catch (e) {
        expect(isEarshotError(e) && e.code === 'BAD_ARGUMENT').toBe(true);
      }
    }
  });
});
