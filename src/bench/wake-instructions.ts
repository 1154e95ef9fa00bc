/**
 * A machine-independent cost figure: CPU instructions per 80 ms frame of the wake loop, counted by valgrind's
 * callgrind (this VM has no hardware counters for `perf stat`). Each configuration runs the bench child under
 * callgrind twice, over N1 and N2 frames of speech (the audio must hold N2 frames); (I(N2) − I(N1)) / (N2 − N1)
 * removes start-up, model loading and warm-up, leaving the steady per-frame cost. Old path (window model)
 * against new (streaming), and the new path with the mel model in ONNX Runtime instead of its FFT form.
 * Used by `earshot bench` and by scripts/instructions-per-frame.mjs.
 */
import { execFile } from 'node:child_process';
import { CHILD_FLAG, childScript, type ChildSpec, type EmbeddingPath } from './wake.js';

export interface InstructionsOptions {
  /** Raw s16 speech file (the bench's). */
  pcm: string;
  phases: number;
  log?: (line: string) => void;
  /**
   * Frames of the short and the long run (default 100 and 400). V8's compiler and collector threads do a
   * different amount of work in each run; over 60 frames (20 and 80, before) that moved the per-frame figure by
   * ±1 M and once by −4.6 M, over 300 it is divided by five times as many frames. (`node --single-threaded`
   * was tried: it counted 6.4–6.7 M per default frame where the usual process counts ~3.6 M, so it measures a
   * differently configured V8, not the device's.)
   */
  frames?: [number, number];
  /**
   * Count only inside onnxruntime-node's `run` (the model calls with the binding's marshalling). The whole
   * process varies by about ±1 M instructions per frame between runs (V8's compiler and collector threads);
   * this count repeats to within 0.1 %, so it can show a change of a few per cent.
   */
  runOnly?: boolean;
  /** Skip the window model's two slow runs: the result has no '.windowPath' or '.ratio'. */
  streamingOnly?: boolean;
}

/** callgrind's pattern for the native run of onnxruntime-node's session (InferenceSessionWrap::Run). */
const RUN_SYMBOL = 'InferenceSessionWrap::Run*';

function callgrind(spec: ChildSpec, runOnly: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        ...(runOnly ? [`--toggle-collect=${RUN_SYMBOL}`] : []),
        '--smc-check=all-non-file',
        process.execPath,
        childScript(),
        CHILD_FLAG,
        JSON.stringify(spec),
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: 30 * 60 * 1000 },
      (err, _stdout, stderr) => {
        const m = /Collected : (\d+)/.exec(stderr);
        if (err || !m) {
          reject(new Error(`callgrind run failed: ${err ? err.message : 'no "Collected" line'}\n${stderr.split('\n').slice(-5).join('\n')}`));
          return;
        }
        resolve(Number(m[1]));
      },
    );
  });
}

/**
 * Keys: '' (new path, default loop), '.onnxMel' (the same with the ONNX mel model), '.windowPath' (old path, same
 * loop), '.ratio' (old / new). With runOnly the FFT mel is outside every counted call, so '.onnxMel' is not run.
 */
export async function instructionsPerFrame(opts: InstructionsOptions): Promise<Record<string, number | string>> {
  const log = opts.log ?? (() => {});
  const [n1, n2] = opts.frames ?? [100, 400];
  const available = await new Promise<boolean>((resolve) => execFile('valgrind', ['--version'], (err) => resolve(!err)));
  if (!available) return { '': 'unavailable: valgrind is not installed (apt-get install valgrind)' };
  const perFrame = async (path: EmbeddingPath, mel?: 'onnx'): Promise<number> => {
    const spec = (frames: number): ChildSpec => ({ mode: 'earshot', pcm: opts.pcm, words: ['hey_jarvis'], phases: opts.phases, quietGate: true, path, frames, ...(mel ? { mel } : {}) });
    log(`bench wake: instructions per frame, ${path} path${mel ? ', ONNX mel' : ''}, ${opts.phases} phases${opts.runOnly ? ', inside run() only' : ''}: callgrind over ${n1} and ${n2} frames …`);
    const a = await callgrind(spec(n1), opts.runOnly === true);
    const b = await callgrind(spec(n2), opts.runOnly === true);
    const v = (b - a) / (n2 - n1);
    log(`bench wake: instructions per frame, ${path} path: ${(v / 1e6).toFixed(2)} M`);
    return v;
  };
  const streaming = await perFrame('streaming');
  const onnxMel: Record<string, number> = opts.runOnly ? {} : { '.onnxMel': Math.round(await perFrame('streaming', 'onnx')) };
  if (opts.streamingOnly) return { '': Math.round(streaming), ...onnxMel };
  const window = await perFrame('window');
  return { '': Math.round(streaming), ...onnxMel, '.windowPath': Math.round(window), '.ratio': Math.round((window / streaming) * 100) / 100 };
}
