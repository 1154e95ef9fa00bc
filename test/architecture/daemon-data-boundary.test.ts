/**
 * The daemon touches personal data through one interface, DaemonData, implemented in one file
 * (src/daemon/store-daemon-data.ts): no other daemon module may import the store or the privacy code, so the
 * application layer can replace that one file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DAEMON = resolve(__dirname, '../../src/daemon');
const DATA_HALF = /from\s+['"]\.\.\/(store|privacy|crypto|audit)\//;

describe('the daemon and personal data', () => {
  it('only store-daemon-data.ts imports the store, privacy, crypto or audit code', () => {
    const offenders = readdirSync(DAEMON)
      .filter((f) => f.endsWith('.ts') && f !== 'store-daemon-data.ts')
      .filter((f) => DATA_HALF.test(readFileSync(join(DAEMON, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the rule sees such an import', () => {
    expect(DATA_HALF.test("import { RecordingStore } from '../store/index.js';")).toBe(true);
    expect(DATA_HALF.test("import type { Capture } from '../core/recording.js';")).toBe(false);
  });
});
