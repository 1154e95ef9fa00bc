/**
 * The daemon touches personal data through one interface, DaemonData, implemented in one file
 * (src/daemon/app-daemon-data.ts, on the application layer): no other daemon module may import the app, the store,
 * the privacy code or open-app.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DAEMON = resolve(__dirname, '../../src/daemon');
/** A value import (type-only imports carry no behaviour) from the data half of the tree. */
const DATA_HALF = /^import\s+(?!type\b)[^;]*?from\s+['"]\.\.\/(?:(?:store|privacy|crypto|audit|app)\/|open-app\.js['"])/m;

describe('the daemon and personal data', () => {
  it('only app-daemon-data.ts imports the application layer, the store, privacy, crypto or audit code', () => {
    const offenders = readdirSync(DAEMON)
      .filter((f) => f.endsWith('.ts') && f !== 'app-daemon-data.ts')
      .filter((f) => DATA_HALF.test(readFileSync(join(DAEMON, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the rule sees such an import', () => {
    expect(DATA_HALF.test("import { RecordingStore } from '../store/index.js';")).toBe(true);
    expect(DATA_HALF.test("import { openApp } from '../open-app.js';")).toBe(true);
    expect(DATA_HALF.test("import type { Capture } from '../core/recording.js';")).toBe(false);
    expect(DATA_HALF.test("import type { EffectivePrivacy } from '../privacy/index.js';")).toBe(false);
  });
});
