/**
 * The upload payload: a complete 16 kHz mono s16le WAV file. WAV rather than raw PCM because the cloud
 * can play or decode it without out-of-band format knowledge, at a cost of 44 bytes per recording.
 */
import { endianness } from 'node:os';
import { SAMPLE_RATE } from '../core/audio-format.js';

export const RECORDING_CONTENT_TYPE = 'audio/wav';

export function encodeWav(pcm: Int16Array, sampleRate: number = SAMPLE_RATE): Buffer {
  const dataBytes = pcm.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16); // fmt chunk size
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28); // byte rate
  out.writeUInt16LE(2, 32); // block align
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  if (endianness() === 'LE') {
    Buffer.from(pcm.buffer, pcm.byteOffset, dataBytes).copy(out, 44);
  } else {
    for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i]!, 44 + i * 2);
  }
  return out;
}
