/**
 * Derives a batched form of an openWakeWord classifier (input [1, window, 96] → output [1, classes]) by
 * rewriting its ONNX graph: the batch dimension becomes dynamic, so every phase's window is scored in ONE
 * call ([P, window, 96] → [P, classes]) instead of P calls. Pure bytes → bytes, deterministic.
 *
 * Why it is the same function per row: every operator of these graphs works row by row — Flatten(axis 1), Gemm
 * (rows times a weight matrix), elementwise ops, reductions and Softmax over the last axis. The one exception is
 * the `If` some models end with (hey_jarvis: when the first network scores ≥ 0.5 a second, "verifier" network
 * gives the score): its condition must be a single value, so the rewrite computes both branches, which have no
 * side effects, and picks per row with `Where(condition, then, else)`. The rewrite refuses (MODEL_LOAD_FAILED,
 * naming the node) any other operator or a shape it does not understand, instead of emitting a wrong model.
 *
 * Graph handling goes through `onnx-proto`, as for the streaming embedding model.
 */
import onnxProto from 'onnx-proto';
import { EarshotError, errorMessage } from '../core/index.js';

const { onnx } = onnxProto;

export const CLASSIFIER_GENERATOR = 'src/wakeword/batched-classifier-generator.ts';
/** Bump whenever the output bytes for the same source could change (part of the pinned provenance). */
export const CLASSIFIER_GENERATOR_VERSION = '1';
export const BATCH_DIM = 'batch';

/** Operators that act on each row of the batch on its own (checked attributes below where it depends on them). */
const ROW_WISE = new Set(['Gemm', 'Relu', 'Sigmoid', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Constant', 'GreaterOrEqual', 'Cast', 'Identity']);

function refuse(what: string): EarshotError {
  return new EarshotError('MODEL_LOAD_FAILED', `cannot derive the batched classifier: ${what}`);
}

type NodeProto = onnxProto.onnx.INodeProto;

function attr(n: NodeProto, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return n.attribute?.find((a) => a.name === name);
}

/** Checks that `n` treats rows independently (axis 0 is the batch). */
function checkRowWise(n: NodeProto): void {
  const where = `node ${n.name} (${n.opType})`;
  switch (n.opType) {
    case 'Flatten':
      if (Number(attr(n, 'axis')?.i ?? 1) !== 1) throw refuse(`${where}: only axis 1 keeps the batch`);
      return;
    case 'ReduceMean':
    case 'Softmax': {
      const axes = n.opType === 'Softmax' ? [Number(attr(n, 'axis')?.i ?? -1)] : (attr(n, 'axes')?.ints ?? []).map(Number);
      if (axes.length === 0 || axes.some((a) => a === 0)) throw refuse(`${where}: reduces over the batch axis`);
      return;
    }
    case 'Gemm':
      if (Number(attr(n, 'transA')?.i ?? 0) !== 0) throw refuse(`${where}: transA mixes rows`);
      return;
    default:
      if (!ROW_WISE.has(n.opType ?? '')) throw refuse(`${where}: operator not supported by the rewrite`);
  }
}

export function deriveBatchedClassifier(source: Uint8Array, sourceSha256: string): { bytes: Uint8Array; inlinedIf: number } {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(source);
  } catch (e) {
    throw refuse(`the source is not an ONNX model (${errorMessage(e)})`);
  }
  const graph = model.graph;
  if (!graph?.node || graph.input?.length !== 1 || graph.output?.length !== 1) throw refuse('expected a graph with one input and one output');
  for (const v of [graph.input[0]!, graph.output[0]!]) {
    const dims = v.type?.tensorType?.shape?.dim ?? [];
    if (dims.length < 2 || Number(dims[0]!.dimValue ?? 0) !== 1) throw refuse(`${v.name} is not [1, …]`);
  }
  const taken = new Set<string>([...(graph.initializer ?? []).map((t) => t.name ?? ''), ...graph.node.flatMap((n) => [...(n.output ?? []), n.name ?? ''])]);
  const nodes: NodeProto[] = [];
  let inlinedIf = 0;
  for (const n of graph.node) {
    if (n.opType !== 'If') {
      checkRowWise(n);
      nodes.push(n);
      continue;
    }
    const then = attr(n, 'then_branch')?.g;
    const other = attr(n, 'else_branch')?.g;
    const cond = n.input?.[0];
    if (!then || !other || !cond || n.output?.length !== 1) throw refuse(`node ${n.name} (If): expected two branches and one output`);
    const results: string[] = [];
    for (const [label, g] of [['then', then], ['else', other]] as const) {
      if ((g.initializer ?? []).length > 0 || (g.input ?? []).length > 0 || g.output?.length !== 1) throw refuse(`node ${n.name} (If): ${label} branch has its own initializers or inputs`);
      for (const b of g.node ?? []) {
        checkRowWise(b);
        for (const o of b.output ?? []) {
          if (taken.has(o)) throw refuse(`node ${n.name} (If): ${label} branch output ${o} clashes with the graph`);
          taken.add(o);
        }
        nodes.push(onnx.NodeProto.create({ ...b, name: `${n.name}__${label}__${b.name ?? b.output?.[0] ?? ''}` }));
      }
      results.push(g.output[0]!.name!);
    }
    nodes.push(onnx.NodeProto.create({ name: `${n.name}__where`, opType: 'Where', input: [cond, results[0]!, results[1]!], output: [n.output[0]!] }));
    inlinedIf++;
  }
  const batched = (v: onnxProto.onnx.IValueInfoProto) => {
    const copy = onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(v).finish());
    copy.type!.tensorType!.shape!.dim![0] = onnx.TensorShapeProto.Dimension.create({ dimParam: BATCH_DIM });
    return copy;
  };
  const derived = onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({ ...graph, node: nodes, input: [batched(graph.input[0]!)], output: [batched(graph.output[0]!)], valueInfo: [] }),
    docString: 'openWakeWord classifier with a dynamic batch: one row per phase window, each row scored as the source scores it.',
    metadataProps: [
      onnx.StringStringEntryProto.create({ key: 'earshot.derivedFrom.sha256', value: sourceSha256 }),
      onnx.StringStringEntryProto.create({ key: 'earshot.generator', value: CLASSIFIER_GENERATOR }),
      onnx.StringStringEntryProto.create({ key: 'earshot.generatorVersion', value: CLASSIFIER_GENERATOR_VERSION }),
    ],
  });
  return { bytes: onnx.ModelProto.encode(derived).finish(), inlinedIf };
}
