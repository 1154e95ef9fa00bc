/**
 * The mel front end: audio → rows of 32 log-mel values, as the pinned `melspectrogram.onnx` computes them.
 *
 * Two implementations of one interface:
 *  - `FftMelSpectrogram` (src/wakeword/fft-mel-spectrogram.ts), the device's: the same arithmetic with an FFT in
 *    JavaScript, its window and filterbank read out of the pinned model file (issue 11 §5: the model's 1 MB of
 *    DFT weights were a third of the bytes every frame read, and one of three ONNX calls per frame);
 *  - `OnnxMelSpectrogram`, the model itself in ONNX Runtime: the faithfulness oracle for tests and the bench.
 */
import { EarshotError } from '../core/index.js';
import { modelOfKind, readVerifiedModel, type ModelManifest } from '../models/index.js';
import { FftMelSpectrogram } from './fft-mel-spectrogram.js';
import { openModel, ort, type Session } from './onnx-sessions.js';

export interface MelSpectrogram {
  /** 'fft': computed in JavaScript from the model's parameters; 'onnx': the model run by ONNX Runtime. */
  readonly kind: 'fft' | 'onnx';
  /**
   * The model's output for `samples` (int16 values as floats, any length ≥ 512): floor((n − 512) / 160) + 1 rows
   * of 32 values in dB, floored at 80 dB below this call's loudest value (before openWakeWord's x/10 + 2).
   * The result is the caller's (a fresh array).
   */
  run(samples: Float32Array): Float32Array | Promise<Float32Array>;
}

/** The pinned model in ONNX Runtime (the oracle). */
export class OnnxMelSpectrogram implements MelSpectrogram {
  readonly kind = 'onnx';
  private readonly input: string;
  private readonly output: string;

  constructor(readonly session: Session) {
    const input = session.inputNames[0];
    const output = session.outputNames[0];
    if (input === undefined || output === undefined) throw new EarshotError('MODEL_LOAD_FAILED', 'mel model without input/output');
    this.input = input;
    this.output = output;
  }

  async run(samples: Float32Array): Promise<Float32Array> {
    const out = await this.session.run({ [this.input]: new ort.Tensor('float32', samples, [1, samples.length]) });
    const data = out[this.output]?.data;
    if (!(data instanceof Float32Array)) throw new EarshotError('INTERNAL', 'unexpected mel model output type');
    return data;
  }
}

/** The device's mel front end: the pinned mel model, verified, read into its FFT form (no ONNX session). */
export async function loadMelSpectrogram(manifest: ModelManifest): Promise<FftMelSpectrogram> {
  const verified = await readVerifiedModel(manifest, modelOfKind(manifest, 'mel'));
  try {
    return FftMelSpectrogram.fromModel(verified.bytes);
  } catch (e) {
    if (e instanceof EarshotError) throw new EarshotError(e.code, `${verified.path}: ${e.message}`, { cause: e, details: { file: verified.path } });
    throw e;
  }
}

/** The pinned mel model in ONNX Runtime: the oracle the FFT form is tested and benchmarked against. */
export async function openOnnxMelSpectrogram(manifest: ModelManifest): Promise<OnnxMelSpectrogram> {
  return new OnnxMelSpectrogram(await openModel(manifest, modelOfKind(manifest, 'mel')));
}
