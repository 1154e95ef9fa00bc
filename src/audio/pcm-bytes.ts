/**
 * Turns a byte stream of signed 16-bit little-endian PCM into Int16Array chunks. A chunk boundary may fall in the
 * middle of a sample: the odd byte is carried to the next chunk.
 */
import { endianness } from 'node:os';

const HOST_IS_LE = endianness() === 'LE';

export class PcmByteDecoder {
  private odd: number | undefined;

  /** True when half a sample is waiting for its second byte. */
  get hasPendingByte(): boolean {
    return this.odd !== undefined;
  }

  /** Decodes a chunk into a new (aligned, caller-owned) Int16Array; may be empty. */
  push(bytes: Uint8Array): Int16Array {
    if (bytes.length === 0) return new Int16Array(0);
    const lead = this.odd === undefined ? 0 : 1;
    const total = lead + bytes.length;
    const samples = total >> 1;
    const raw = new Uint8Array(samples * 2);
    if (samples > 0) {
      if (lead === 1) {
        raw[0] = this.odd!;
        raw.set(bytes.subarray(0, samples * 2 - 1), 1);
      } else {
        raw.set(bytes.subarray(0, samples * 2), 0);
      }
    }
    this.odd = total % 2 === 1 ? bytes[bytes.length - 1] : undefined;
    if (!HOST_IS_LE) for (let i = 0; i < raw.length; i += 2) [raw[i], raw[i + 1]] = [raw[i + 1]!, raw[i]!];
    return new Int16Array(raw.buffer, 0, samples);
  }

  /** Forgets a pending half sample (end of stream). Returns whether one was dropped. */
  reset(): boolean {
    const had = this.odd !== undefined;
    this.odd = undefined;
    return had;
  }
}
