/**
 * Derives the streaming embedding model from the pinned window model (`embedding_model.onnx`) by rewriting its
 * ONNX graph; pure bytes → bytes, deterministic (same source bytes and generator version → same output bytes).
 *
 * Why it is exact: every convolution and pool of the window model has stride = kernel (pools) or stride 1 and
 * no padding along time (convs), and the total time stride is 8 — the mel hop between frames. So the window
 * at frame n+1 shares all its activations with frame n except the newest ones. The streaming model takes the
 * newest 8 + 2 mel rows (the first 3-tall convolution needs 2 rows of context), and in front of every later
 * 3-tall convolution concatenates the last 2 rows of that convolution's input from the previous step (a state
 * input) and slices the new last 2 rows out as a state output. Once 76 real rows have gone through, the output
 * equals the window model's on the same 76 rows. All states travel packed in one `state` / `state_next` tensor.
 *
 * The rewrite checks every assumption above on the source graph and refuses (MODEL_LOAD_FAILED, naming the
 * node) a model it does not understand, instead of emitting a wrong one.
 *
 * Graph handling goes through `onnx-proto` (protobufjs code generated from onnx.proto), not hand-parsed bytes.
 */
import onnxProto from 'onnx-proto';
import { EarshotError, errorMessage } from '../core/index.js';
import { EMBEDDING_DIM, EMBEDDING_MEL_ROWS, MEL_BINS, MEL_ROWS_PER_CHUNK, STREAM_INPUT_ROWS } from './constants.js';

const { onnx } = onnxProto;

/** The generator as recorded in a derived model's provenance. */
export const STREAMING_GENERATOR = 'src/wakeword/streaming-embedding-generator.ts';
/**
 * Bump whenever the output bytes for the same source could change (it is part of the pinned provenance).
 * 2: the one-phase model's states are packed too (as the multi-phase models' were in 1).
 */
export const STREAMING_GENERATOR_VERSION = '2';
/** Names of the derived model's main input and output (the window model's, so tools recognise them). */
export const STREAM_INPUT = 'input_1';
export const STREAM_OUTPUT = 'conv2d_19';
/** The packed state input and output (all convolution states, flattened, in order). */
export const PACKED_STATE = 'state';
export const PACKED_STATE_NEXT = 'state_next';

export interface StreamState {
  /** Graph input carrying the previous step's rows. */
  input: string;
  /** Graph output with the rows the next step needs. */
  output: string;
  channels: number;
  rows: number;
  width: number;
}

export interface StreamingOptions {
  /**
   * 1 (default): one embedding per step, the reference grid. P = 2, 4 or 8: one step yields the P embeddings
   * whose windows end 0, 8/P, 2·8/P, … rows before the newest row (the P phase tracks), in one call: the layers
   * before a time pool whose stride exceeds 8/P are shared by all phases (see the file comment).
   */
  phases?: number;
}

/** Phase counts the dense rewrite supports: the output spacing 8/P must be a whole number of rows. */
export const DENSE_PHASES: readonly number[] = [1, 2, 4, 8];

export interface StreamingModel {
  bytes: Uint8Array;
  states: StreamState[];
  /** The length of the packed state (`state` / `state_next`, [batch, packedSize]). */
  packedSize: number;
}

// Decoded messages always carry their repeated fields (protobufjs fills them with []); these views say so.
interface Attr {
  name: string;
  ints: (number | { toString(): string })[];
  i?: number | { toString(): string } | null;
  s: Uint8Array;
}
interface Node {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: Attr[];
}
interface Tensor {
  name: string;
  dataType: number;
  dims: (number | { toString(): string })[];
  rawData?: Uint8Array | null;
  int64Data: { toString(): string }[];
}
interface Dim {
  dimValue?: number | { toString(): string } | null;
  dimParam?: string | null;
}
interface ValueInfo {
  name: string;
  type?: { tensorType?: { shape?: { dim: Dim[] } | null } | null } | null;
}
interface Graph {
  name: string;
  node: Node[];
  initializer: Tensor[];
  input: ValueInfo[];
  output: ValueInfo[];
}

function refuse(what: string): EarshotError {
  return new EarshotError('MODEL_LOAD_FAILED', `cannot derive the streaming embedding model: ${what}`);
}

function ints(node: Node, name: string): number[] | undefined {
  const a = node.attribute.find((x) => x.name === name);
  return a ? a.ints.map((v) => Number(v)) : undefined;
}

function int(node: Node, name: string): number | undefined {
  const a = node.attribute.find((x) => x.name === name);
  return a ? Number(a.i ?? 0) : undefined;
}

function str(node: Node, name: string): string | undefined {
  const a = node.attribute.find((x) => x.name === name);
  return a ? new TextDecoder().decode(a.s) : undefined;
}

function int64Tensor(name: string, values: bigint[]): Tensor {
  const raw = new Uint8Array(new BigInt64Array(values).buffer);
  return onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], rawData: raw }) as unknown as Tensor;
}

function int64Values(t: Tensor): bigint[] {
  if (t.dataType !== onnx.TensorProto.DataType.INT64) throw refuse(`initializer ${t.name} is not int64`);
  if (t.rawData && t.rawData.length > 0) {
    const copy = Uint8Array.from(t.rawData);
    return Array.from(new BigInt64Array(copy.buffer, 0, copy.length / 8));
  }
  return t.int64Data.map((v) => BigInt(v.toString()));
}

function dims(values: (number | string)[]): InstanceType<typeof onnx.TensorShapeProto> {
  return onnx.TensorShapeProto.create({
    dim: values.map((v) => (typeof v === 'number' ? onnx.TensorShapeProto.Dimension.create({ dimValue: v }) : onnx.TensorShapeProto.Dimension.create({ dimParam: v }))),
  });
}

function floatValueInfo(name: string, shape: (number | string)[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: onnx.TensorProto.DataType.FLOAT, shape: dims(shape) }) }),
  });
}

function intsAttr(name: string, values: number[]): Attr {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values }) as unknown as Attr;
}

function node(p: Partial<Node>): Node {
  return onnx.NodeProto.create(p as onnxProto.onnx.INodeProto) as unknown as Node;
}

const ELEMENTWISE = new Set(['LeakyRelu', 'Max', 'Relu']);

/**
 * Rewrites the window model into the streaming model. `sourceSha256` is recorded in the model's metadata so
 * the file itself says where it came from.
 */
export function deriveStreamingEmbedding(source: Uint8Array, sourceSha256: string, opts: StreamingOptions = {}): StreamingModel {
  const phases = opts.phases ?? 1;
  if (!DENSE_PHASES.includes(phases)) throw refuse(`phases must be one of ${DENSE_PHASES.join(', ')} (got ${phases})`);
  // Output spacing in mel rows: 8 for one phase (one embedding per step), 8 / P for P phases.
  const hop = MEL_ROWS_PER_CHUNK / phases;
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(source);
  } catch (e) {
    throw refuse(`the source is not an ONNX model (${errorMessage(e)})`);
  }
  if (!model.graph) throw refuse('the source has no graph');
  const graph = model.graph as unknown as Graph;
  if (graph.input.length !== 1 || graph.output.length !== 1) throw refuse('expected one input and one output');
  const input = graph.input[0]!;
  const inDims = input.type?.tensorType?.shape?.dim.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0))) ?? [];
  if (inDims.length !== 4 || inDims[1] !== EMBEDDING_MEL_ROWS || inDims[2] !== MEL_BINS || inDims[3] !== 1) {
    throw refuse(`input ${input.name} is [${inDims.join(',')}], expected [N,${EMBEDDING_MEL_ROWS},${MEL_BINS},1]`);
  }
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));

  // Walk the chain: the graph is one path from input to output (checked), each node feeding the next.
  const nodes = graph.node;
  const first = nodes[0];
  if (!first || first.opType !== 'Reshape' || first.input[0] !== input.name) throw refuse('the first node must reshape the input');
  const shapeInit = inits.get(first.input[1] ?? '');
  const shape = shapeInit ? int64Values(shapeInit) : [];
  if (shape.join() !== [-1n, 1n, BigInt(EMBEDDING_MEL_ROWS), BigInt(MEL_BINS)].join()) throw refuse(`unexpected input reshape [${shape.join(',')}]`);

  const out: Node[] = [];
  const states: StreamState[] = [];
  const newInits: Tensor[] = [];
  // Streaming step geometry, tracked through the chain: rows per step, width, channels.
  let rows = STREAM_INPUT_ROWS;
  let width = MEL_BINS;
  let channels = 1;
  let timeStride = 1;
  // Spacing (in mel rows) of the rows a layer's output holds: the time stride, but never more than `hop`.
  let spacing = 1;
  let current = first.output[0]!;
  let firstConv = true;
  const shapeName = `${shapeInit!.name}__stream`;
  newInits.push(int64Tensor(shapeName, [-1n, 1n, BigInt(STREAM_INPUT_ROWS), BigInt(MEL_BINS)]));
  out.push(node({ ...first, input: [input.name, shapeName] }));
  const sliceInits = new Map<number, { starts: string; ends: string; axes: string }>();

  /** Concat of `context` carried rows in front of `current` (a state input), and the new last rows as its output. */
  const withState = (name: string, context: number): string => {
    const s = states.length;
    const state: StreamState = { input: `state_${s}`, output: `state_${s}_next`, channels, rows: context, width };
    states.push(state);
    const joined = `${name}__stream_concat`;
    out.push(node({ name: joined, opType: 'Concat', input: [state.input, current], output: [joined], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 2 }) as unknown as Attr] }));
    let sl = sliceInits.get(context);
    if (!sl) {
      sl = { starts: `stream_slice_starts_${context}`, ends: `stream_slice_ends_${context}`, axes: 'stream_slice_axes' };
      newInits.push(int64Tensor(sl.starts, [BigInt(-context)]), int64Tensor(sl.ends, [9_223_372_036_854_775_807n]));
      if (sliceInits.size === 0) newInits.push(int64Tensor(sl.axes, [2n]));
      sliceInits.set(context, sl);
    }
    out.push(node({ name: `${name}__stream_slice`, opType: 'Slice', input: [joined, sl.starts, sl.ends, sl.axes], output: [state.output] }));
    return joined;
  };

  for (let i = 1; i < nodes.length; i++) {
    const n = nodes[i]!;
    const where = `node ${n.name} (${n.opType})`;
    if (n.input[0] !== current) throw refuse(`${where} does not continue the chain`);
    if (n.opType === 'Conv') {
      const w = inits.get(n.input[1] ?? '');
      const k = ints(n, 'kernel_shape') ?? w?.dims.slice(2).map(Number);
      if (!w || !k || k.length !== 2) throw refuse(`${where}: weights or kernel_shape missing`);
      const strides = ints(n, 'strides') ?? [1, 1];
      const dil = ints(n, 'dilations') ?? [1, 1];
      const pads = ints(n, 'pads') ?? [0, 0, 0, 0];
      const autoPad = str(n, 'auto_pad');
      if (strides.some((s) => s !== 1) || dil.some((d) => d !== 1) || (int(n, 'group') ?? 1) !== 1) throw refuse(`${where}: needs stride, dilation and group 1`);
      if (autoPad !== undefined && autoPad !== 'NOTSET') throw refuse(`${where}: auto_pad ${autoPad}`);
      if (pads[0] !== 0 || pads[2] !== 0) throw refuse(`${where}: pads along time`);
      if (pads[1]! + pads[3]! !== k[1]! - 1) throw refuse(`${where}: not "same" padding along the mel bins`);
      if (Number(w.dims[1]) !== channels) throw refuse(`${where}: expects ${Number(w.dims[1])} channels, gets ${channels}`);
      // Past a pool the dense form no longer strides, the kernel reads rows timeStride / spacing apart instead.
      const dilation = timeStride / spacing;
      const context = (k[0]! - 1) * dilation;
      let convInput = current;
      if (context > 0 && firstConv) {
        // The model input itself carries the context rows.
        if (rows - context !== MEL_ROWS_PER_CHUNK) throw refuse(`${where}: first time kernel ${k[0]} does not fit ${STREAM_INPUT_ROWS} input rows`);
        rows -= context;
      } else if (context > 0) {
        convInput = withState(n.name, context);
      }
      firstConv = false;
      const dilated = dilation === 1 ? n : { ...n, attribute: [...n.attribute.filter((a) => a.name !== 'dilations'), intsAttr('dilations', [dilation, 1])] };
      out.push(node({ ...dilated, input: [convInput, ...n.input.slice(1)] }));
      channels = Number(w.dims[0]);
    } else if (n.opType === 'MaxPool') {
      const k = ints(n, 'kernel_shape');
      const s = ints(n, 'strides');
      const pads = ints(n, 'pads') ?? [0, 0, 0, 0];
      if (!k || !s || k[0] !== s[0] || k[1] !== s[1] || pads.some((p) => p !== 0) || (ints(n, 'dilations') ?? [1, 1]).some((d) => d !== 1)) {
        throw refuse(`${where}: pools must have kernel = stride and no padding`);
      }
      if (str(n, 'auto_pad') !== undefined && str(n, 'auto_pad') !== 'NOTSET') throw refuse(`${where}: auto_pad`);
      if (width % k[1]! !== 0) throw refuse(`${where}: width ${width} does not divide by the pool`);
      if (k[0]! === 1 || timeStride * k[0]! <= hop) {
        // Stride = kernel along time as in the source: the step's rows split into whole pools.
        if (rows % k[0]! !== 0) throw refuse(`${where}: ${rows} rows do not divide by the pool`);
        rows /= k[0]!;
        spacing *= k[0]!;
        out.push(n);
      } else {
        // Dense: stride 1 along time, the pooled rows lie timeStride / spacing apart; the first of them may
        // come from the previous step (state).
        if (k[0] !== 2) throw refuse(`${where}: the dense rewrite handles time pools of 2 only`);
        const dilation = timeStride / spacing;
        const pooled = withState(n.name, dilation);
        out.push(node({ ...n, input: [pooled], attribute: [...n.attribute.filter((a) => a.name !== 'strides' && a.name !== 'dilations'), intsAttr('strides', [1, s[1]!]), intsAttr('dilations', [dilation, 1])] }));
      }
      width /= k[1]!;
      timeStride *= k[0]!;
    } else if (ELEMENTWISE.has(n.opType)) {
      for (const extra of n.input.slice(1)) {
        const t = inits.get(extra);
        if (!t || t.dims.reduce<number>((a, b) => a * Number(b), 1) !== 1) throw refuse(`${where}: second input must be a scalar constant`);
      }
      out.push(n);
    } else if (n.opType === 'Reshape' && i === nodes.length - 1) {
      const t = inits.get(n.input[1] ?? '');
      if (!t || int64Values(t).join() !== [-1n, 1n, 1n, BigInt(EMBEDDING_DIM)].join()) throw refuse(`${where}: unexpected output reshape`);
      if (rows > 1) {
        // [N, 96, P, 1] → [N, P, 1, 96] so that the reshape yields one 96-value row per phase, oldest first.
        const t2 = `${n.name}__stream_transpose`;
        out.push(node({ name: t2, opType: 'Transpose', input: [current], output: [t2], attribute: [intsAttr('perm', [0, 2, 3, 1])] }));
        out.push(node({ ...n, input: [t2, ...n.input.slice(1)] }));
      } else {
        out.push(n);
      }
    } else {
      throw refuse(`${where}: operator not supported by the rewrite`);
    }
    current = n.output[0]!;
  }
  if (current !== graph.output[0]!.name) throw refuse('the chain does not end at the graph output');
  if (timeStride !== MEL_ROWS_PER_CHUNK || rows !== phases || width !== 1 || channels !== EMBEDDING_DIM) {
    throw refuse(`a step yields ${rows}×${width}×${channels} with time stride ${timeStride}, expected ${phases}×1×${EMBEDDING_DIM} with stride ${MEL_ROWS_PER_CHUNK}`);
  }

  const batch = 'batch';
  let packedSize = 0;
  // One packed state tensor instead of one per convolution: onnxruntime-node marshals every input and output
  // tensor of a call, and 10–12 pairs of them cost about a fifth of a step (measured: MEASUREMENTS.md §8, §9).
  // Inside the graph each state is a Slice of the packed input, reshaped; the next states are flattened and
  // concatenated in the same order.
  const axes = 'stream_pack_axes';
  newInits.push(int64Tensor(axes, [1n]));
  const unpack: Node[] = [];
  const flats: string[] = [];
  for (const st of states) {
    const len = st.channels * st.rows * st.width;
    const k = st.input;
    newInits.push(
      int64Tensor(`${k}__pack_start`, [BigInt(packedSize)]),
      int64Tensor(`${k}__pack_end`, [BigInt(packedSize + len)]),
      int64Tensor(`${k}__pack_shape`, [-1n, BigInt(st.channels), BigInt(st.rows), BigInt(st.width)]),
      int64Tensor(`${k}__pack_flat`, [-1n, BigInt(len)]),
    );
    unpack.push(node({ name: `${k}__unpack_slice`, opType: 'Slice', input: [PACKED_STATE, `${k}__pack_start`, `${k}__pack_end`, axes], output: [`${k}__packed`] }));
    unpack.push(node({ name: `${k}__unpack_reshape`, opType: 'Reshape', input: [`${k}__packed`, `${k}__pack_shape`], output: [k] }));
    out.push(node({ name: `${st.output}__pack_reshape`, opType: 'Reshape', input: [st.output, `${k}__pack_flat`], output: [`${st.output}__flat`] }));
    flats.push(`${st.output}__flat`);
    packedSize += len;
  }
  out.unshift(...unpack);
  out.push(node({ name: 'stream_pack_concat', opType: 'Concat', input: flats, output: [PACKED_STATE_NEXT], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }) as unknown as Attr] }));
  const stateInputs = [floatValueInfo(PACKED_STATE, [batch, packedSize])];
  const stateOutputs = [floatValueInfo(PACKED_STATE_NEXT, [batch, packedSize])];
  const derivedGraph = onnx.GraphProto.create({
    ...(graph as unknown as onnxProto.onnx.IGraphProto),
    node: out as unknown as onnxProto.onnx.INodeProto[],
    initializer: [...graph.initializer.filter((t) => t.name !== shapeInit!.name), ...newInits] as unknown as onnxProto.onnx.ITensorProto[],
    input: [floatValueInfo(STREAM_INPUT, [batch, STREAM_INPUT_ROWS, MEL_BINS, 1]), ...stateInputs],
    output: [floatValueInfo(STREAM_OUTPUT, [phases === 1 ? batch : 'batch_phases', 1, 1, EMBEDDING_DIM]), ...stateOutputs],
    valueInfo: [],
    name: phases === 1 ? `${graph.name}_streaming` : `${graph.name}_streaming_${phases}_phases`,
  });
  if (input.name !== STREAM_INPUT || graph.output[0]!.name !== STREAM_OUTPUT) throw refuse('unexpected input/output names');
  const derived = onnx.ModelProto.create({
    ...model,
    graph: derivedGraph,
    docString:
      phases === 1
        ? 'Streaming form of openWakeWord embedding_model.onnx: one 80 ms step (8 new mel rows + 2 of context) with carried state.'
        : `Streaming form of openWakeWord embedding_model.onnx for ${phases} phases: one 80 ms step (8 new mel rows + 2 of context) with carried state yields the embeddings of the ${phases} windows ending every ${MEL_ROWS_PER_CHUNK / phases} rows, oldest first.`,
    metadataProps: [
      onnx.StringStringEntryProto.create({ key: 'earshot.derivedFrom.sha256', value: sourceSha256 }),
      onnx.StringStringEntryProto.create({ key: 'earshot.generator', value: STREAMING_GENERATOR }),
      onnx.StringStringEntryProto.create({ key: 'earshot.generatorVersion', value: STREAMING_GENERATOR_VERSION }),
      // Only for P > 1: the one-phase model names no phase count (as before phases existed).
      ...(phases === 1 ? [] : [onnx.StringStringEntryProto.create({ key: 'earshot.phases', value: String(phases) })]),
    ],
  });
  return { bytes: onnx.ModelProto.encode(derived).finish(), states, packedSize };
}
