import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { encodeWav, readWavFile } from '../../src/audio/wav.js';
import { WavFileSource } from '../../src/audio/sources/wav-file-source.js';
import { PcmStreamSource } from '../../src/audio/sources/pcm-stream-source.js';
import { PcmByteDecoder } from '../../src/audio/pcm-bytes.js';
import { concat } from './signal.js';

const FIX = join(import.meta.dirname, '../fixtures/audio');

async function collect(source: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const c of source) out.push(c);
  return out;
}

describe('WavFileSource', () => {
  it('replays a file as fast as possible in 1280-sample chunks, converted to 16 kHz mono', async () => {
    const path = join(FIX, 'tone1k-44k1-stereo-s16.wav');
    const source = await WavFileSource.open(path);
    const chunks = await collect(source);
    expect(chunks.slice(0, -1).every((c) => c.length === 1280)).toBe(true);
    expect(concat(chunks)).toEqual((await readWavFile(path)).pcm16k);
    expect(source.wav.sampleRate).toBe(44100);
  });

  it('can be replayed more than once and with another chunk size', async () => {
    const source = await WavFileSource.open(join(FIX, 'mic-speech-16k.wav'), { chunkSamples: 500 });
    const a = concat(await collect(source));
    const b = concat(await collect(source));
    expect(a.length).toBe(48000);
    expect(b).toEqual(a);
  });

  it('paces at real time when asked (a 0.6 s file takes about 0.6 s)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-audio-'));
    const path = join(dir, 'short.wav');
    writeFileSync(path, encodeWav(new Int16Array(9600).fill(7)));
    const fast0 = performance.now();
    await collect(await WavFileSource.open(path));
    const fastMs = performance.now() - fast0;
    const t0 = performance.now();
    const arrivals: number[] = [];
    for await (const _ of await WavFileSource.open(path, { realtime: true })) arrivals.push(performance.now() - t0);
    const total = arrivals[arrivals.length - 1]!;
    expect(fastMs).toBeLessThan(300);
    expect(total).toBeGreaterThanOrEqual(590);
    expect(total).toBeLessThan(1500);
    // The first 80 ms chunk is released when a microphone would have delivered it, not at once.
    expect(arrivals[0]!).toBeGreaterThanOrEqual(75);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const source = await WavFileSource.open(join(FIX, 'mic-speech-16k.wav'), { realtime: true, signal: ac.signal });
    const t0 = performance.now();
    let n = 0;
    for await (const _ of source) {
      if (++n === 2) ac.abort();
    }
    expect(n).toBe(2);
    expect(performance.now() - t0).toBeLessThan(1000); // the file is 3 s long
  });

  it('refuses a bad file before any audio flows', async () => {
    await expect(WavFileSource.open(join(FIX, 'adpcm-8k.wav'))).rejects.toMatchObject({ code: 'AUDIO_FORMAT' });
    await expect(WavFileSource.open(join(FIX, 'missing.wav'))).rejects.toMatchObject({ code: 'AUDIO_FILE' });
  });
});

describe('PcmByteDecoder', () => {
  it('decodes little-endian s16 and carries an odd byte, including across empty and 1-byte chunks', () => {
    const d = new PcmByteDecoder();
    const out: number[] = [];
    for (const part of [[0x01], [], [0x02, 0x03], [0xff], [0x7f, 0x00, 0x00], [0x80]]) {
      out.push(...d.push(Uint8Array.from(part)));
      if (part.length === 1 && part[0] === 0x01) expect(d.hasPendingByte).toBe(true);
    }
    expect(out).toEqual([0x0201, 0xff03 - 0x10000, 0x007f, -32768]);
    expect(d.hasPendingByte).toBe(false);
  });
});

describe('PcmStreamSource', () => {
  const samples = Int16Array.from({ length: 5001 }, (_, i) => ((i * 7919) % 65536) - 32768);
  const bytes = Buffer.from(samples.buffer);

  it('reads raw 16 kHz s16le from a stream, whatever the byte chunking', async () => {
    const cuts = [1, 2, 3, 999, 1000, 4097, 8001, bytes.length];
    const parts: Buffer[] = [];
    let prev = 0;
    for (const c of cuts) {
      parts.push(bytes.subarray(prev, c));
      prev = c;
    }
    const source = new PcmStreamSource(Readable.from(parts));
    expect(concat(await collect(source))).toEqual(samples);
    expect(source.droppedTrailingByte).toBe(false);
  });

  it('reports a dangling half sample at the end', async () => {
    const source = new PcmStreamSource(Readable.from([bytes.subarray(0, 11)]));
    expect((concat(await collect(source))).length).toBe(5);
    expect(source.droppedTrailingByte).toBe(true);
  });

  it('ends when aborted even if the stream stays silent', async () => {
    const stdinLike = new PassThrough();
    const ac = new AbortController();
    const source = new PcmStreamSource(stdinLike, { signal: ac.signal });
    stdinLike.write(bytes.subarray(0, 2560));
    setTimeout(() => ac.abort(), 50);
    const got = await collect(source);
    expect(concat(got).length).toBe(1280);
  });
});

describe('WavFileSource reads block by block', () => {
  for (const file of ['tone1k-48k-stereo-s24.wav', 'tone1k-22k05-f32.wav', 'tone1k-8k-u8.wav', 'mic-speech-16k.wav']) {
    it(`${file}: the streamed audio equals the whole-file decode`, async () => {
      const path = join(FIX, file);
      expect(concat(await collect(await WavFileSource.open(path, { chunkSamples: 777 })))).toEqual((await readWavFile(path)).pcm16k);
    });
  }

  it('reads only the header up front: opening a 1-hour file takes no memory for its audio', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-audio-'));
    const { writeSilentWav } = await import('../../src/bench/long-input.js');
    const path = join(dir, 'hour.wav');
    writeSilentWav(path, 3600);
    const before = process.memoryUsage().arrayBuffers;
    const source = await WavFileSource.open(path);
    expect(source.durationMs).toBe(3_600_000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
    rmSync(dir, { recursive: true, force: true });
  });
});
