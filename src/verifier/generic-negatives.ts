/**
 * The generic negative windows Earshot ships (models/verifier_negatives.bin, pinned in models/manifest.json):
 * classifier input windows of the project's own synthetic negative audio (prose, near-miss-like phrases,
 * room noise, tones; made by scripts/make-verifier-negatives.mjs with the non-held-out voices only).
 *
 * Consecutive windows of one stream share all but one embedding, so the file stores runs of consecutive
 * embeddings (float16) and the windows are rebuilt by sliding over each run: ~10× smaller than the windows.
 *
 *   "EVNG" · u8 version (1) · u8 0 · u16 embedding dim · u16 window · u16 stride · u32 runs
 *   u32 × runs run lengths (embeddings) · u16 × (Σ lengths × dim) float16 embeddings, run after run
 */
import { EarshotError } from '../core/index.js';
import { modelOfKind, readVerifiedModel, type ModelManifest } from '../models/index.js';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';

export const NEGATIVES_MAGIC = 'EVNG';
export const NEGATIVES_VERSION = 1;
const HEADER = 4 + 1 + 1 + 2 + 2 + 2 + 4;

export interface NegativeRuns {
  /** Values per embedding (96). */
  dim: number;
  /** Embeddings per window (16). */
  window: number;
  /** Windows are taken every `stride` embeddings of a run. */
  stride: number;
  /** Each run: length × dim values, oldest embedding first. */
  runs: Float32Array[];
}

function integrity(problem: string): EarshotError {
  return new EarshotError('INTEGRITY', `generic negatives file: ${problem}`);
}

export function encodeNegativeRuns(n: NegativeRuns): Uint8Array {
  for (const [k, v] of [['dim', n.dim], ['window', n.window], ['stride', n.stride]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw new EarshotError('BAD_ARGUMENT', `negative runs: ${k} must be an integer from 1 to 65535`);
  }
  const lengths = n.runs.map((r, i) => {
    if (r.length % n.dim !== 0) throw new EarshotError('BAD_ARGUMENT', `negative runs: run ${i} is not a whole number of embeddings`);
    return r.length / n.dim;
  });
  const values = lengths.reduce((a, b) => a + b, 0) * n.dim;
  const out = new Uint8Array(HEADER + 4 * lengths.length + 2 * values);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(NEGATIVES_MAGIC), 0);
  v.setUint8(4, NEGATIVES_VERSION);
  v.setUint16(6, n.dim, true);
  v.setUint16(8, n.window, true);
  v.setUint16(10, n.stride, true);
  v.setUint32(12, lengths.length, true);
  let o = HEADER;
  for (const l of lengths) {
    v.setUint32(o, l, true);
    o += 4;
  }
  for (const r of n.runs) {
    for (let i = 0; i < r.length; i++, o += 2) v.setUint16(o, toFloat16Bits(r[i]!), true);
  }
  return out;
}

export function decodeNegativeRuns(b: Uint8Array): NegativeRuns {
  if (b.length < HEADER) throw integrity('too short');
  if (new TextDecoder().decode(b.subarray(0, 4)) !== NEGATIVES_MAGIC) throw integrity('not an Earshot negatives file');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint8(4) !== NEGATIVES_VERSION) throw integrity(`unknown version ${v.getUint8(4)}`);
  const dim = v.getUint16(6, true);
  const window = v.getUint16(8, true);
  const stride = v.getUint16(10, true);
  const count = v.getUint32(12, true);
  if (dim < 1 || window < 1 || stride < 1) throw integrity('dim, window and stride must be ≥ 1');
  if (b.length < HEADER + 4 * count) throw integrity('truncated in the run table');
  const lengths: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const l = v.getUint32(HEADER + 4 * i, true);
    lengths.push(l);
    total += l;
  }
  const expected = HEADER + 4 * count + 2 * total * dim;
  if (b.length !== expected) throw integrity(`${b.length} bytes, the header describes ${expected}`);
  let o = HEADER + 4 * count;
  const runs = lengths.map((l) => {
    const r = new Float32Array(l * dim);
    for (let i = 0; i < r.length; i++, o += 2) {
      const x = fromFloat16Bits(v.getUint16(o, true));
      if (!Number.isFinite(x)) throw integrity('a value is not finite');
      r[i] = x;
    }
    return r;
  });
  return { dim, window, stride, runs };
}

/** Every window of `window` consecutive embeddings, every `stride` embeddings, of every run (flattened, oldest first). */
export function windowsOfRuns(n: NegativeRuns): Float32Array[] {
  const out: Float32Array[] = [];
  const size = n.window * n.dim;
  for (const r of n.runs) {
    for (let start = 0; start * n.dim + size <= r.length; start += n.stride) out.push(r.slice(start * n.dim, start * n.dim + size));
  }
  return out;
}

/** The shipped generic negative windows, read through the manifest (SHA-256 verified). */
export async function genericNegatives(manifest: ModelManifest): Promise<Float32Array[]> {
  const verified = await readVerifiedModel(manifest, modelOfKind(manifest, 'verifier-negatives'));
  return windowsOfRuns(decodeNegativeRuns(verified.bytes));
}
