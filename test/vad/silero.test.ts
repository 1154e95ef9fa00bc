import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import { SileroVad, VAD_CHUNK_SAMPLES } from '../../src/vad/silero-vad.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

async function probabilities(vad: SileroVad, pcm: Int16Array): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i + VAD_CHUNK_SAMPLES <= pcm.length; i += VAD_CHUNK_SAMPLES) out.push(await vad.process(pcm.subarray(i, i + VAD_CHUNK_SAMPLES)));
  return out;
}

describe('SileroVad', () => {
  it('gives high speech probability on speech and low on silence, per 40 ms chunk', async () => {
    const vad = await SileroVad.create(path.join(ROOT, 'models', 'manifest.json'));
    const speech = (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-gb.wav'))).pcm16k;
    // The fixture is 2.4 s of quiet room noise, then speech.
    const p = await probabilities(vad, speech);
    const lead = p.slice(0, Math.floor((2.3 * 16000) / VAD_CHUNK_SAMPLES));
    const talk = p.slice(Math.ceil((2.5 * 16000) / VAD_CHUNK_SAMPLES), Math.floor((4.5 * 16000) / VAD_CHUNK_SAMPLES));
    expect(Math.max(...lead)).toBeLessThan(0.3);
    expect(talk.filter((x) => x > 0.5).length / talk.length).toBeGreaterThan(0.6);
    vad.reset();
    const silence = await probabilities(vad, new Int16Array(16000 * 2));
    expect(Math.max(...silence)).toBeLessThan(0.1);
  });

  it('keeps state between chunks (reset restarts it) and refuses wrong chunk sizes', async () => {
    const vad = await SileroVad.create(path.join(ROOT, 'models', 'manifest.json'));
    const speech = (await readWavFile(path.join(ROOT, 'test', 'fixtures', 'wake', 'hey_jarvis__en-us.wav'))).pcm16k.subarray(2.6 * 16000);
    const first = await probabilities(vad, speech.subarray(0, 6400));
    vad.reset();
    const again = await probabilities(vad, speech.subarray(0, 6400));
    expect(again).toEqual(first);
    await expect(vad.process(new Int16Array(512))).rejects.toThrow(/640/);
  });
});
