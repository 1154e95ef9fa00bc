/**
 * RIFF/WAVE reading and writing.
 *
 * Reading walks every chunk (odd sizes are padded, LIST/fact/cue… are skipped), validates the `fmt ` chunk and
 * decodes integer PCM (8/16/24/32-bit), IEEE float (32/64-bit) and WAVE_FORMAT_EXTENSIBLE with one of those
 * sub-formats. Anything else (ADPCM, MP3-in-WAV, A-law, …) is refused with an error that names the file and the
 * format, so a user knows to convert it. Decoded audio is downmixed and resampled to Earshot's one internal
 * format (16 kHz mono int16).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open as openFile, readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { SAMPLE_RATE } from '../core/index.js';
import { EarshotError, errorMessage } from '../core/index.js';
import { resampledLength, resampleToInt16, StreamResampler, toInt16 } from './resample.js';

const HOST_IS_LE = endianness() === 'LE';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID (the first two bytes are the format code). */
const SUBFORMAT_GUID_TAIL = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);

/** Names of formats people actually meet, for a helpful refusal. */
const KNOWN_FORMATS: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'µ-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG audio',
  0x0055: 'MP3',
  0x0092: 'Dolby AC-3',
  0x00ff: 'AAC',
  0x1610: 'AAC (HE)',
  0xf1ac: 'FLAC',
};

/** Recognised header chunk ids that are not RIFF/WAVE. */
const OTHER_CONTAINERS: Record<string, string> = {
  RIFX: 'big-endian RIFX WAV',
  RF64: 'RF64 (64-bit WAV)',
  BW64: 'BW64 (64-bit WAV)',
  OggS: 'Ogg',
  fLaC: 'FLAC',
  ID3: 'MP3',
  FORM: 'AIFF',
};

export type SampleEncoding = 'int' | 'float';

export interface WavFormat {
  readonly sampleRate: number;
  readonly channels: number;
  /** Container size of one sample (8, 16, 24, 32 or 64). */
  readonly bitsPerSample: number;
  readonly encoding: SampleEncoding;
  /** Number of sample frames (one sample per channel) in the data chunk. */
  readonly frames: number;
  readonly durationMs: number;
}

/** A WAV file converted to Earshot's internal format. */
export interface DecodedWav extends WavFormat {
  /** 16 kHz mono int16, whatever the file's own rate and channel count. */
  readonly pcm16k: Int16Array;
}

/** A parsed but not yet converted WAV file: one Float32Array per channel, int16 scale (±32768). */
export interface ParsedWav extends WavFormat {
  readonly channelData: Float32Array[];
}

function formatError(name: string, problem: string, details?: Record<string, unknown>): EarshotError {
  return new EarshotError('AUDIO_FORMAT', `${name}: ${problem}`, details === undefined ? undefined : { details });
}

/** Random access to a WAV file's bytes: a buffer in memory, or a file read block by block (headers only). */
interface ByteSource {
  readonly length: number;
  /** Bytes [start, end) clipped to the source; the result may be shared (do not modify). */
  slice(start: number, end: number): Buffer;
}

function bytesOf(buf: Buffer): ByteSource {
  return { length: buf.length, slice: (start, end) => buf.subarray(start, end) };
}

const HEADER_BLOCK = 64 * 1024;

/** A file's bytes through one cached 64 KB block: walking the chunk headers reads a few blocks, not the file. */
function fileBytes(fd: number, size: number): ByteSource {
  let blockStart = -1;
  let block: Buffer = Buffer.alloc(0);
  const load = (start: number, end: number): Buffer => {
    const len = Math.min(size, end) - start;
    const out = Buffer.alloc(Math.max(0, len));
    let got = 0;
    while (got < out.length) {
      const n = readSync(fd, out, got, out.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return out.subarray(0, got);
  };
  return {
    length: size,
    slice(start, end) {
      end = Math.min(end, size);
      if (start >= end) return Buffer.alloc(0);
      if (end - start > HEADER_BLOCK) return load(start, end);
      if (blockStart < 0 || start < blockStart || end > blockStart + block.length) {
        blockStart = start;
        block = load(start, start + HEADER_BLOCK);
      }
      return block.subarray(start - blockStart, end - blockStart);
    },
  };
}

/** Data sizes written by encoders that stream to a pipe and cannot seek back to fix the header. */
const STREAMING_SIZES = new Set([0xffffffff, 0x7ffff000, 0x7fffffff]);

interface Chunk {
  id: string;
  offset: number;
  size: number;
}

/** Walks RIFF sub-chunks. A data chunk whose declared size runs past the end of the buffer is reported as truncated. */
function walkChunks(buf: ByteSource, name: string): Chunk[] {
  const chunks: Chunk[] = [];
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const head = buf.slice(pos, pos + 8);
    const id = head.toString('latin1', 0, 4);
    let size = head.readUInt32LE(4);
    const bodyStart = pos + 8;
    const available = buf.length - bodyStart;
    if (size > available) {
      if (id === 'data' && STREAMING_SIZES.has(size)) {
        // Writers streaming to a pipe cannot know the length and write a placeholder (sox and
        // `espeak-ng --stdout` write 0x7ffff000, others 0xffffffff): the data runs to the end of the file.
        size = available;
      } else if (id === 'data') {
        throw formatError(
          name,
          `the file is truncated: its header announces ${size} bytes of audio but only ${available} are present`,
          { declaredBytes: size, presentBytes: available },
        );
      } else if (chunks.some((c) => c.id === 'data')) {
        // Trailing metadata cut short after complete audio: the audio itself is intact.
        break;
      } else {
        throw formatError(name, `the file is truncated or damaged (chunk "${printable(id)}" runs past the end of the file)`);
      }
    }
    chunks.push({ id, offset: bodyStart, size });
    // Chunks are word-aligned: an odd-sized chunk is followed by one pad byte.
    pos = bodyStart + size + (size & 1);
  }
  return chunks;
}

function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, '?');
}

interface FmtInfo {
  encoding: SampleEncoding;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function parseFmt(src: ByteSource, chunk: Chunk, name: string): FmtInfo {
  if (chunk.size < 16) throw formatError(name, `the format chunk is too short (${chunk.size} bytes); the file is damaged`);
  const buf = src.slice(chunk.offset, chunk.offset + Math.min(chunk.size, 40));
  const o = 0;
  let formatTag = buf.readUInt16LE(o);
  const channels = buf.readUInt16LE(o + 2);
  const sampleRate = buf.readUInt32LE(o + 4);
  const blockAlign = buf.readUInt16LE(o + 12);
  const bitsPerSample = buf.readUInt16LE(o + 14);

  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    if (chunk.size < 40) throw formatError(name, 'the extensible format chunk is too short; the file is damaged');
    const guid = buf.subarray(o + 24, o + 40);
    if (!guid.subarray(2).equals(SUBFORMAT_GUID_TAIL)) {
      throw formatError(name, 'uses an unknown extensible sub-format; convert it to 16-bit PCM WAV (e.g. `sox in.wav -b 16 out.wav`)');
    }
    formatTag = guid.readUInt16LE(0);
  }

  let encoding: SampleEncoding;
  if (formatTag === WAVE_FORMAT_PCM) encoding = 'int';
  else if (formatTag === WAVE_FORMAT_IEEE_FLOAT) encoding = 'float';
  else {
    const known = KNOWN_FORMATS[formatTag];
    const what = known ?? `format code 0x${formatTag.toString(16).padStart(4, '0')}`;
    throw formatError(
      name,
      `is ${what}-encoded, not PCM; Earshot reads uncompressed PCM WAV only (convert with e.g. \`sox in.wav -e signed-integer -b 16 out.wav\`)`,
      { formatTag },
    );
  }

  if (channels < 1) throw formatError(name, 'declares 0 audio channels; the file is damaged');
  if (sampleRate < 1000 || sampleRate > 768_000) {
    throw formatError(name, `has an implausible sample rate of ${sampleRate} Hz; the file is damaged`);
  }
  const okBits = encoding === 'int' ? [8, 16, 24, 32] : [32, 64];
  if (!okBits.includes(bitsPerSample)) {
    throw formatError(name, `uses ${bitsPerSample}-bit ${encoding === 'int' ? 'integer' : 'float'} samples, which Earshot does not read (supported: ${okBits.join(', ')}-bit)`);
  }
  if (blockAlign !== channels * (bitsPerSample / 8)) {
    throw formatError(name, `has an inconsistent format chunk (block size ${blockAlign} for ${channels} channel(s) of ${bitsPerSample} bits); the file is damaged`);
  }
  return { encoding, channels, sampleRate, blockAlign, bitsPerSample };
}

/** Validates the header and finds the format and data chunks. */
function locate(buf: ByteSource, name: string): { fmt: FmtInfo; data: Chunk; frames: number } {
  if (buf.length === 0) throw formatError(name, 'is empty (0 bytes)');
  if (buf.length < 12) throw formatError(name, 'is too short to be a WAV file');
  const header = buf.slice(0, 12);
  const riff = header.toString('latin1', 0, 4);
  if (riff !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WAVE') {
    const other = OTHER_CONTAINERS[riff] ?? OTHER_CONTAINERS[riff.slice(0, 3)];
    throw formatError(name, other !== undefined ? `is ${other}, not a RIFF/WAVE PCM file` : 'is not a WAV file (no RIFF/WAVE header)');
  }
  const chunks = walkChunks(buf, name);
  const fmtChunk = chunks.find((c) => c.id === 'fmt ');
  if (fmtChunk === undefined) throw formatError(name, 'has no format chunk; the file is damaged');
  const fmt = parseFmt(buf, fmtChunk, name);
  const dataChunk = chunks.find((c) => c.id === 'data');
  if (dataChunk === undefined) throw formatError(name, 'has no audio data chunk; the file is damaged or truncated');

  const frames = Math.floor(dataChunk.size / fmt.blockAlign);
  if (frames === 0) throw formatError(name, 'contains no audio samples');
  return { fmt, data: dataChunk, frames };
}

/** What callers learn about a file's format. */
function formatOf(fmt: { sampleRate: number; channels: number; bitsPerSample: number; encoding: WavFormat['encoding'] }, frames: number): WavFormat {
  return {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    bitsPerSample: fmt.bitsPerSample,
    encoding: fmt.encoding,
    frames,
    durationMs: (frames / fmt.sampleRate) * 1000,
  };
}

/** Parses and decodes a WAV file held in memory into per-channel arrays, without resampling. */
export function parseWav(buf: Buffer, name = 'WAV data'): ParsedWav {
  const { fmt, data, frames } = locate(bytesOf(buf), name);
  const channelData = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  decodeSamples(buf, data.offset, frames, fmt, channelData);
  return { ...formatOf(fmt, frames), channelData };
}

/**
 * Decodes interleaved samples on the int16 scale (full scale = ±32768): into per-channel arrays, or, when `mono`
 * is given, averaged into it.
 */
function decodeSamples(buf: Buffer, start: number, frames: number, fmt: FmtInfo, out: Float32Array[], mono?: Float32Array): void {
  const { channels, bitsPerSample, encoding } = fmt;
  const bytes = bitsPerSample / 8;
  const scale = 1 / channels;
  let pos = start;
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      let v: number;
      if (encoding === 'float') {
        const f = bytes === 4 ? buf.readFloatLE(pos) : buf.readDoubleLE(pos);
        v = Number.isFinite(f) ? f * 32768 : 0;
      } else if (bytes === 2) v = buf.readInt16LE(pos);
      else if (bytes === 1) v = (buf[pos]! - 128) * 256; // 8-bit WAV is unsigned
      else if (bytes === 3) v = buf.readIntLE(pos, 3) / 256;
      else v = buf.readInt32LE(pos) / 65536;
      if (mono === undefined) out[c]![i] = v;
      else sum += v;
      pos += bytes;
    }
    if (mono !== undefined) mono[i] = channels === 1 ? sum : sum * scale;
  }
}

/** Parses a WAV file held in memory and converts it to 16 kHz mono int16. */
export function readWav(buf: Buffer, name = 'WAV data'): DecodedWav {
  const { fmt, data, frames } = locate(bytesOf(buf), name);
  const format: WavFormat = formatOf(fmt, frames);
  let pcm16k: Int16Array;
  if (fmt.encoding === 'int' && fmt.bitsPerSample === 16 && fmt.channels === 1 && fmt.sampleRate === SAMPLE_RATE) {
    // Already the internal format: one aligned copy, no float round trip (replays of long files stay cheap).
    const bytes = new Uint8Array(frames * 2);
    bytes.set(buf.subarray(data.offset, data.offset + frames * 2));
    pcm16k = new Int16Array(bytes.buffer);
    if (!HOST_IS_LE) for (let i = 0; i < pcm16k.length; i++) pcm16k[i] = ((pcm16k[i]! & 0xff) << 8) | ((pcm16k[i]! >> 8) & 0xff);
  } else {
    // Downmix while decoding: one float array whatever the channel count.
    const channels = Array.from({ length: fmt.channels }, () => new Float32Array(0));
    const mono = new Float32Array(frames);
    decodeSamples(buf, data.offset, frames, fmt, channels, mono);
    pcm16k = resampleToInt16(mono, fmt.sampleRate, SAMPLE_RATE);
  }
  return { ...format, pcm16k };
}

function fileError(path: string, e: unknown): EarshotError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : errorMessage(e);
  return new EarshotError('AUDIO_FILE', `cannot read audio file ${path}: ${why}`, { cause: e });
}

/** Reads a WAV file from disk and converts it to 16 kHz mono int16. Missing/unreadable files → AUDIO_FILE. */
export async function readWavFile(path: string): Promise<DecodedWav> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw fileError(path, e);
  }
  return readWav(buf, path);
}

/** Where a file's audio is, once its header has been validated (see `probeWavFile`). */
export interface WavFileLayout extends WavFormat {
  readonly path: string;
  readonly dataOffset: number;
  readonly blockAlign: number;
  /** Length of the audio once converted to 16 kHz mono. */
  readonly samples16k: number;
}

/**
 * Validates a WAV file's header without reading its audio (the same checks and errors as `readWav`):
 * AUDIO_FILE when it cannot be read, AUDIO_FORMAT when it is not PCM WAV Earshot reads.
 */
export function probeWavFile(path: string): WavFileLayout {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    let size: number;
    try {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      size = st.size;
    } catch (e) {
      throw fileError(path, e);
    }
    let located;
    try {
      located = locate(fileBytes(fd, size), path);
    } catch (e) {
      if (e instanceof EarshotError) throw e;
      throw fileError(path, e);
    }
    const { fmt, data, frames } = located;
    return {
      ...formatOf(fmt, frames),
      path,
      dataOffset: data.offset,
      blockAlign: fmt.blockAlign,
      samples16k: resampledLength(frames, fmt.sampleRate, SAMPLE_RATE),
    };
  } finally {
    closeSync(fd);
  }
}

/** Frames decoded per read: 16 k frames (a few hundred KB whatever the format). */
const STREAM_FRAMES = 16_384;

/**
 * A WAV file's audio as 16 kHz mono int16 pieces, read, downmixed and resampled block by block: memory stays
 * at one block whatever the file's length. The concatenated pieces equal `readWavFile(path).pcm16k`.
 */
export async function* streamWavFile(layout: WavFileLayout): AsyncGenerator<Int16Array> {
  let fh;
  try {
    fh = await openFile(layout.path, 'r');
  } catch (e) {
    throw fileError(layout.path, e);
  }
  const fmt: FmtInfo = {
    encoding: layout.encoding,
    channels: layout.channels,
    sampleRate: layout.sampleRate,
    blockAlign: layout.blockAlign,
    bitsPerSample: layout.bitsPerSample,
  };
  const passThrough = fmt.encoding === 'int' && fmt.bitsPerSample === 16 && fmt.channels === 1 && fmt.sampleRate === SAMPLE_RATE;
  const resampler = new StreamResampler(fmt.sampleRate, SAMPLE_RATE);
  const block = Buffer.alloc(STREAM_FRAMES * fmt.blockAlign);
  const none: Float32Array[] = [];
  try {
    let frame = 0;
    while (frame < layout.frames) {
      const want = Math.min(STREAM_FRAMES, layout.frames - frame);
      const bytes = want * fmt.blockAlign;
      let got = 0;
      while (got < bytes) {
        const r = await fh.read(block, got, bytes - got, layout.dataOffset + frame * fmt.blockAlign + got);
        if (r.bytesRead === 0) break;
        got += r.bytesRead;
      }
      const frames = Math.floor(got / fmt.blockAlign);
      if (frames === 0) throw new EarshotError('AUDIO_FILE', `${layout.path}: the file became shorter while it was read`);
      frame += frames;
      if (passThrough) {
        const out = new Int16Array(frames);
        for (let i = 0; i < frames; i++) out[i] = block.readInt16LE(i * 2);
        yield out;
        continue;
      }
      const mono = new Float32Array(frames);
      decodeSamples(block, 0, frames, fmt, none, mono);
      const out = toInt16(resampler.push(mono));
      if (out.length > 0) yield out;
    }
    if (!passThrough) {
      const tail = toInt16(resampler.end());
      if (tail.length > 0) yield tail;
    }
  } finally {
    block.fill(0);
    await fh.close();
  }
}

/** Encodes int16 mono PCM as a canonical 44-byte-header PCM WAV. */
export function encodeWav(pcm: Int16Array, sampleRate: number = SAMPLE_RATE, channels = 1): Buffer {
  const dataBytes = pcm.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'latin1');
  buf.write('fmt ', 12, 'latin1');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * channels * 2, 28);
  buf.writeUInt16LE(channels * 2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'latin1');
  buf.writeUInt32LE(dataBytes, 40);
  // WAV is little-endian: on a little-endian host (x86, ARM) the samples are copied in one go.
  if (LITTLE_ENDIAN_HOST) Buffer.from(pcm.buffer, pcm.byteOffset, dataBytes).copy(buf, 44);
  else for (let i = 0; i < pcm.length; i++) buf.writeInt16LE(pcm[i]!, 44 + i * 2);
  return buf;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
