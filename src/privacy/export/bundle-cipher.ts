/**
 * Passphrase encryption of an export bundle: scrypt → AES-256-GCM over the whole tar, streamed.
 *
 * File layout (documented in docs/export-format.md):
 *   "EARSHOT-BUNDLE01" (16 bytes) | header length L (uint32 BE) | header JSON (L bytes) | ciphertext | GCM tag (16)
 * header = {"kdf":"scrypt","N":32768,"r":8,"p":1,"salt":b64,"cipher":"aes-256-gcm","iv":b64}; the associated
 * data is everything before the ciphertext, so the parameters cannot be altered.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync, type CipherGCM } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { EarshotError, errorMessage } from '../../core/index.js';
import type { ByteSink } from './tar-writer.js';

export const BUNDLE_MAGIC = Buffer.from('EARSHOT-BUNDLE01', 'ascii');
const TAG = 16;

interface BundleHeader {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  cipher: 'aes-256-gcm';
  iv: string;
}

function deriveKey(passphrase: string, h: BundleHeader): Buffer {
  return scryptSync(passphrase.normalize('NFC'), Buffer.from(h.salt, 'base64'), 32, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r });
}

/** Read a passphrase file: first line, trailing newline removed; at least 8 characters. */
export async function readPassphraseFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new EarshotError('BAD_ARGUMENT', `cannot read passphrase file ${file}: ${errorMessage(e)}`);
  }
  const pass = text.split(/\r?\n/)[0] ?? '';
  if (pass.length < 8) throw new EarshotError('BAD_ARGUMENT', `the passphrase in ${file} is shorter than 8 characters`);
  return pass;
}

/** A sink that encrypts everything written to it into `out`. Call `finish()` to write the tag. */
export class EncryptingSink implements ByteSink {
  private constructor(
    private readonly out: ByteSink,
    private readonly cipher: CipherGCM,
  ) {}

  static async start(out: ByteSink, passphrase: string, params = { N: 32768, r: 8, p: 1 }): Promise<EncryptingSink> {
    const header: BundleHeader = {
      kdf: 'scrypt',
      ...params,
      salt: randomBytes(16).toString('base64'),
      cipher: 'aes-256-gcm',
      iv: randomBytes(12).toString('base64'),
    };
    const hjson = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(hjson.length);
    const preamble = Buffer.concat([BUNDLE_MAGIC, len, hjson]);
    const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, header), Buffer.from(header.iv, 'base64'));
    cipher.setAAD(preamble);
    await out.write(preamble);
    return new EncryptingSink(out, cipher);
  }

  async write(chunk: Buffer): Promise<void> {
    const enc = this.cipher.update(chunk);
    if (enc.length > 0) await this.out.write(enc);
  }

  async finish(): Promise<void> {
    const rest = this.cipher.final();
    if (rest.length > 0) await this.out.write(rest);
    await this.out.write(this.cipher.getAuthTag());
  }
}

/**
 * Decrypt an encrypted bundle to `outFile` (a .tar). Plaintext goes to a temporary file that is renamed only
 * after the tag verified, so a wrong passphrase or a modified file never leaves unauthenticated output.
 */
export async function decryptBundleFile(inFile: string, outFile: string, passphrase: string): Promise<void> {
  if (await fs.stat(outFile).then(() => true, () => false)) {
    throw new EarshotError('BAD_ARGUMENT', `${outFile} already exists; choose a new output path`);
  }
  const fh = await fs.open(inFile, 'r');
  const tmp = `${outFile}.partial-${randomBytes(6).toString('hex')}`;
  let wrote = false;
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(20);
    await fh.read(head, 0, 20, 0);
    if (size < 20 + TAG || !head.subarray(0, 16).equals(BUNDLE_MAGIC)) {
      throw new EarshotError('BAD_ARGUMENT', `${inFile} is not an encrypted Earshot export bundle`);
    }
    const hlen = head.readUInt32BE(16);
    if (hlen > 4096 || 20 + hlen + TAG > size) throw new EarshotError('BAD_ARGUMENT', `${inFile} has a malformed header`);
    const hjson = Buffer.alloc(hlen);
    await fh.read(hjson, 0, hlen, 20);
    const header = JSON.parse(hjson.toString('utf8')) as BundleHeader;
    if (header.kdf !== 'scrypt' || header.cipher !== 'aes-256-gcm' || header.N > 1 << 20 || header.r > 32 || header.p > 16) {
      throw new EarshotError('BAD_ARGUMENT', `${inFile} uses unsupported parameters`);
    }
    const tag = Buffer.alloc(TAG);
    await fh.read(tag, 0, TAG, size - TAG);
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, header), Buffer.from(header.iv, 'base64'));
    decipher.setAAD(Buffer.concat([head, hjson]));
    decipher.setAuthTag(tag);
    const out = await fs.open(tmp, 'wx', 0o600);
    wrote = true;
    try {
      const buf = Buffer.alloc(1 << 20);
      let pos = 20 + hlen;
      const end = size - TAG;
      while (pos < end) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        await out.write(decipher.update(buf.subarray(0, bytesRead)));
      }
      try {
        await out.write(decipher.final());
      } catch (e) {
        throw new EarshotError('INTEGRITY', `cannot open ${inFile}: wrong passphrase, or the file was modified`, { cause: e });
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await fs.rename(tmp, outFile);
    wrote = false;
  } finally {
    await fh.close();
    if (wrote) await fs.rm(tmp, { force: true });
  }
}
