/**
 * The bytes of a verifier model (what the store seals under the owner's key). Little-endian, a version byte
 * first, every length implied by the header and checked before anything is allocated, every value validated:
 * a corrupt or hostile blob fails with EarshotError('INTEGRITY'), never a crash or a wrongly sized array.
 *
 *   u8 version (1) · u8 name length L · L bytes UTF-8 wakeword · u32 featureDim
 *   f64 bias, gate, threshold, trainedAt, cvRecall, l2 · u32 clips, positives, negatives
 *   f32 × featureDim mean · scale · weights
 */
import { EarshotError } from '../core/index.js';
import { checkVerifierModel, MAX_FEATURE_DIM, type VerifierModel } from './verifier-model.js';

export const VERIFIER_MODEL_VERSION = 1;
const FIXED = 1 + 1 + 4 + 6 * 8 + 3 * 4;

function integrity(problem: string): EarshotError {
  return new EarshotError('INTEGRITY', `verifier model bytes: ${problem}`);
}

export function encodeVerifierModel(m: VerifierModel): Uint8Array {
  checkVerifierModel(m);
  const name = new TextEncoder().encode(m.wakeword);
  const out = new Uint8Array(FIXED + name.length + 12 * m.featureDim);
  const v = new DataView(out.buffer);
  let o = 0;
  v.setUint8(o++, VERIFIER_MODEL_VERSION);
  v.setUint8(o++, name.length);
  out.set(name, o);
  o += name.length;
  v.setUint32(o, m.featureDim, true);
  o += 4;
  for (const x of [m.bias, m.gate, m.threshold, m.trainedAt, m.cvRecall, m.l2]) {
    v.setFloat64(o, x, true);
    o += 8;
  }
  for (const x of [m.clips, m.positives, m.negatives]) {
    v.setUint32(o, x, true);
    o += 4;
  }
  for (const a of [m.mean, m.scale, m.weights]) {
    for (let i = 0; i < a.length; i++, o += 4) v.setFloat32(o, a[i]!, true);
  }
  return out;
}

export function decodeVerifierModel(b: Uint8Array): VerifierModel {
  if (!(b instanceof Uint8Array)) throw new EarshotError('BAD_ARGUMENT', 'verifier model bytes must be a Uint8Array');
  if (b.length < FIXED) throw integrity(`${b.length} bytes is too short`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  const version = v.getUint8(o++);
  if (version !== VERIFIER_MODEL_VERSION) throw integrity(`unknown version ${version} (this Earshot reads ${VERIFIER_MODEL_VERSION})`);
  const nameLength = v.getUint8(o++);
  if (b.length < FIXED + nameLength) throw integrity('truncated in the wake word name');
  let wakeword: string;
  try {
    wakeword = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(o, o + nameLength));
  } catch {
    throw integrity('the wake word name is not UTF-8');
  }
  o += nameLength;
  const featureDim = v.getUint32(o, true);
  o += 4;
  if (featureDim < 1 || featureDim > MAX_FEATURE_DIM) throw integrity(`featureDim ${featureDim} is out of range`);
  const expected = FIXED + nameLength + 12 * featureDim;
  if (b.length !== expected) throw integrity(`${b.length} bytes, a model of ${featureDim} features has ${expected}`);
  const f64 = (): number => {
    const x = v.getFloat64(o, true);
    o += 8;
    return x;
  };
  const u32 = (): number => {
    const x = v.getUint32(o, true);
    o += 4;
    return x;
  };
  const f32s = (): Float32Array => {
    const a = new Float32Array(featureDim);
    for (let i = 0; i < featureDim; i++, o += 4) a[i] = v.getFloat32(o, true);
    return a;
  };
  const bias = f64();
  const gate = f64();
  const threshold = f64();
  const trainedAt = f64();
  const cvRecall = f64();
  const l2 = f64();
  const clips = u32();
  const positives = u32();
  const negatives = u32();
  const mean = f32s();
  const scale = f32s();
  const weights = f32s();
  const model: VerifierModel = { wakeword, featureDim, mean, scale, weights, bias, gate, threshold, trainedAt, clips, positives, negatives, cvRecall, l2 };
  checkVerifierModel(model, integrity);
  return model;
}
