/**
 * KeyStore backed by a file in the data directory (mode 0600, readable by the service user only).
 * Format: one JSON object {"format":"earshot-device-key","version":1,"id":"kek-…","key":"<base64, 32 bytes>"}.
 * A pending rotation key sits next to it as `<file>.next` until the database has switched to it.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import { EarshotError } from '../core/errors.js';
import { KEY_BYTES, open, seal } from './aead.js';
import type { KeyEncryptionKey, KeyStore, LoadedKeys } from './key-store.js';

const FORMAT = 'earshot-device-key';
export const KEY_FILE_NAME = 'device.key';

class AesKek implements KeyEncryptionKey {
  readonly #key: Buffer;
  constructor(
    readonly id: string,
    key: Buffer,
  ) {
    this.#key = key;
  }
  wrap(plaintext: Buffer, aad: Buffer): Buffer {
    return seal(this.#key, plaintext, aad);
  }
  unwrap(blob: Buffer, aad: Buffer): Buffer {
    return open(this.#key, blob, aad, 'wrapped key');
  }
}

/** Throws KEY_FILE_PERMISSIONS when group or others have any access (the fix is in the message). */
export function checkKeyFileMode(file: string, mode: number): void {
  if ((mode & 0o077) !== 0) {
    throw new EarshotError(
      'KEY_FILE_PERMISSIONS',
      `key file ${file} is accessible by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `fix it with: chmod 600 ${file}`,
      { details: { file } },
    );
  }
}

async function writeFileDurably(file: string, data: string): Promise<void> {
  // O_EXCL: never overwrite an existing key by accident.
  const fh = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await syncDir(path.dirname(file));
}

async function syncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

function serialise(id: string, key: Buffer): string {
  return JSON.stringify({ format: FORMAT, version: 1, id, key: key.toString('base64'), createdAt: new Date().toISOString() }) + '\n';
}

async function readKeyFile(file: string): Promise<AesKek | undefined> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EarshotError('STORE_IO', `cannot read key file ${file}: ${(e as Error).message}`);
  }
  checkKeyFileMode(file, st.mode);
  const text = await fs.readFile(file, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new EarshotError('KEY_FILE_INVALID', `key file ${file} is not valid JSON`);
  }
  const d = doc as { format?: unknown; version?: unknown; id?: unknown; key?: unknown };
  if (d.format !== FORMAT || d.version !== 1 || typeof d.id !== 'string' || typeof d.key !== 'string') {
    throw new EarshotError('KEY_FILE_INVALID', `key file ${file} is not an Earshot device key (format/version/id/key)`);
  }
  const key = Buffer.from(d.key, 'base64');
  if (key.length !== KEY_BYTES) throw new EarshotError('KEY_FILE_INVALID', `key file ${file} holds a key of the wrong length`);
  return new AesKek(d.id, key);
}

export class FileKeyStore implements KeyStore {
  readonly location: string;
  private readonly nextFile: string;

  constructor(readonly file: string) {
    this.location = file;
    this.nextFile = `${file}.next`;
  }

  static inDataDir(dataDir: string): FileKeyStore {
    return new FileKeyStore(path.join(dataDir, KEY_FILE_NAME));
  }

  async exists(): Promise<boolean> {
    try {
      await fs.stat(this.file);
      return true;
    } catch {
      return false;
    }
  }

  /** Create the key file (used by `earshot init`); refuses to overwrite one. */
  async create(): Promise<void> {
    try {
      await writeFileDurably(this.file, serialise(newKekId(), randomBytes(KEY_BYTES)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new EarshotError('BAD_ARGUMENT', `key file ${this.file} already exists; refusing to overwrite it`);
      }
      throw e;
    }
  }

  async load(): Promise<LoadedKeys> {
    const current = await readKeyFile(this.file);
    const next = await readKeyFile(this.nextFile);
    if (!current && !next) {
      throw new EarshotError('KEY_FILE_MISSING', `no key file at ${this.file}; run \`earshot init\` first`);
    }
    if (!current) {
      // Cannot happen through commitNext (rename is atomic), but keep the pending key usable.
      return { current: next as AesKek };
    }
    return next ? { current, next } : { current };
  }

  async stageNext(): Promise<KeyEncryptionKey> {
    await this.discardNext();
    const id = newKekId();
    const key = randomBytes(KEY_BYTES);
    await writeFileDurably(this.nextFile, serialise(id, key));
    return new AesKek(id, key);
  }

  async commitNext(expectedId: string): Promise<void> {
    const next = await readKeyFile(this.nextFile);
    if (!next || next.id !== expectedId) {
      throw new EarshotError('KEY_FILE_INVALID', `pending key file ${this.nextFile} is missing or is not key ${expectedId}`);
    }
    // rename() replaces the old key atomically: there is never a moment without a usable key file.
    await fs.rename(this.nextFile, this.file);
    await syncDir(path.dirname(this.file));
  }

  async discardNext(): Promise<void> {
    try {
      await fs.unlink(this.nextFile);
      await syncDir(path.dirname(this.file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

function newKekId(): string {
  return `kek-${randomBytes(8).toString('hex')}`;
}
