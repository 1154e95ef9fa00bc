/**
 * A minimal POSIX ustar writer: regular files and directories, names split into prefix/name, sizes up to
 * 8 GiB. Enough for export bundles, which `tar -xf` on any system opens. Written here because it is
 * 60 lines and the bundle must be streamed through our own hashing/encryption sinks.
 */
import { EarshotError } from '../../core/index.js';

export interface ByteSink {
  write(chunk: Buffer): Promise<void>;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL.
  const s = value.toString(8);
  if (s.length > width - 1) throw new EarshotError('INTERNAL', `tar field overflow (${value})`);
  return s.padStart(width - 1, '0') + '\0';
}

function splitName(full: string): { prefix: string; name: string } {
  if (Buffer.byteLength(full) <= 100) return { prefix: '', name: full };
  const cut = full.lastIndexOf('/', 155);
  const prefix = cut > 0 ? full.slice(0, cut) : '';
  const name = cut > 0 ? full.slice(cut + 1) : full;
  if (Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100 || name === '') {
    throw new EarshotError('INTERNAL', `path too long for a ustar archive: ${full}`);
  }
  return { prefix, name };
}

export function tarHeader(path: string, size: number, mtimeMs: number, type: 'file' | 'dir'): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const { prefix, name } = splitName(path);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(type === 'dir' ? 0o755 : 0o600, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(type === 'dir' ? 0 : size, 12), 124, 12, 'ascii');
  h.write(octal(Math.floor(mtimeMs / 1000), 12), 136, 12, 'ascii');
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write(type === 'dir' ? '5' : '0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('earshot', 265, 32, 'ascii');
  h.write('earshot', 297, 32, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

export class TarWriter {
  constructor(
    private readonly sink: ByteSink,
    private readonly mtimeMs: number,
  ) {}

  async addDirectory(path: string): Promise<void> {
    await this.sink.write(tarHeader(path.endsWith('/') ? path : `${path}/`, 0, this.mtimeMs, 'dir'));
  }

  async addFile(path: string, data: Buffer): Promise<void> {
    await this.sink.write(tarHeader(path, data.length, this.mtimeMs, 'file'));
    await this.sink.write(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) await this.sink.write(Buffer.alloc(pad, 0));
  }

  /** Two zero blocks end the archive. */
  async finish(): Promise<void> {
    await this.sink.write(Buffer.alloc(BLOCK * 2, 0));
  }
}
