/**
 * Raw 16 kHz signed 16-bit little-endian mono PCM from a byte stream (e.g. `process.stdin`), as audio chunks.
 * Chunk boundaries may split a sample; the odd byte is carried over. A half sample left at the very end of the
 * stream cannot be decoded and is dropped (see `droppedTrailingByte`).
 */
import type { AudioChunks } from '../../core/index.js';
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
    // One abort listener per read, removed when the read settles. (Racing every read against one long-lived
    // promise would keep a reaction — and through it each chunk — alive until the stream ends: memory would
    // grow with the input.)
    const next = (): Promise<IteratorResult<Uint8Array | string> | 'aborted'> =>
      new Promise((resolve, reject) => {
        const onAbort = () => resolve('aborted');
        signal?.addEventListener('abort', onAbort, { once: true });
        it.next().then(
          (v) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(v);
          },
          (e: unknown) => {
            signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
        );
      });
    let finished = false;
    let abandoned = false;
    try {
      for (;;) {
        if (signal?.aborted) {
          abandoned = true;
          return;
        }
        const r = await next();
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
