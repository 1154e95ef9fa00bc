/**
 * The daemon's microphone: a MicrophoneSource configured from `config.audio`, restarted with exponential backoff
 * whenever the recorder fails. Each failure is logged (recorder, device, the recorder's stderr summary, next retry)
 * and passed to `onFailure`; the stream itself only ends when `signal` aborts.
 */
import type { AudioChunks } from '../../core/index.js';
import { errorMessage } from '../../core/index.js';
import { silentLogger, type Logger } from '../../core/index.js';
import type { DeviceConfig } from '../../config/index.js';
import { MicrophoneSource } from './microphone-source.js';
import { superviseSource, type SourceFailure } from './supervise.js';

export interface ResilientMicrophoneOptions {
  signal?: AbortSignal;
  logger?: Logger;
  onFailure?: (failure: SourceFailure) => void;
  onRecovered?: (failuresBefore: number) => void;
  /** See MicrophoneOptions.stallTimeoutMs. */
  stallTimeoutMs?: number;
  random?: () => number;
}

export function resilientMicrophone(
  audio: Pick<DeviceConfig['audio'], 'recorder' | 'device' | 'retryInitialMs' | 'retryMaxMs'>,
  opts: ResilientMicrophoneOptions = {},
): AudioChunks {
  const log = (opts.logger ?? silentLogger).child({ component: 'microphone' });
  return superviseSource(
    (signal) =>
      new MicrophoneSource({
        recorder: audio.recorder,
        device: audio.device,
        signal,
        logger: opts.logger,
        ...(opts.stallTimeoutMs !== undefined ? { stallTimeoutMs: opts.stallTimeoutMs } : {}),
      }),
    {
      initialMs: audio.retryInitialMs,
      maxMs: audio.retryMaxMs,
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
      onFailure: (f) => {
        log.warn('microphone failed; retrying', {
          code: (f.error as { code?: unknown }).code,
          error: errorMessage(f.error),
          failures: f.failures,
          retryInMs: f.retryInMs,
        });
        opts.onFailure?.(f);
      },
      onRecovered: (n) => {
        log.info('microphone recovered', { failuresBefore: n });
        opts.onRecovered?.(n);
      },
    },
  );
}
