/**
 * Reads the ustar archives this project writes (privacy/export TarWriter): regular files and directories,
 * prefix + name, no extensions. Anything else is refused rather than guessed at.
 */
import { EarshotError } from '../core/index.js';

const BLOCK = 512;

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

export interface TarEntry {
  path: string;
  data: Buffer;
}

export function readTar(buf: Buffer, what: string): TarEntry[] {
  const out: TarEntry[] = [];
  let pos = 0;
  while (pos + BLOCK <= buf.length) {
    const h = buf.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) return out;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (parseInt(field(h, 148, 8).trim(), 8) !== sum || field(h, 257, 6) !== 'ustar') {
      throw new EarshotError('INTEGRITY', `${what}: not a valid archive (header at byte ${pos})`);
    }
    const type = field(h, 156, 1);
    const name = field(h, 0, 100);
    const prefix = field(h, 345, 155);
    const full = prefix ? `${prefix}/${name}` : name;
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    pos += BLOCK;
    if (type === '5') continue;
    if (type !== '0' && type !== '') throw new EarshotError('INTEGRITY', `${what}: unsupported entry type in ${full}`);
    if (!Number.isSafeInteger(size) || pos + size > buf.length) throw new EarshotError('INTEGRITY', `${what}: truncated entry ${full}`);
    out.push({ path: full, data: buf.subarray(pos, pos + size) });
    pos += Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new EarshotError('INTEGRITY', `${what}: the archive has no end marker (truncated)`);
}
