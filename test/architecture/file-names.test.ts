/**
 * One file-naming convention for the whole tree: kebab-case (the Node/TypeScript norm), so a module's name
 * is found the same way everywhere and case-insensitive file systems cannot confuse two of them.
 */
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tsFiles } from './source-tree.js';

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*\.ts$/;

describe('file names', () => {
  it('every TypeScript file in src/ and test/ is kebab-case', () => {
    const offenders = ['src', 'test']
      .flatMap((d) => tsFiles(join(ROOT, d)))
      .filter((f) => !KEBAB.test(f.split('/').pop()!))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  it('the rule itself rejects camel and pascal case', () => {
    expect(KEBAB.test('wake-loop.ts')).toBe(true);
    expect(KEBAB.test('microphone.arecord.test.ts')).toBe(true);
    expect(KEBAB.test('WakeLoop.ts')).toBe(false);
    expect(KEBAB.test('scoreClip.ts')).toBe(false);
  });
});
