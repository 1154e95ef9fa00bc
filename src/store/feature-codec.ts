/**
 * Bytes of embedding feature windows (Float32Array, little-endian like every supported host) for sealing: one
 * window, or an enrolment (windows per clip with the clip's peak score, background windows, then each clip's
 * partial-phrase windows; a clip without `partial` in the header has none, as enrolments from before they existed) behind a small
 * JSON header. Decoding checks every length: a blob that opened but does not parse is INTEGRITY, never guessed at.
 */
import { EarshotError } from '../core/index.js';
import type { EnrolmentClip, VerifierEnrolment } from '../core/index.js';

function integrity(what: string): EarshotError {
  return new EarshotError('INTEGRITY', `stored features do not parse: ${what}`);
}

export function featureBytes(f: Float32Array): Buffer {
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}

export function bytesToFeatures(b: Buffer): Float32Array {
  if (b.length % 4 !== 0) throw integrity('length is not a whole number of float32 values');
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

interface EnrolmentHeader {
  v: 1;
  dim: number;
  clips: { peakScore: number; windows: number; partial?: number }[];
  background: number;
}

/** BAD_ARGUMENT when the windows do not all have one positive length or a score is not finite. */
export function encodeEnrolment(e: VerifierEnrolment): Buffer {
  const all = [...e.clips.flatMap((c) => c.windows), ...e.background, ...e.clips.flatMap((c) => c.partialPhrases ?? [])];
  const dim = all[0]?.length ?? 0;
  if (dim === 0) throw new EarshotError('BAD_ARGUMENT', 'an enrolment needs at least one feature window');
  for (const w of all) {
    if (!(w instanceof Float32Array) || w.length !== dim) throw new EarshotError('BAD_ARGUMENT', `every feature window must be a Float32Array of ${dim} values`);
  }
  for (const c of e.clips) if (!Number.isFinite(c.peakScore)) throw new EarshotError('BAD_ARGUMENT', 'a clip peak score must be a number');
  const header: EnrolmentHeader = {
    v: 1,
    dim,
    clips: e.clips.map((c) => ({ peakScore: c.peakScore, windows: c.windows.length, ...((c.partialPhrases?.length ?? 0) > 0 ? { partial: c.partialPhrases!.length } : {}) })),
    background: e.background.length,
  };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([len, head, ...all.map(featureBytes)]);
}

export function decodeEnrolment(b: Buffer): VerifierEnrolment {
  if (b.length < 4) throw integrity('too short');
  const headLen = b.readUInt32BE(0);
  if (4 + headLen > b.length) throw integrity('header overruns the blob');
  let h: EnrolmentHeader;
  try {
    h = JSON.parse(b.subarray(4, 4 + headLen).toString('utf8')) as EnrolmentHeader;
  } catch {
    throw integrity('header is not JSON');
  }
  const count = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  if (h.v !== 1 || !count(h.dim) || h.dim === 0 || !Array.isArray(h.clips) || !count(h.background) || !h.clips.every((c) => count(c.windows) && (c.partial === undefined || count(c.partial)) && typeof c.peakScore === 'number')) {
    throw integrity('header fields');
  }
  const windows = h.clips.reduce((n, c) => n + c.windows + (c.partial ?? 0), 0) + h.background;
  if (b.length !== 4 + headLen + windows * h.dim * 4) throw integrity('length does not match the header');
  let at = 4 + headLen;
  const next = (): Float32Array => {
    const f = bytesToFeatures(b.subarray(at, at + h.dim * 4));
    at += h.dim * 4;
    return f;
  };
  const clips: EnrolmentClip[] = h.clips.map((c) => ({ peakScore: c.peakScore, windows: Array.from({ length: c.windows }, next) }));
  const background = Array.from({ length: h.background }, next);
  h.clips.forEach((c, i) => {
    if ((c.partial ?? 0) > 0) clips[i]!.partialPhrases = Array.from({ length: c.partial! }, next);
  });
  return { clips, background };
}
