/**
 * Quarantine: audio that does not match the metadata is moved aside, still sealed, instead of being deleted on a
 * hunch (a row re-pointed to another owner, two owners' files swapped, a file of an owner whose erasure the log
 * does not show). `earshot repair` lists what is here and restores or discards it; `earshot status` counts it.
 *
 * `<dataDir>/quarantine/<id>.sealed` holds one sealed blob; `<id>.db` a whole owner file; `<id>.json` says what
 * and why (opaque ids only).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EarshotError, errorMessage } from '../core/index.js';
import type { QuarantinedItem } from '../core/index.js';

export const QUARANTINE_DIR = 'quarantine';


const ID = /^q-[0-9]+-[0-9a-f]{8}$/;

export class Quarantine {
  constructor(readonly dir: string) {}

  static in(dataDir: string): Quarantine {
    return new Quarantine(path.join(dataDir, QUARANTINE_DIR));
  }

  private async prepare(at: number): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    return `q-${at}-${randomBytes(4).toString('hex')}`;
  }

  async addBlob(item: { ownerId: string; recordingId: string; sealed: Buffer; reason: string; at: number }): Promise<QuarantinedItem> {
    const id = await this.prepare(item.at);
    await fs.writeFile(path.join(this.dir, `${id}.sealed`), item.sealed, { mode: 0o600, flag: 'wx' });
    return this.describe({ id, kind: 'blob', foundInOwnerFile: item.ownerId, recordingId: item.recordingId, reason: item.reason, at: item.at });
  }

  /** `move(dest)` moves the whole file to the quarantine path it is given. */
  async addOwnerFile(item: { ownerId: string; reason: string; at: number }, move: (dest: string) => Promise<void>): Promise<QuarantinedItem> {
    const id = await this.prepare(item.at);
    await move(path.join(this.dir, `${id}.db`));
    return this.describe({ id, kind: 'owner-file', foundInOwnerFile: item.ownerId, recordingId: null, reason: item.reason, at: item.at });
  }

  private async describe(q: QuarantinedItem): Promise<QuarantinedItem> {
    await fs.writeFile(path.join(this.dir, `${q.id}.json`), JSON.stringify(q) + '\n', { mode: 0o600, flag: 'wx' });
    return q;
  }

  async list(): Promise<QuarantinedItem[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new EarshotError('STORE_IO', `cannot read ${this.dir}: ${errorMessage(e)}`, { cause: e });
    }
    const out: QuarantinedItem[] = [];
    for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
      out.push(JSON.parse(await fs.readFile(path.join(this.dir, n), 'utf8')) as QuarantinedItem);
    }
    return out;
  }

  async get(id: string): Promise<QuarantinedItem> {
    if (!ID.test(id)) throw new EarshotError('BAD_ARGUMENT', `not a quarantine id: ${JSON.stringify(id.slice(0, 40))} (earshot repair lists them)`);
    const item = (await this.list()).find((q) => q.id === id);
    if (!item) throw new EarshotError('BAD_ARGUMENT', `nothing in quarantine with id ${id} (earshot repair lists them)`);
    return item;
  }

  blobPath(id: string): string {
    return path.join(this.dir, `${id}.sealed`);
  }

  filePath(id: string): string {
    return path.join(this.dir, `${id}.db`);
  }

  /** Removes an item for good. */
  async remove(id: string): Promise<void> {
    for (const f of [`${id}.sealed`, `${id}.db`, `${id}.db-wal`, `${id}.json`]) await fs.rm(path.join(this.dir, f), { force: true });
  }
}
