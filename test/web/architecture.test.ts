/**
 * The page talks to Earshot through one port (owner-backend.ts) with one adapter (app-owner-backend.ts) onto
 * the application layer: every other file of src/web imports only src/core and src/web, so no route can reach
 * the application layer around the port, and nothing in src/web reaches the store at all.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const WEB = path.resolve(__dirname, '../../src/web');
const ADAPTER = 'app-owner-backend.ts';

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

  it('nothing in src/web imports the store; the adapter is the only file that knows the application layer', () => {
    const files = readdirSync(WEB).filter((f) => f.endsWith('.ts'));
    expect(files.filter((f) => relativeImports(path.join(WEB, f)).some((s) => /(^|\/)store(\/|$)/.test(s)))).toEqual([]);
    expect(files.filter((f) => relativeImports(path.join(WEB, f)).some((s) => /(^|\/)app(\/|$)/.test(s)))).toEqual([ADAPTER]);
  });
});
