/**
 * Each folder of src/ is a module whose index.ts is its public API: an import from another folder goes through
 * that index, never into its files, and no two folders import each other (directly or round a longer cycle).
 * The composition roots (src/*.ts at the top: daemon, open-app, wake-health) and the entry points (cli, demo,
 * bench) import across the tree, but also only through indexes.
 */
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, SRC, tsFiles } from './source-tree.js';

/** The folder (module) a path under src/ belongs to; top-level files are their own roots. */
function moduleOf(rel: string): string {
  const parts = rel.split(sep);
  return parts.length === 1 ? `(root)/${parts[0]}` : parts[0]!;
}

const files = tsFiles(SRC).map((f) => ({ file: relative(SRC, f), imports: importsOf(f) }));

describe('module boundaries', () => {
  it('an import from another folder goes through its index.ts', () => {
    const offenders: string[] = [];
    for (const { file, imports } of files) {
      const from = moduleOf(file);
      for (const target of imports) {
        const to = moduleOf(target);
        if (to === from || to.startsWith('(root)/')) continue;
        if (target !== join(to, 'index')) offenders.push(`${file} → ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no import cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const { file, imports } of files) {
      const from = moduleOf(file);
      if (from.startsWith('(root)/')) continue;
      for (const target of imports) {
        const to = moduleOf(target);
        if (to !== from && !to.startsWith('(root)/')) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
      }
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      for (const next of edges.get(node) ?? []) {
        if (next === path[0]) cycles.push([...path, next].join(' → '));
        else if (!path.includes(next) && next > path[0]!) visit(next, [...path, next]);
      }
    };
    for (const start of edges.keys()) visit(start, [start]);
    expect(cycles).toEqual([]);
  });

  it('the rules see a violation (the test itself can fail)', () => {
    expect(moduleOf(join('store', 'sqlite'))).toBe('store');
    expect(moduleOf('daemon')).toBe('(root)/daemon');
  });
});
