/**
 * Keeps an audio source alive: when it fails (or ends on its own), it is reopened after an exponential backoff
 * with jitter, and every failure is reported. Used for the microphone, whose recorder process can die when a USB
 * microphone is unplugged, the ALSA device is busy, etc. The consumer sees one endless stream (with a gap).
 */
import type { AudioChunks } from '../../core/index.js';
import { SAMPLE_RATE } from '../../core/index.js';
import { backoffDelayMs } from '../../core/index.js';
import { EarshotError } from '../../core/index.js';
import { sleep as abortableSleep } from '../sleep.js';

/** Restart timing of a failed source (config audio.retryInitialMs / retryMaxMs); delays come from core/backoff. */
export interface SourceRetryPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** The delay doubles per consecutive failure up to this cap. */
  maxMs: number;
  /** Fraction of the delay randomised away (0 = none, default 0.2): delay ∈ [base·(1−jitter), base]. */
  jitter?: number;
}

export interface SourceFailure {
  readonly error: unknown;
  /** Consecutive failures so far (1 for the first). */
  readonly failures: number;
  /** Delay before the next attempt. */
  readonly retryInMs: number;
}

export interface SuperviseOptions extends SourceRetryPolicy {
  /** Stops retrying and the current source; iteration then ends normally. */
  signal?: AbortSignal;
  onFailure?: (failure: SourceFailure) => void;
  /** Called with the number of failures that preceded a source that is delivering audio again. */
  onRecovered?: (failuresBefore: number) => void;
  /** Audio a source must deliver after a restart before the failure count resets. Default 5 s (80 000 samples). */
  healthySamples?: number;
  /** Give up (throw the last error) after this many consecutive failures. Default: never. */
  maxConsecutiveFailures?: number;
  random?: () => number;
  /** Injected for tests; must resolve false when aborted. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<boolean>;
}

/**
 * Opens `open(signal)` and forwards its audio; reopens it with backoff after each failure. The signal passed to
 * `open` aborts when the supervisor is aborted or its consumer stops iterating.
 */
export async function* superviseSource(open: (signal: AbortSignal) => AudioChunks, opts: SuperviseOptions): AsyncGenerator<Int16Array> {
  const wait = opts.sleep ?? abortableSleep;
  const random = opts.random ?? Math.random;
  const healthy = opts.healthySamples ?? 5 * SAMPLE_RATE;
  const outer = opts.signal;
  let failures = 0;

  while (!outer?.aborted) {
    const attempt = new AbortController();
    const forward = () => attempt.abort();
    outer?.addEventListener('abort', forward, { once: true });
    let delivered = 0;
    let error: unknown;
    try {
      for await (const chunk of open(attempt.signal)) {
        if (failures > 0 && delivered < healthy && delivered + chunk.length >= healthy) {
          opts.onRecovered?.(failures);
          failures = 0;
        }
        delivered += chunk.length;
        yield chunk;
      }
      if (outer?.aborted) return;
      error = new EarshotError('RECORDER_FAILED', 'the audio source ended unexpectedly');
    } catch (e) {
      if (outer?.aborted) return;
      error = e;
    } finally {
      outer?.removeEventListener('abort', forward);
      attempt.abort();
    }
    failures += 1;
    if (opts.maxConsecutiveFailures !== undefined && failures >= opts.maxConsecutiveFailures) throw error;
    const retryInMs = backoffDelayMs(failures - 1, { minMs: opts.initialMs, maxMs: opts.maxMs, jitter: opts.jitter ?? 0.2 }, random);
    opts.onFailure?.({ error, failures, retryInMs });
    if (!(await wait(retryInMs, outer))) return;
  }
}
