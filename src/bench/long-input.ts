/**
 * Peak memory of the daemon on long inputs: `earshot run` replaying a 2-hour WAV file and swallowing a 4-hour
 * flood of raw PCM on stdin, each in its own process. The inputs are generated on the fly (a sparse WAV file of
 * silence; zeros written to the pipe as fast as it takes them) and removed afterwards. The peak RSS (VmHWM) is
 * read from /proc when the daemon reports that it stopped, before it exits. Linux only. Numbers, not pass/fail.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync, ftruncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EarshotError } from '../core/index.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const RATE = 16_000;

export interface LongInputRun {
  peakRssMb: number;
  framesProcessed: number;
  maxBacklogFrames: number;
  elapsedMs: number;
}

/** A WAV header for `seconds` of 16 kHz mono s16 silence, the data left as a hole (no disk space used). */
export function writeSilentWav(file: string, seconds: number): void {
  const bytes = seconds * RATE * 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + bytes, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(bytes, 40);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, h);
    ftruncateSync(fd, 44 + bytes);
  } finally {
    closeSync(fd);
  }
}

function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new EarshotError('INTERNAL', `no VmHWM for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/**
 * Runs `earshot run --json` on a long input in a fresh data directory and returns its peak RSS.
 * `cli`: the earshot entry point to measure (default: this build's).
 */
export async function measureLongInput(kind: 'file' | 'stdin', seconds: number, cli: string = CLI): Promise<LongInputRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'earshot-long-'));
  const env = { ...process.env, EARSHOT_DATA_DIR: path.join(dir, 'data'), EARSHOT_CONFIG: '' };
  try {
    await new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, [cli, 'init'], { env, stdio: 'ignore' });
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve() : reject(new EarshotError('INTERNAL', `earshot init exited ${code}`))));
    });
    const file = path.join(dir, 'long.wav');
    if (kind === 'file') writeSilentWav(file, seconds);
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, 'run', '--json', '--input', kind === 'file' ? file : '-'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let peak = 0;
    let stopped: { metrics: { framesProcessed: number; maxBacklogFrames: number } } | undefined;
    let stderr = '';
    let out = '';
    const sample = () => {
      try {
        peak = Math.max(peak, vmHwmMb(child.pid!));
      } catch {
        // the process has exited
      }
    };
    const poll = setInterval(sample, 200);
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.includes('"type":"stopped"')) {
          sample(); // VmHWM is the peak so far: read it before the process exits
          stopped = JSON.parse(line) as typeof stopped;
        }
      }
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.on('error', () => {}); // the daemon may stop reading first
    if (kind === 'stdin') {
      // As fast as the pipe takes it: with backpressure the writer waits; without, the daemon's memory grows.
      const block = Buffer.alloc(256 * 1024);
      let left = seconds * RATE * 2;
      while (left > 0 && !child.stdin.destroyed) {
        const piece = left >= block.length ? block : block.subarray(0, left);
        left -= piece.length;
        if (!child.stdin.write(piece)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              child.stdin.off('drain', done).off('close', done);
              resolve();
            };
            child.stdin.on('drain', done).on('close', done);
          });
        }
      }
    }
    child.stdin.end();
    const code = await closed;
    clearInterval(poll);
    if (code !== 0 || !stopped) throw new EarshotError('INTERNAL', `earshot run exited ${code}: ${stderr}`);
    return { peakRssMb: peak, framesProcessed: stopped.metrics.framesProcessed, maxBacklogFrames: stopped.metrics.maxBacklogFrames, elapsedMs: performance.now() - t0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `wake.rssMbLongInput`: the larger peak of a 2-hour file replay and a 4-hour stdin flood. */
export async function benchLongInput(opts: { log?: (l: string) => void } = {}): Promise<Record<string, number>> {
  const log = opts.log ?? (() => {});
  log('long input: 2-hour WAV replay and 4-hour stdin flood through `earshot run` (peak RSS)…');
  const file = await measureLongInput('file', 2 * 3600);
  const stdin = await measureLongInput('stdin', 4 * 3600);
  log(`  2 h file: ${file.peakRssMb.toFixed(0)} MB peak in ${(file.elapsedMs / 1000).toFixed(1)} s; 4 h stdin: ${stdin.peakRssMb.toFixed(0)} MB peak in ${(stdin.elapsedMs / 1000).toFixed(1)} s`);
  return {
    'wake.rssMbLongInput': Math.max(file.peakRssMb, stdin.peakRssMb),
    'wake.rssMbLongInputFile2h': file.peakRssMb,
    'wake.rssMbLongInputStdin4h': stdin.peakRssMb,
  };
}
