/**
 * KeyStore backed by a file in the data directory (mode 0600, readable by the service user only).
 * Format: one JSON object {"format":"earshot-device-key","version":1,"id":"kek-…","key":"<base64, 32 bytes>",
 * "createdAt":…, "auditAnchor":{"seq":N,"head":"<hex>"}, "erased":["own-…", …]}.
 * A pending rotation key sits next to it as `<file>.next` until the database has switched to it.
 *
 * The audit anchor and the erased-owner list live *in the key file* on purpose: whoever can put an older
 * database back cannot put an older key file back without holding the key, and a database copy that is older
 * than the anchor fails `audit verify`. The file is replaced atomically (write a temporary file, fsync,
 * rename, fsync the directory) on every change, so a crash leaves either the old or the new file.
 *
 * The file must be a regular file owned by the service user with no hard links or group/other access: a
 * symlink or an extra hard link would keep the old key alive somewhere else after a rotation (the erasure of
 * an owner rotates the key), and a file owned by someone else could have been planted.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock, errorMessage } from '../core/index.js';
import { EarshotError } from '../core/index.js';
import { KEY_BYTES, open, seal } from './aead.js';
import type { AnchoredHead, DeviceStateSlot, KeyEncryptionKey, KeyStore, LoadedKeys } from './key-store.js';

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

/**
 * Everything but the mode check: a regular file (not a directory, not a symlink — the caller opened it with
 * O_NOFOLLOW), owned by this process's user, with exactly one name.
 */
export function checkKeyFileStat(file: string, st: Stats, uid: number | undefined = process.getuid?.()): void {
  if (st.isDirectory()) throw new EarshotError('KEY_FILE_INVALID', `key file ${file} is a directory, not a key file`, { details: { file } });
  if (!st.isFile()) throw new EarshotError('KEY_FILE_INVALID', `key file ${file} is not a regular file`, { details: { file } });
  if (uid !== undefined && st.uid !== uid) {
    throw new EarshotError(
      'KEY_FILE_PERMISSIONS',
      `key file ${file} is owned by uid ${st.uid}, not by the user running earshot (uid ${uid}); a key file planted or kept by someone else is refused`,
      { details: { file } },
    );
  }
  if (st.nlink > 1) {
    throw new EarshotError(
      'KEY_FILE_PERMISSIONS',
      `key file ${file} has ${st.nlink} hard links: another name would keep the old key after a rotation or an erasure; remove the other links (find / -samefile ${file})`,
      { details: { file } },
    );
  }
  checkKeyFileMode(file, st.mode);
}

async function syncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

interface KeyFileDoc {
  format: typeof FORMAT;
  version: 1;
  id: string;
  key: string;
  createdAt: string;
  auditAnchor?: AnchoredHead;
  erased?: string[];
}

function newDoc(id: string, key: Buffer, createdAt: string): KeyFileDoc {
  return { format: FORMAT, version: 1, id, key: key.toString('base64'), createdAt };
}

function serialise(doc: KeyFileDoc): string {
  return JSON.stringify(doc) + '\n';
}

/** Which file version a cached read came from (a replaced file is a new inode). */
interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

function identityOf(st: Stats): FileIdentity {
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

function sameFile(a: FileIdentity, st: Stats): boolean {
  return a.ino === st.ino && a.size === st.size && a.mtimeMs === st.mtimeMs && a.ctimeMs === st.ctimeMs;
}

async function writeNewFile(file: string, data: string): Promise<Stats> {
  // O_EXCL: never overwrite an existing file by accident; O_NOFOLLOW: never write through a planted symlink.
  const fh = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
    return await fh.stat();
  } finally {
    await fh.close();
  }
}

async function unlinkIfExists(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Replace `file` atomically with `data` (temporary file, fsync, rename, fsync the directory), then overwrite
 * the replaced file's content through a descriptor opened before the swap: no unlinked copy of a key file
 * keeps key material in the file system (what flash wear-levelling keeps is beyond software; see README).
 */
async function replaceFile(file: string, data: string): Promise<Stats> {
  const tmp = `${file}.tmp`;
  // A temporary file left by a crash holds a key too: remove it, never write into it.
  await unlinkIfExists(tmp);
  const written = await writeNewFile(tmp, data);
  let old;
  try {
    old = await fs.open(file, fsc.O_RDWR | fsc.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  try {
    await fs.rename(tmp, file);
    await syncDir(path.dirname(file));
    if (old) {
      const size = (await old.stat()).size;
      await old.write(Buffer.alloc(size, 0), 0, size, 0);
      await old.sync();
    }
  } finally {
    await old?.close();
  }
  // rename() keeps the inode, so this identifies the file now at `file` (until someone replaces it).
  return written;
}

/**
 * Read and check a key file; undefined when it does not exist. Another process may replace the file between
 * our open and our read and then wipe the copy we opened (replaceFile): all-zero content is that race, not a
 * corrupt file, so the read is retried on the new file.
 */
async function readKeyDoc(file: string): Promise<KeyFileDoc | undefined> {
  return (await readKeyDocWithIdentity(file))?.doc;
}

async function readKeyDocWithIdentity(file: string): Promise<{ doc: KeyFileDoc; id: FileIdentity } | undefined> {
  for (let attempt = 0; ; attempt++) {
    const read = await readKeyText(file);
    if (read === undefined) return undefined;
    if (attempt < 5 && read.text.length > 0 && /^\0+$/.test(read.text)) continue;
    return { doc: parseKeyDoc(file, read.text), id: identityOf(read.st) };
  }
}

async function readKeyText(file: string): Promise<{ text: string; st: Stats } | undefined> {
  let fh;
  try {
    fh = await fs.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') {
      throw new EarshotError(
        'KEY_FILE_PERMISSIONS',
        `key file ${file} is a symbolic link; a rotation would leave the old key at its target. Replace it with the real file ` +
          `(cp --remove-destination "$(readlink -f ${file})" ${file}) and wipe the target`,
        { details: { file } },
      );
    }
    if (code === 'EISDIR') throw new EarshotError('KEY_FILE_INVALID', `key file ${file} is a directory, not a key file`, { details: { file } });
    throw new EarshotError('STORE_IO', `cannot read key file ${file}: ${errorMessage(e)}`, { details: { file } });
  }
  try {
    const st = await fh.stat();
    checkKeyFileStat(file, st);
    return { text: await fh.readFile('utf8'), st };
  } finally {
    await fh.close();
  }
}

function parseKeyDoc(file: string, text: string): KeyFileDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new EarshotError('KEY_FILE_INVALID', `key file ${file} is not valid JSON`);
  }
  const d = doc as Partial<KeyFileDoc>;
  if (d.format !== FORMAT || d.version !== 1 || typeof d.id !== 'string' || typeof d.key !== 'string') {
    throw new EarshotError('KEY_FILE_INVALID', `key file ${file} is not an Earshot device key (format/version/id/key)`);
  }
  if (Buffer.from(d.key, 'base64').length !== KEY_BYTES) throw new EarshotError('KEY_FILE_INVALID', `key file ${file} holds a key of the wrong length`);
  const a = d.auditAnchor;
  const isHead = (h: unknown): boolean => {
    const x = h as { seq?: unknown; head?: unknown } | null;
    return typeof x === 'object' && x !== null && Number.isSafeInteger(x.seq) && (x.seq as number) >= 0 && typeof x.head === 'string' && /^[0-9a-f]{64}$/.test(x.head);
  };
  if (a !== undefined && !(isHead(a) && (a.base === undefined || isHead(a.base)))) {
    throw new EarshotError('KEY_FILE_INVALID', `key file ${file} has a malformed audit anchor`);
  }
  if (d.erased !== undefined && !(Array.isArray(d.erased) && d.erased.every((x) => typeof x === 'string'))) {
    throw new EarshotError('KEY_FILE_INVALID', `key file ${file} has a malformed erased-owner list`);
  }
  return { ...d, createdAt: typeof d.createdAt === 'string' ? d.createdAt : '' } as KeyFileDoc;
}

async function readKeyFile(file: string): Promise<AesKek | undefined> {
  const d = await readKeyDoc(file);
  return d ? new AesKek(d.id, Buffer.from(d.key, 'base64')) : undefined;
}

export class FileKeyStore implements KeyStore {
  readonly location: string;
  readonly state: DeviceStateSlot;
  private readonly nextFile: string;
  private cached: { doc: KeyFileDoc; id: FileIdentity } | undefined;
  /** Changes of the key file are applied one at a time within this process (across processes the database's write lock orders them). */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.location = file;
    this.nextFile = `${file}.next`;
    this.state = {
      readAuditAnchor: async () => (await this.requireDoc()).auditAnchor,
      writeAuditAnchor: (anchor) =>
        this.update((d) => ({ ...d, auditAnchor: { seq: anchor.seq, head: anchor.head, ...(anchor.base ? { base: { seq: anchor.base.seq, head: anchor.base.head } } : {}) } })),
      erasedOwners: async () => [...((await this.requireDoc()).erased ?? [])],
      recordErasure: (ownerId) =>
        this.update((d) => ((d.erased ?? []).includes(ownerId) ? undefined : { ...d, erased: [...(d.erased ?? []), ownerId] })),
    };
  }

  static inDataDir(dataDir: string): FileKeyStore {
    return new FileKeyStore(path.join(dataDir, KEY_FILE_NAME));
  }

  /** True when anything is at the key file's path (a dangling symlink too: load() then says what is wrong). */
  async exists(): Promise<boolean> {
    try {
      await fs.lstat(this.file);
      return true;
    } catch {
      return false;
    }
  }

  /** Create the key file (used by `earshot init`); refuses to overwrite one. */
  async create(): Promise<void> {
    try {
      await writeNewFile(this.file, serialise(newDoc(newKekId(), randomBytes(KEY_BYTES), new Date(this.clock.now()).toISOString())));
      await syncDir(path.dirname(this.file));
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
    await writeNewFile(this.nextFile, serialise(newDoc(id, key, new Date(this.clock.now()).toISOString())));
    await syncDir(path.dirname(this.file));
    return new AesKek(id, key);
  }

  /**
   * The staged key becomes current, carrying the anchor and erased list over; the old key file's content is
   * overwritten (replaceFile), so no copy of the old key survives in it. The pending file is then removed
   * (a copy of the *new* key, which stays in use).
   */
  commitNext(expectedId: string): Promise<void> {
    return this.serially(async () => {
      const next = await readKeyDoc(this.nextFile);
      if (!next || next.id !== expectedId) {
        throw new EarshotError('KEY_FILE_INVALID', `pending key file ${this.nextFile} is missing or is not key ${expectedId}`);
      }
      const current = await readKeyDoc(this.file);
      const merged: KeyFileDoc = { ...next };
      if (current?.auditAnchor) merged.auditAnchor = current.auditAnchor;
      if (current?.erased) merged.erased = current.erased;
      // rename() replaces the old key atomically (never a moment without a usable key file); the old file is wiped.
      this.cached = undefined;
      await replaceFile(this.file, serialise(merged));
      await unlinkIfExists(this.nextFile);
      await syncDir(path.dirname(this.file));
    });
  }

  async discardNext(): Promise<void> {
    try {
      await fs.unlink(this.nextFile);
      await syncDir(path.dirname(this.file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /**
   * The current key file's content. The audit anchor is read and written once per transaction, so the parsed
   * file is cached by its identity (inode, size, times): a file replaced by anyone is a new inode and is read
   * again; the checks on type, owner, links and mode run on every call.
   */
  private async requireDoc(): Promise<KeyFileDoc> {
    let st: Stats | undefined;
    try {
      st = await fs.lstat(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st && st.isFile() && this.cached && sameFile(this.cached.id, st)) {
      checkKeyFileStat(this.file, st);
      return this.cached.doc;
    }
    const read = await readKeyDocWithIdentity(this.file);
    if (!read) throw new EarshotError('KEY_FILE_MISSING', `no key file at ${this.file}`);
    this.cached = read;
    return read.doc;
  }

  /** Read-modify-replace the key file; `change` returning undefined means nothing to write. */
  private update(change: (doc: KeyFileDoc) => KeyFileDoc | undefined): Promise<void> {
    return this.serially(async () => {
      const next = change(await this.requireDoc());
      if (next === undefined) return;
      this.cached = undefined;
      const st = await replaceFile(this.file, serialise(next));
      this.cached = { doc: next, id: identityOf(st) };
    });
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn);
    this.writes = run.catch(() => undefined);
    return run;
  }
}

function newKekId(): string {
  return `kek-${randomBytes(8).toString('hex')}`;
}
