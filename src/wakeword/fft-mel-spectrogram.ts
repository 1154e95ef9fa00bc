/**
 * `melspectrogram.onnx` computed with an FFT (issue 11 §5).
 *
 * The pinned model is a fixed pipeline (torchlibrosa's Spectrogram + LogmelFilterBank exported to ONNX):
 * two Conv1d of 257 × 512 weights, stride 160, that are a window times cos / −sin (a DFT of each 512-sample
 * frame); power re² + im²; a 257 × 32 mel filterbank (MatMul); Clip at amin; 10·ln(x)/ln 10; ReduceMax over the
 * whole call; Clip at max − top_db. `melParametersOf` reads the window, filterbank and constants out of the
 * verified model file and refuses a model whose nodes, constants or weights are not that pipeline's (so a
 * different mel model cannot silently be computed the wrong way); `FftMelSpectrogram` then does the same
 * arithmetic, the DFT as a real FFT (fft.js) in float64. The only differences from ONNX Runtime's float32 result
 * are its rounding, largest in bins far below a call's loudest one (the float32 DFT leaks ~1e-7 of the loud bins
 * into them): 8.0e-4 dB at most over the committed fixtures (8.0e-5 in the features); the detector's scores move
 * by 4.2e-6 at most (test/wakeword/fft-mel.test.ts).
 */
import FFT from 'fft.js';
import onnxProto from 'onnx-proto';
import { EarshotError, errorMessage } from '../core/index.js';
import { MEL_BINS, MEL_HOP_SAMPLES } from './constants.js';
import type { MelSpectrogram } from './mel-spectrogram.js';

const { onnx } = onnxProto;

/** What the model computes, read out of it. */
export interface MelParameters {
  /** DFT length (the Conv kernel). */
  nFft: number;
  /** Samples between frames (the Conv stride). */
  hop: number;
  /** The analysis window the DFT weights carry (nFft values). */
  window: Float64Array;
  /** The filterbank, [nFft / 2 + 1][bins] row-major. */
  filterbank: Float32Array;
  bins: number;
  /** Power floor before the log. */
  amin: number;
  /** dB = log(x) · dbMul / dbDiv − dbRef (the model's own constants, applied in its order). */
  dbMul: number;
  dbDiv: number;
  dbRef: number;
  /** Values below (the call's maximum − topDb) are raised to it. */
  topDb: number;
}

/** The model's node types in order (Constant nodes left out): anything else is refused. */
const PIPELINE = ['Unsqueeze', 'Conv', 'Conv', 'Unsqueeze', 'Transpose', 'Unsqueeze', 'Transpose', 'Pow', 'Pow', 'Add', 'MatMul', 'Clip', 'Log', 'Mul', 'Div', 'Sub', 'ReduceMax', 'Sub', 'Cast', 'Clip'];
/** Largest |weight − window·cos| allowed: the file's float32 rounding of the products is ~6e-8. */
const DFT_TOLERANCE = 1e-6;

interface Tensor {
  name: string;
  dataType: number;
  dims: (number | { toString(): string })[];
  rawData?: Uint8Array | null;
  floatData: number[];
}
interface Attr {
  name: string;
  ints: (number | { toString(): string })[];
  i?: number | { toString(): string } | null;
  t?: Tensor | null;
}
interface Node {
  opType: string;
  input: string[];
  output: string[];
  attribute: Attr[];
}

function refuse(what: string): EarshotError {
  return new EarshotError('MODEL_LOAD_FAILED', `the mel model is not the melspectrogram pipeline this front end computes: ${what}`);
}

function floats(t: Tensor): Float32Array {
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) throw refuse(`tensor ${t.name} is not float32`);
  if (t.rawData && t.rawData.length > 0) {
    const copy = Uint8Array.from(t.rawData);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(t.floatData);
}

function intsOf(n: Node, name: string): number[] | undefined {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.ints.map((v) => Number(v)) : undefined;
}

/** Reads and checks the parameters of a melspectrogram model (its verified bytes). */
export function melParametersOf(bytes: Uint8Array): MelParameters {
  let graph: { node: Node[]; initializer: Tensor[] };
  try {
    graph = onnx.ModelProto.decode(bytes).graph as unknown as typeof graph;
  } catch (e) {
    throw refuse(`not an ONNX model (${errorMessage(e)})`);
  }
  if (!graph) throw refuse('no graph');
  const values = new Map<string, Float32Array>();
  for (const t of graph.initializer) if (t.dataType === onnx.TensorProto.DataType.FLOAT) values.set(t.name, floats(t));
  const nodes: Node[] = [];
  for (const n of graph.node) {
    if (n.opType !== 'Constant') nodes.push(n);
    else {
      const t = n.attribute.find((a) => a.name === 'value')?.t;
      if (t && t.dataType === onnx.TensorProto.DataType.FLOAT && n.output[0]) values.set(n.output[0], floats(t));
    }
  }
  const types = nodes.map((n) => n.opType);
  if (types.join() !== PIPELINE.join()) throw refuse(`nodes ${types.join(', ')}`);
  const at = (i: number): Node => nodes[i]!;
  const scalar = (name: string | undefined, what: string): number => {
    const v = name === undefined ? undefined : values.get(name);
    if (!v || v.length !== 1) throw refuse(`${what} is not a float constant`);
    return v[0]!;
  };
  const tensor = (name: string | undefined, what: string): Float32Array => {
    const v = name === undefined ? undefined : values.get(name);
    if (!v) throw refuse(`${what} is not an initializer`);
    return v;
  };

  const [convRe, convIm] = [at(1), at(2)];
  const kernel = intsOf(convRe, 'kernel_shape')?.[0];
  const hop = intsOf(convRe, 'strides')?.[0];
  for (const c of [convRe, convIm]) {
    if (intsOf(c, 'kernel_shape')?.[0] !== kernel || intsOf(c, 'strides')?.[0] !== hop) throw refuse('the two convolutions differ');
    if ((intsOf(c, 'pads') ?? [0, 0]).some((p) => p !== 0)) throw refuse('padded convolution');
    if ((intsOf(c, 'dilations') ?? [1]).some((d) => d !== 1)) throw refuse('dilated convolution');
    if (c.input.length !== 2) throw refuse('convolution with a bias');
  }
  if (kernel === undefined || hop !== MEL_HOP_SAMPLES || kernel % 2 !== 0 || (kernel & (kernel - 1)) !== 0) throw refuse(`kernel ${kernel}, stride ${hop}`);
  const nFft = kernel;
  const half = nFft / 2 + 1;
  const re = tensor(convRe.input[1], 'the real DFT weights');
  const im = tensor(convIm.input[1], 'the imaginary DFT weights');
  if (re.length !== half * nFft || im.length !== half * nFft) throw refuse(`DFT weights of ${re.length} / ${im.length} values, expected ${half} × ${nFft}`);
  // Bin 0's cosine row is the window itself; every other weight must be window · cos / −sin of its bin.
  const window = Float64Array.from(re.subarray(0, nFft));
  let worst = 0;
  for (let k = 0; k < half; k++) {
    for (let n = 0; n < nFft; n++) {
      const a = (2 * Math.PI * ((k * n) % nFft)) / nFft;
      worst = Math.max(worst, Math.abs(re[k * nFft + n]! - window[n]! * Math.cos(a)), Math.abs(im[k * nFft + n]! + window[n]! * Math.sin(a)));
    }
  }
  if (!(worst <= DFT_TOLERANCE)) throw refuse(`the convolution weights are not a windowed DFT (off by ${worst})`);
  // Power: both squared, then added.
  for (const i of [7, 8]) if (scalar(at(i).input[1], 'the power exponent') !== 2) throw refuse('power exponent is not 2');
  const matmul = at(10);
  const filterbank = tensor(matmul.input[1], 'the mel filterbank');
  const bins = filterbank.length / half;
  if (bins !== MEL_BINS) throw refuse(`${bins} mel bins, expected ${MEL_BINS}`);
  const clip = at(11);
  const amin = scalar(clip.input[1], 'the power floor');
  if (clip.input[2] !== undefined && clip.input[2] !== '' && scalar(clip.input[2], 'the power ceiling') !== Infinity) throw refuse('power ceiling is not +∞');
  const dbMul = scalar(at(13).input[1], 'the dB factor');
  const dbDiv = scalar(at(14).input[1], 'the dB divisor');
  const dbRef = scalar(at(15).input[1], 'the dB reference');
  const reduce = at(16);
  if (reduce.attribute.some((a) => a.name === 'axes')) throw refuse('ReduceMax over some axes only');
  const topDb = scalar(at(17).input[1], 'top_db');
  const last = at(19);
  if (last.input[0] !== at(15).output[0]) throw refuse('the final Clip does not floor the dB values');
  if (last.input[2] !== undefined && last.input[2] !== '' && scalar(last.input[2], 'the dB ceiling') !== Infinity) throw refuse('dB ceiling is not +∞');
  return { nFft, hop, window, filterbank, bins, amin, dbMul, dbDiv, dbRef, topDb };
}

/** The model's arithmetic with a real FFT; the device's mel front end. */
export class FftMelSpectrogram implements MelSpectrogram {
  readonly kind = 'fft';
  private readonly fft: FFT;
  private readonly frame: Float64Array;
  private readonly spectrum: Float64Array;
  private readonly power: Float64Array;
  /** The window's non-zero span [windowFrom, windowTo) (hann 400 in a 512 frame: the rest of `frame` stays 0). */
  private readonly windowFrom: number;
  private readonly windowTo: number;
  /** Bins any filter reads: [binFrom, binTo). */
  private readonly binFrom: number;
  private readonly binTo: number;
  /** The filterbank as sparse rows (it is 97 % zeros): mel bin j sums power[filterBin[i]] · filterWeight[i], i in [filterStart[j], filterStart[j + 1]). */
  private readonly filterStart: Int32Array;
  private readonly filterBin: Int32Array;
  private readonly filterWeight: Float64Array;

  constructor(readonly params: MelParameters) {
    const { nFft, bins, filterbank, window } = params;
    const half = nFft / 2 + 1;
    this.fft = new FFT(nFft);
    this.frame = new Float64Array(nFft);
    this.spectrum = new Float64Array(2 * nFft);
    this.power = new Float64Array(half);
    let from = 0;
    while (from < nFft && window[from] === 0) from++;
    let to = nFft;
    while (to > from && window[to - 1] === 0) to--;
    this.windowFrom = from;
    this.windowTo = to;
    const start: number[] = [0];
    const bin: number[] = [];
    const weight: number[] = [];
    for (let j = 0; j < bins; j++) {
      for (let k = 0; k < half; k++) {
        const w = filterbank[k * bins + j]!;
        if (w !== 0) {
          bin.push(k);
          weight.push(w);
        }
      }
      start.push(bin.length);
    }
    this.filterStart = Int32Array.from(start);
    this.filterBin = Int32Array.from(bin);
    this.filterWeight = Float64Array.from(weight);
    this.binFrom = bin.length > 0 ? Math.min(...bin) : 0;
    this.binTo = bin.length > 0 ? Math.max(...bin) + 1 : 0;
  }

  /** From the verified bytes of the pinned mel model. */
  static fromModel(bytes: Uint8Array): FftMelSpectrogram {
    return new FftMelSpectrogram(melParametersOf(bytes));
  }

  rowsFor(samples: number): number {
    return samples < this.params.nFft ? 0 : Math.floor((samples - this.params.nFft) / this.params.hop) + 1;
  }

  run(samples: Float32Array): Float32Array {
    const { hop, window, bins, amin, dbMul, dbDiv, dbRef, topDb } = this.params;
    const rows = this.rowsFor(samples.length);
    const out = new Float32Array(rows * bins);
    const { frame, spectrum, power, windowFrom, windowTo, binFrom, binTo, filterStart, filterBin, filterWeight } = this;
    let max = -Infinity;
    for (let t = 0; t < rows; t++) {
      const o = t * hop;
      for (let n = windowFrom; n < windowTo; n++) frame[n] = samples[o + n]! * window[n]!;
      // Fills bins 0..nFft/2 (the half the model's weights cover).
      this.fft.realTransform(spectrum, frame);
      for (let k = binFrom; k < binTo; k++) {
        const a = spectrum[2 * k]!;
        const b = spectrum[2 * k + 1]!;
        power[k] = a * a + b * b;
      }
      for (let j = 0; j < bins; j++) {
        let s = 0;
        for (let i = filterStart[j]!, end = filterStart[j + 1]!; i < end; i++) s += power[filterBin[i]!]! * filterWeight[i]!;
        out[t * bins + j] = (Math.log(s > amin ? s : amin) * dbMul) / dbDiv - dbRef;
        const v = out[t * bins + j]!; // compared as stored (float32), as the model's ReduceMax sees it
        if (v > max) max = v;
      }
    }
    // The scratch buffers held the last frame's windowed audio and its spectrum: keep no audio outside the feature
    // stream's own window (as its first-chunk buffer is wiped after use).
    frame.fill(0, windowFrom, windowTo);
    spectrum.fill(0);
    power.fill(0);
    // The model's ReduceMax is over everything the call returns.
    const floor = Math.fround(max - topDb);
    for (let i = 0; i < out.length; i++) if (out[i]! < floor) out[i] = floor;
    return out;
  }
}
