/**
 * AES-256-GCM sealing with associated data (node:crypto only).
 *
 * Sealed blob layout: [format 1 byte = 1][IV 12 bytes][tag 16 bytes][ciphertext]. A fresh random IV per
 * seal; with a 96-bit random IV the GCM bound (2^32 messages per key) is far beyond one owner's recordings.
 * The associated data is not stored: the reader rebuilds it from the row, so a row that was moved,
 * relabelled or re-keyed fails to open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EarshotError } from '../core/index.js';

export const KEY_BYTES = 32;
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = 1 + IV_BYTES + TAG_BYTES;

export function newKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function seal(key: Buffer, plaintext: Uint8Array, aad: Buffer): Buffer {
  if (key.length !== KEY_BYTES) throw new EarshotError('INTERNAL', 'seal: key must be 32 bytes');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const out = Buffer.allocUnsafe(HEADER + plaintext.byteLength);
  out[0] = FORMAT;
  iv.copy(out, 1);
  const body = cipher.update(plaintext);
  body.copy(out, HEADER);
  const rest = cipher.final();
  if (rest.length > 0) rest.copy(out, HEADER + body.length);
  cipher.getAuthTag().copy(out, 1 + IV_BYTES);
  return out;
}

/** Opens a sealed blob; any mismatch (key, associated data, a flipped byte) is INTEGRITY. */
export function open(key: Buffer, blob: Uint8Array, aad: Buffer, what = 'sealed item'): Buffer {
  const buf = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < HEADER || buf[0] !== FORMAT) {
    throw new EarshotError('INTEGRITY', `${what} is malformed (unknown format or truncated)`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(1, 1 + IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(buf.subarray(1 + IV_BYTES, HEADER));
  try {
    const body = decipher.update(buf.subarray(HEADER));
    const rest = decipher.final();
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch (e) {
    throw new EarshotError('INTEGRITY', `${what} failed authentication (wrong key, wrong owner, or modified)`, { cause: e });
  }
}
