/**
 * Bundles a TypeScript entry point into one ESM file that plain `node` can run as a child process (for the
 * SIGKILL test). Uses rolldown (vite's bundler, installed with vitest). Packages from node_modules stay
 * external; the output directory gets a node_modules symlink so they resolve.
 */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export async function bundleForNode(entry: string): Promise<{ file: string; dir: string }> {
  const { build } = await import('rolldown');
  const dir = mkdtempSync(join(tmpdir(), 'earshot-child-'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const file = join(dir, 'child.mjs');
  await build({
    input: entry,
    platform: 'node',
    external: (id: string) => !id.startsWith('.') && !isAbsolute(id) && !id.startsWith('\0'),
    output: { file, format: 'esm' },
    logLevel: 'silent',
  });
  return { file, dir };
}

export const REPO_ROOT = REPO;
