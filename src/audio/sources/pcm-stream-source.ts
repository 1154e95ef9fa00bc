/**
 * Raw 16 kHz signed 16-bit little-endian mono PCM from a byte stream (e.g. `process.stdin`), as audio chunks.
 * Chunk boundaries may split a sample; the odd byte is carried over. A half sample left at the very end of the
 * stream cannot be decoded and is dropped (see `droppedTrailingByte`).
 */
import type { AudioChunks } from '../../core/audio-format.js';
import { PcmByteDecoder } from '../pcm-bytes.js';

export interface PcmStreamSourceOptions {
  /** Stops reading; iteration then ends normally and a Readable input is destroyed. */
  signal?: AbortSignal;
}

export class PcmStreamSource implements AudioChunks {
  private readonly input: AsyncIterable<Uint8Array | string>;
  private readonly signal: AbortSignal | undefined;
  private dropped = false;

  constructor(input: AsyncIterable<Uint8Array | string>, opts: PcmStreamSourceOptions = {}) {
    this.input = input;
    this.signal = opts.signal;
  }

  /** True when the stream ended with an odd number of bytes. */
  get droppedTrailingByte(): boolean {
    return this.dropped;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    const signal = this.signal;
    if (signal?.aborted) return;
    const decoder = new PcmByteDecoder();
    const it = this.input[Symbol.asyncIterator]();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    let finished = false;
    let abandoned = false;
    try {
      for (;;) {
        const r = await Promise.race([it.next(), aborted]);
        if (r === 'aborted') {
          abandoned = true;
          return;
        }
        if (r.done) {
          finished = true;
          break;
        }
        const bytes = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : r.value;
        const samples = decoder.push(bytes);
        if (samples.length > 0) yield samples;
      }
      this.dropped = decoder.reset();
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      if (abandoned) {
        // A read is still pending: an async generator's return() would wait for it (forever on a silent stdin).
        // Destroying the stream settles it; the pending read's outcome no longer matters.
        const destroy = (this.input as { destroy?: () => void }).destroy;
        if (typeof destroy === 'function') destroy.call(this.input);
        else void it.return?.();
      } else if (!finished) await it.return?.();
    }
  }
}
