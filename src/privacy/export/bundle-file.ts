/**
 * An access-request bundle being written: a directory, a `.tar`, or an encrypted `.tar` (scrypt + AES-256-GCM).
 * Built in a private staging directory (never in the target directory) and moved into place only when complete,
 * so a bundle that exists was always finished; `abort()` removes whatever was written, and says when it could not.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EarshotError } from '../../core/index.js';
import { EncryptingSink } from './bundle-cipher.js';
import { TarWriter, type ByteSink } from './tar-writer.js';

export type ExportFormat = 'directory' | 'tar' | 'encrypted-tar';

export function exportFormatFor(out: string, passphrase: string | undefined): ExportFormat {
  if (passphrase !== undefined) return 'encrypted-tar';
  return out.endsWith('.tar') ? 'tar' : 'directory';
}

class FileSink implements ByteSink {
  bytes = 0;
  private readonly hash = createHash('sha256');
  constructor(private readonly fh: fs.FileHandle) {}
  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    await this.fh.write(chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export class BundleFile {
  private fileBytes = 0;
  private manifestSha: string | undefined;

  private constructor(
    readonly out: string,
    readonly format: ExportFormat,
    private readonly tmp: string,
    private readonly tar: { writer: TarWriter; sink: FileSink; enc: EncryptingSink | undefined; fh: fs.FileHandle } | undefined,
    private readonly root: string,
  ) {}

  /** An export never overwrites anything: BAD_ARGUMENT when `out` exists. */
  static async assertFree(out: string): Promise<void> {
    if (await fs.stat(out).then(() => true, () => false)) {
      throw new EarshotError('BAD_ARGUMENT', `${out} already exists; an export never overwrites anything`);
    }
  }

  /** `stagingDir`: a private (0700) directory of this export's own, removed by the caller. */
  static async create(out: string, opts: { passphrase?: string; root: string; generatedAt: number; stagingDir: string }): Promise<BundleFile> {
    const format = exportFormatFor(out, opts.passphrase);
    await BundleFile.assertFree(out);
    const tmp = path.join(opts.stagingDir, 'bundle');
    if (format === 'directory') {
      await fs.mkdir(path.join(tmp, 'recordings'), { recursive: true, mode: 0o700 });
      return new BundleFile(out, format, tmp, undefined, opts.root);
    }
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      const sink = new FileSink(fh);
      const enc = format === 'encrypted-tar' ? await EncryptingSink.start(sink, opts.passphrase!) : undefined;
      const writer = new TarWriter(enc ?? sink, opts.generatedAt);
      await writer.addDirectory(opts.root);
      await writer.addDirectory(`${opts.root}/recordings`);
      return new BundleFile(out, format, tmp, { writer, sink, enc, fh }, opts.root);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  async add(rel: string, data: Buffer): Promise<void> {
    this.fileBytes += data.length;
    if (rel === 'manifest.json') this.manifestSha = createHash('sha256').update(data).digest('hex');
    if (this.tar) await this.tar.writer.addFile(`${this.root}/${rel}`, data);
    else await fs.writeFile(path.join(this.tmp, rel), data, { mode: 0o600, flag: 'wx' });
  }

  /**
   * Completes the temporary bundle: SHA-256 of the bundle file (tar / encrypted), for a directory of its
   * manifest.json (which hashes every file). The bundle is not in place until `commit()`.
   */
  async finish(): Promise<{ sha256: string; bytes: number }> {
    if (!this.tar) return { sha256: this.manifestSha ?? '', bytes: this.fileBytes };
    await this.tar.writer.finish();
    if (this.tar.enc) await this.tar.enc.finish();
    await this.tar.fh.sync();
    await this.tar.fh.close();
    return { sha256: this.tar.sink.digest(), bytes: this.tar.sink.bytes };
  }

  /**
   * Moves the finished bundle to `out`. Across file systems it is copied into a hidden, owner-only name beside
   * `out` first and renamed from there, so `out` itself never holds a partial bundle; `out` must still not exist
   * (never overwritten).
   */
  async commit(): Promise<void> {
    await BundleFile.assertFree(this.out);
    try {
      // A file is linked (fails if `out` appeared meanwhile: never overwritten), a directory renamed.
      if (this.tar) {
        await fs.link(this.tmp, this.out);
        await fs.rm(this.tmp);
      } else {
        await fs.rename(this.tmp, this.out);
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    }
    const near = path.join(path.dirname(path.resolve(this.out)), `.${path.basename(this.out)}.partial-${randomBytes(6).toString('hex')}`);
    try {
      await fs.cp(this.tmp, near, { recursive: true, errorOnExist: true, force: false });
      await fs.rename(near, this.out);
    } catch (e) {
      await fs.rm(near, { recursive: true, force: true });
      throw e;
    }
  }

  /** Removes the bundle from wherever it got (staging, or `out` after a commit); throws when it cannot. */
  async abort(opts: { committed?: boolean } = {}): Promise<void> {
    if (this.tar) await this.tar.fh.close().catch(() => undefined);
    await fs.rm(this.tmp, { recursive: true, force: true });
    if (opts.committed) await fs.rm(this.out, { recursive: true, force: true });
  }
}
