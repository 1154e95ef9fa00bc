/**
 * Where access-request bundles are built: `<dataDir>/export-staging/<pid>-<random>/`, mode 0700, readable by
 * the service user only — never in the export's target directory, where a half-written bundle of plaintext WAVs
 * could be left for anyone who can read it. Every start removes what processes that no longer run left there
 * (a SIGKILL mid-export), without touching a concurrent export of a live process.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EarshotError, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';

export const EXPORT_STAGING_DIR = 'export-staging';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ExportStaging {
  constructor(readonly root: string) {}

  static in(dataDir: string): ExportStaging {
    return new ExportStaging(path.join(dataDir, EXPORT_STAGING_DIR));
  }

  /** A fresh private directory for one export. */
  async create(): Promise<string> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fs.chmod(this.root, 0o700);
    const dir = path.join(this.root, `${process.pid}-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** Removes staging left by processes that are gone; returns how many were removed. */
  async removeStale(logger: Logger): Promise<number> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new EarshotError('STORE_IO', `cannot read ${this.root}: ${errorMessage(e)}`, { cause: e });
    }
    let removed = 0;
    for (const name of entries) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) continue;
      if (pid === process.pid) continue;
      await fs.rm(path.join(this.root, name), { recursive: true, force: true });
      removed++;
    }
    if (removed > 0) logger.info('removed the staging of interrupted exports', { removed });
    return removed;
  }
}
