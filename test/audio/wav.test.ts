import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWav, parseWav, readWav, readWavFile } from '../../src/audio/wav.js';
import { EarshotError } from '../../src/core/errors.js';
import { middle, rms, toneAmplitude, zeroCrossingFrequency } from './signal.js';

const FIX = join(import.meta.dirname, '../fixtures/audio');
const HALF_SCALE = 0.5 * 32768;

/** Builds a RIFF/WAVE file from raw chunks (id, body), padding odd chunks as the spec requires. */
function riff(chunks: Array<[string, Buffer]>, opts: { padOdd?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const [id, body] of chunks) {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(body.length, 4);
    parts.push(head, body);
    if (body.length % 2 === 1 && opts.padOdd !== false) parts.push(Buffer.alloc(1));
  }
  const content = Buffer.concat(parts);
  const top = Buffer.alloc(12);
  top.write('RIFF', 0, 'latin1');
  top.writeUInt32LE(content.length + 4, 4);
  top.write('WAVE', 8, 'latin1');
  return Buffer.concat([top, content]);
}

function fmt(tag: number, channels: number, rate: number, bits: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE(rate * channels * (bits / 8), 8);
  b.writeUInt16LE(channels * (bits / 8), 12);
  b.writeUInt16LE(bits, 14);
  return b;
}

function s16(samples: number[]): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

function expectFormatError(fn: () => unknown, ...fragments: RegExp[]): EarshotError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EarshotError);
    const err = e as EarshotError;
    expect(err.code).toBe('AUDIO_FORMAT');
    for (const f of fragments) expect(err.message).toMatch(f);
    return err;
  }
  throw new Error('expected an AUDIO_FORMAT error');
}

describe('readWavFile on files written by sox', () => {
  const cases = [
    { file: 'tone1k-44k1-stereo-s16.wav', rate: 44100, channels: 2, bits: 16, encoding: 'int', seconds: 0.25 },
    { file: 'tone1k-48k-stereo-s24.wav', rate: 48000, channels: 2, bits: 24, encoding: 'int', seconds: 0.1 },
    { file: 'tone1k-22k05-f32.wav', rate: 22050, channels: 1, bits: 32, encoding: 'float', seconds: 0.2 },
    { file: 'tone1k-8k-u8.wav', rate: 8000, channels: 1, bits: 8, encoding: 'int', seconds: 0.25 },
  ] as const;
  for (const c of cases) {
    it(`${c.file}: reads the format and converts to a 16 kHz mono 1 kHz tone at half scale`, async () => {
      const wav = await readWavFile(join(FIX, c.file));
      expect(wav).toMatchObject({ sampleRate: c.rate, channels: c.channels, bitsPerSample: c.bits, encoding: c.encoding });
      expect(wav.durationMs).toBeCloseTo(c.seconds * 1000, 0);
      expect(wav.pcm16k.length).toBe(Math.ceil(c.seconds * 16000));
      const mid = middle(wav.pcm16k, 0.15);
      expect(zeroCrossingFrequency(mid, 16000)).toBeCloseTo(1000, 0);
      // 8-bit quantisation costs a little amplitude accuracy; the others are near exact.
      expect(toneAmplitude(mid, 16000, 1000) / HALF_SCALE).toBeCloseTo(1, 1);
    });
  }

  it('the 24-bit stereo file is WAVE_FORMAT_EXTENSIBLE (so that path is covered by a real encoder)', () => {
    const buf = readFileSync(join(FIX, 'tone1k-48k-stereo-s24.wav'));
    expect(buf.readUInt16LE(20)).toBe(0xfffe);
  });
});

describe('readWav refuses what it cannot read, naming the file', () => {
  it('ADPCM', () => {
    const buf = readFileSync(join(FIX, 'adpcm-8k.wav'));
    expectFormatError(() => readWav(buf, 'kitchen.wav'), /^kitchen\.wav: /, /ADPCM/, /not PCM/);
  });

  it('MP3 inside a WAV container', () => {
    const buf = riff([['fmt ', fmt(0x55, 2, 44100, 16)], ['data', Buffer.alloc(400, 0xff)]]);
    expectFormatError(() => readWav(buf, 'song.wav'), /song\.wav/, /MP3/);
  });

  it('an unknown extensible sub-format', () => {
    const f = Buffer.alloc(40);
    fmt(0xfffe, 1, 16000, 16).copy(f);
    f.writeUInt16LE(22, 16);
    f.writeUInt16LE(0x0055, 24); // MP3 code in the GUID, real GUID tail
    Buffer.from([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]).copy(f, 26);
    expectFormatError(() => readWav(riff([['fmt ', f], ['data', s16([1, 2])]]), 'x.wav'), /MP3/);
    f[39] = 0x00; // damage the GUID tail
    expectFormatError(() => readWav(riff([['fmt ', f], ['data', s16([1, 2])]]), 'x.wav'), /unknown extensible sub-format/);
  });

  it('a truncated file (data chunk announces more than is there)', () => {
    const buf = readFileSync(join(FIX, 'mic-speech-16k.wav'));
    const err = expectFormatError(() => readWav(buf.subarray(0, 5000), 'cut.wav'), /^cut\.wav: /, /truncated/, /96000 bytes/, /4956/);
    expect(err.details).toMatchObject({ declaredBytes: 96000, presentBytes: 4956 });
  });

  it('a header-only file with no samples', () => {
    expectFormatError(() => readWav(encodeWav(new Int16Array(0)), 'silent.wav'), /silent\.wav/, /no audio samples/);
  });

  it('a zero-byte file, a text file, an AIFF file', () => {
    expectFormatError(() => readWav(Buffer.alloc(0), 'a.wav'), /empty/);
    expectFormatError(() => readWav(Buffer.from('this is not audio at all, just text'), 'b.wav'), /not a WAV file/);
    expectFormatError(() => readWav(Buffer.concat([Buffer.from('FORM'), Buffer.alloc(20)]), 'c.wav'), /AIFF/);
  });

  it('damaged format chunks', () => {
    expectFormatError(() => readWav(riff([['data', s16([1, 2])]]), 'x.wav'), /no format chunk/);
    expectFormatError(() => readWav(riff([['fmt ', fmt(1, 1, 16000, 16)]]), 'x.wav'), /no audio data chunk/);
    expectFormatError(() => readWav(riff([['fmt ', fmt(1, 0, 16000, 16)], ['data', s16([1])]]), 'x.wav'), /0 audio channels/);
    expectFormatError(() => readWav(riff([['fmt ', fmt(1, 1, 12, 16)], ['data', s16([1])]]), 'x.wav'), /sample rate of 12 Hz/);
    expectFormatError(() => readWav(riff([['fmt ', fmt(1, 1, 16000, 12)], ['data', s16([1])]]), 'x.wav'), /12-bit/);
    const bad = fmt(1, 2, 16000, 16);
    bad.writeUInt16LE(3, 12); // block align inconsistent with 2 × 16-bit
    expectFormatError(() => readWav(riff([['fmt ', bad], ['data', s16([1, 2])]]), 'x.wav'), /inconsistent/);
  });

  it('a missing file is AUDIO_FILE with the path', async () => {
    await expect(readWavFile('/nonexistent/dir/nothing.wav')).rejects.toMatchObject({
      code: 'AUDIO_FILE',
      message: expect.stringMatching(/\/nonexistent\/dir\/nothing\.wav: file not found/),
    });
  });
});

describe('chunk walking', () => {
  const samples = [0, 1000, -1000, 32767, -32768, 5];

  it('skips LIST and odd-sized chunks before and after the data, honouring the pad byte', () => {
    const list = Buffer.from('INFOISFT\x05\x00\x00\x00sox!\x00', 'latin1'); // 17 bytes: odd
    const buf = riff([['LIST', list], ['fmt ', fmt(1, 1, 16000, 16)], ['junk', Buffer.alloc(3)], ['data', s16(samples)], ['LIST', list]]);
    expect(Array.from(readWav(buf).pcm16k)).toEqual(samples);
  });

  it('reads an odd-sized data chunk (8-bit) followed by its pad byte and more chunks', () => {
    const data = Buffer.from([128, 255, 0]); // 0, +127·256, −128·256
    const buf = riff([['fmt ', fmt(1, 1, 16000, 8)], ['data', data], ['LIST', Buffer.alloc(4)]]);
    expect(Array.from(readWav(buf).pcm16k)).toEqual([0, 127 * 256, -32768]);
  });

  it('reads to the end of the file when the data size is a streaming placeholder (sox/espeak-ng --stdout, ffmpeg)', () => {
    for (const placeholder of [0xffffffff, 0x7ffff000]) {
      const buf = riff([['fmt ', fmt(1, 1, 16000, 16)], ['data', s16(samples)]]);
      buf.writeUInt32LE(placeholder, buf.indexOf('data', 12, 'latin1') + 4);
      expect(Array.from(readWav(buf).pcm16k)).toEqual(samples);
    }
  });

  it('keeps complete audio when only trailing metadata is cut off', () => {
    const buf = riff([['fmt ', fmt(1, 1, 16000, 16)], ['data', s16(samples)], ['LIST', Buffer.alloc(100)]]);
    expect(Array.from(readWav(buf.subarray(0, buf.length - 50)).pcm16k)).toEqual(samples);
  });

  it('decodes 32-bit integer and 64-bit float samples, clipping floats beyond full scale', () => {
    const i32 = Buffer.alloc(8);
    i32.writeInt32LE(0x40000000, 0);
    i32.writeInt32LE(-0x80000000, 4);
    expect(Array.from(readWav(riff([['fmt ', fmt(1, 1, 16000, 32)], ['data', i32]])).pcm16k)).toEqual([16384, -32768]);
    const f64 = Buffer.alloc(24);
    f64.writeDoubleLE(0.25, 0);
    f64.writeDoubleLE(1.5, 8);
    f64.writeDoubleLE(-2, 16);
    expect(Array.from(readWav(riff([['fmt ', fmt(3, 1, 16000, 64)], ['data', f64]])).pcm16k)).toEqual([8192, 32767, -32768]);
  });

  it('downmixes by averaging channels', () => {
    const buf = riff([['fmt ', fmt(1, 2, 16000, 16)], ['data', s16([1000, 3000, -200, 200, 32767, 32767])]]);
    const w = readWav(buf);
    expect(w.channels).toBe(2);
    expect(Array.from(w.pcm16k)).toEqual([2000, 0, 32767]);
  });
});

describe('encodeWav', () => {
  it('round-trips through readWav bit-exactly and writes a canonical 44-byte header', () => {
    const pcm = new Int16Array(3001).map((_, i) => ((i * 7919) % 65536) - 32768);
    const buf = encodeWav(pcm);
    expect(buf.length).toBe(44 + pcm.length * 2);
    const parsed = parseWav(buf);
    expect(parsed).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16, frames: 3001 });
    expect(readWav(buf).pcm16k).toEqual(pcm);
    expect(rms(readWav(buf).pcm16k)).toBeGreaterThan(0);
  });

  it('writes other rates, and those are resampled on read', () => {
    const w = readWav(encodeWav(new Int16Array(8000), 8000));
    expect(w.sampleRate).toBe(8000);
    expect(w.pcm16k.length).toBe(16000);
  });
});
