/**
 * The page talks to Earshot through one port (owner-backend.ts) with one adapter (store-owner-backend.ts):
 * every other file of src/web imports only src/core and src/web, so the adapter can be swapped for the
 * application layer without touching the routes, and no route can reach the store around the port.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const WEB = path.resolve(__dirname, '../../src/web');
const ADAPTER = 'store-owner-backend.ts';

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

describe('src/web dependency direction', () => {
  it('only the adapter imports anything outside src/core and src/web', () => {
    const offenders: string[] = [];
    const files = readdirSync(WEB).filter((f) => f.endsWith('.ts') && f !== ADAPTER);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      for (const spec of relativeImports(path.join(WEB, f))) {
        const target = path.relative(path.resolve(WEB, '..'), path.resolve(WEB, spec));
        if (!target.startsWith(`web${path.sep}`) && !target.startsWith(`core${path.sep}`)) offenders.push(`${f} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the adapter is the only file that knows the store', () => {
    const users = readdirSync(WEB)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => relativeImports(path.join(WEB, f)).some((s) => s.includes('/store/')));
    expect(users).toEqual([ADAPTER]);
  });
});
