/**
 * The daemon's audio input: the microphone (restarted with backoff by resilientMicrophone), a WAV file replay
 * or raw PCM on stdin. Everything that can be checked before listening is checked here, with errors that say
 * what is wrong with the input.
 */
import { fstatSync } from 'node:fs';
import { PcmStreamSource, resilientMicrophone, WavFileSource } from '../audio/index.js';
import type { AudioChunks } from '../core/index.js';
import type { DeviceConfig } from '../config/index.js';
import { EarshotError, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { WakeSourceKind } from '../wake-health.js';
import type { DaemonEvent } from './events.js';

export interface DaemonInput {
  kind: WakeSourceKind;
  /** A replay (file, stdin) may be paused while the wake loop is behind; the microphone never is. */
  replay: boolean;
  open(signal: AbortSignal): Promise<AudioChunks>;
  /** After the input ended: what the operator must be told about it (e.g. a dropped half sample). */
  endNotice(): DaemonEvent | undefined;
}

export async function prepareInput(
  input: string | undefined,
  opts: {
    audio: DeviceConfig['audio'];
    realtime: boolean;
    stdin: NodeJS.ReadableStream;
    logger: Logger;
    emit: (e: DaemonEvent) => void;
    /** The microphone failed and is restarted after `retryInMs`, or recovered (for the live status). */
    onSourceFailure?: (error: string, retryInMs: number) => void;
    onSourceRecovered?: () => void;
  },
): Promise<DaemonInput> {
  if (input === '-') {
    assertStdinReadable(opts.stdin);
    let source: PcmStreamSource | undefined;
    return {
      kind: 'stdin',
      replay: true,
      open: async (signal) => (source = new PcmStreamSource(opts.stdin as AsyncIterable<Uint8Array>, { signal })),
      endNotice: () => (source?.droppedTrailingByte ? { type: 'input-truncated', droppedBytes: 1 } : undefined),
    };
  }
  if (input !== undefined) {
    const file = await WavFileSource.open(input); // AUDIO_FILE / AUDIO_FORMAT before anything starts
    return {
      kind: 'file',
      replay: true,
      open: async (signal) => new WavFileSource(file.wav, { realtime: opts.realtime, signal }),
      endNotice: () => undefined,
    };
  }
  return {
    kind: 'microphone',
    replay: false,
    open: async (signal) =>
      resilientMicrophone(opts.audio, {
        logger: opts.logger,
        signal,
        onFailure: (f) => {
          opts.onSourceFailure?.(errorMessage(f.error), f.retryInMs);
          opts.emit({ type: 'source-failed', error: errorMessage(f.error), retryInMs: f.retryInMs });
        },
        onRecovered: () => opts.onSourceRecovered?.(),
      }),
    endNotice: () => undefined,
  };
}

/** `--input -` with stdin redirected from a directory reads nothing: refuse it instead of "processing" 0 frames. */
function assertStdinReadable(stdin: NodeJS.ReadableStream): void {
  const fd = (stdin as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return;
  let isDir = false;
  try {
    isDir = fstatSync(fd).isDirectory();
  } catch {
    return; // not a file descriptor we can inspect (closed or a test stream): reading will tell
  }
  if (isDir) {
    throw new EarshotError(
      'AUDIO_FILE',
      'standard input is a directory, not audio: pipe raw 16 kHz mono s16le PCM into `earshot run --input -` (e.g. `sox in.wav -t raw -r 16000 -c 1 -b 16 -e signed - | earshot run --input -`)',
    );
  }
}
