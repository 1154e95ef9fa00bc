/**
 * The microphone, through node-record-lpcm16 (which spawns `arecord` or `sox`/`rec`), as 16 kHz mono int16 chunks.
 *
 * node-record-lpcm16 is a thin spawn wrapper that does not report failures usefully: a missing binary is an
 * unhandled 'error' on the child process (a crash), a non-zero exit becomes a *string* emitted on the audio
 * stream (a crash too if nobody listens), a clean exit is silent and the recorder's stderr is only printed with
 * DEBUG=record. This class attaches to the child process itself so every way the recorder can stop (binary
 * missing, unknown device, exit with any code, signal, no audio for too long) ends the iteration with an
 * EarshotError 'RECORDER_FAILED' that quotes the recorder's own stderr. Stopping on purpose (abort signal or
 * leaving the for-await loop) ends the iteration normally and never leaves the process running.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { SAMPLE_RATE, type AudioChunks, errorMessage } from '../../core/index.js';
import { EarshotError } from '../../core/index.js';
import { silentLogger, type Logger } from '../../core/index.js';
import { PcmByteDecoder } from '../pcm-bytes.js';

export type RecorderName = 'arecord' | 'sox' | 'rec';

/** arecord (ALSA) on Linux, sox elsewhere — what node-record-lpcm16 supports. */
export function defaultRecorder(platform: NodeJS.Platform = process.platform): RecorderName {
  return platform === 'linux' ? 'arecord' : 'sox';
}

interface LpcmRecording {
  readonly process: ChildProcess;
  stream(): Readable;
}
interface LpcmModule {
  record(options: Record<string, unknown>): LpcmRecording;
}

const requireCjs = createRequire(import.meta.url);

export interface MicrophoneOptions {
  recorder?: RecorderName;
  /** ALSA PCM name for arecord (e.g. "plughw:1,0"), AUDIODEV for sox; "default" or empty = system default. */
  device?: string;
  /** Stops the recorder; iteration then ends normally. */
  signal?: AbortSignal;
  logger?: Logger;
  /** A recorder that delivers no audio for this long is treated as failed (0 disables). Default 5000 ms. */
  stallTimeoutMs?: number;
}

const STDERR_KEEP_BYTES = 4096;
const KILL_GRACE_MS = 2000;

/** The last few distinct stderr lines, one line, bounded: enough to say what went wrong. */
export function summariseStderr(stderr: string, maxLines = 3, maxChars = 400): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.replace(/[^\x20-\x7e]/g, '').trim())
    .filter((l) => l.length > 0);
  const distinct: string[] = [];
  for (const l of lines) if (!distinct.includes(l)) distinct.push(l);
  const text = distinct.slice(-maxLines).join(' | ');
  return text.length > maxChars ? `…${text.slice(text.length - maxChars + 1)}` : text;
}

export class MicrophoneSource implements AudioChunks {
  readonly recorder: RecorderName;
  readonly device: string;
  private readonly opts: MicrophoneOptions;

  constructor(opts: MicrophoneOptions = {}) {
    this.recorder = opts.recorder ?? defaultRecorder();
    this.device = opts.device ?? 'default';
    this.opts = opts;
  }

  /** Human description for messages, e.g. `arecord (device "plughw:1,0")`. */
  get description(): string {
    return `${this.recorder} (device "${this.device}")`;
  }

  [Symbol.asyncIterator](): AsyncIterator<Int16Array> {
    return new RecorderRun(this, this.opts);
  }
}

/** One recorder process: started by the first pull, finished by exit, abort or return(). */
class RecorderRun implements AsyncIterator<Int16Array> {
  private readonly mic: MicrophoneSource;
  private readonly opts: MicrophoneOptions;
  private readonly log: Logger;
  private child: ChildProcess | undefined;
  private readonly queue: Int16Array[] = [];
  private readonly decoder = new PcmByteDecoder();
  private failure: EarshotError | undefined;
  private done = false;
  private stopping = false;
  private exited: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stderr = '';
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.stop();

  constructor(mic: MicrophoneSource, opts: MicrophoneOptions) {
    this.mic = mic;
    this.opts = opts;
    this.log = (opts.logger ?? silentLogger).child({ component: 'microphone' });
  }

  private start(): void {
    const { recorder, device } = this.mic;
    const signal = this.opts.signal;
    if (signal?.aborted) {
      this.done = true;
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });

    const useDevice = device !== '' && !(recorder !== 'arecord' && device === 'default');
    let rec: LpcmRecording;
    try {
      const lpcm = requireCjs('node-record-lpcm16') as LpcmModule;
      rec = lpcm.record({
        sampleRate: SAMPLE_RATE,
        channels: 1,
        recorder,
        audioType: 'raw',
        ...(useDevice ? { device } : {}),
      });
    } catch (e) {
      signal?.removeEventListener('abort', this.onAbort);
      this.fail(new EarshotError('RECORDER_FAILED', `cannot start the recorder ${this.mic.description}: ${errorMessage(e)}`, { cause: e }));
      return;
    }
    const child = rec.process;
    this.child = child;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    this.log.info('recorder starting', { recorder, device, pid: child.pid });

    child.on('error', (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'ENOENT'
          ? `the program "${recorder}" was not found; install ${recorder === 'arecord' ? 'alsa-utils' : 'sox'} or choose another audio.recorder`
          : err.message;
      this.fail(new EarshotError('RECORDER_FAILED', `cannot start the recorder ${this.mic.description}: ${hint}`, { cause: err }));
    });
    child.stderr?.setEncoding('latin1');
    child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_KEEP_BYTES);
    });
    const audio = rec.stream();
    // node-record-lpcm16 emits a plain string here on non-zero exit; the 'close' handler reports it properly.
    audio.on('error', (err: unknown) => {
      if (!(typeof err === 'string')) this.log.warn('recorder stream error', { error: String((err as Error)?.message ?? err) });
    });
    audio.on('data', (bytes: Buffer) => {
      const samples = this.decoder.push(bytes);
      this.armStallTimer();
      // Once stopping, late audio is dropped rather than queued for a consumer that has gone.
      if (samples.length === 0 || this.done || this.stopping) return;
      this.queue.push(samples);
      this.notify();
    });
    child.on('close', (code: number | null, sig: NodeJS.Signals | null) => {
      this.clearStallTimer();
      signal?.removeEventListener('abort', this.onAbort);
      this.child = undefined;
      if (this.stopping) {
        this.log.info('recorder stopped', { recorder });
        this.done = true;
        this.notify();
        return;
      }
      const how =
        code === 0 ? 'stopped unexpectedly (exit code 0)' : code !== null ? `exited with code ${code}` : `was killed by ${sig ?? 'a signal'}`;
      const said = summariseStderr(this.stderr);
      this.fail(
        new EarshotError('RECORDER_FAILED', `the recorder ${this.mic.description} ${how}${said ? `: ${said}` : ''}`, {
          details: { recorder, device: this.mic.device, exitCode: code, signal: sig },
        }),
      );
    });
    this.armStallTimer();
  }

  private armStallTimer(): void {
    const ms = this.opts.stallTimeoutMs ?? 5000;
    if (ms <= 0 || this.done || this.stopping) return;
    this.clearStallTimer();
    this.stallTimer = setTimeout(() => {
      const said = summariseStderr(this.stderr);
      this.fail(new EarshotError('RECORDER_FAILED', `the recorder ${this.mic.description} delivered no audio for ${ms} ms${said ? `: ${said}` : ''}`));
    }, ms);
  }

  private clearStallTimer(): void {
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private fail(err: EarshotError): void {
    if (this.done || this.failure !== undefined) return;
    this.failure = err;
    this.log.warn('recorder failed', { code: err.code, error: err.message });
    this.kill();
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private kill(): void {
    this.clearStallTimer();
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // node-record-lpcm16's pause() stops the recorder with SIGSTOP; a stopped process acts on SIGTERM only once continued.
    child.kill('SIGCONT');
    const force = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, KILL_GRACE_MS);
    force.unref();
  }

  /** Stop on purpose: the iteration ends normally once the process has gone. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.child === undefined) {
      this.done = true;
      this.notify();
      return;
    }
    this.kill();
  }

  async next(): Promise<IteratorResult<Int16Array>> {
    if (this.child === undefined && !this.done && this.failure === undefined && !this.stopping && this.exited === undefined) this.start();
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) return { value: chunk, done: false };
      if (this.failure !== undefined) {
        const err = this.failure;
        this.done = true;
        this.failure = undefined;
        await this.exited;
        throw err;
      }
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<Int16Array>> {
    this.stop();
    this.queue.length = 0;
    await this.exited;
    this.done = true;
    return { value: undefined, done: true };
  }
}
