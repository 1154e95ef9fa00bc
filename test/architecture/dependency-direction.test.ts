/**
 * The data flow is the architecture: the audio side (audio → wake word → VAD → capture) must not be able
 * to reach storage, the uplink or fleet code, so no change to it can make audio leave the device.
 */
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, SRC, tsFiles } from './source-tree.js';

/** The verifier is on the audio side: the detector runs it, so it must not reach storage either (its sealing is the store's job). */
const AUDIO_SIDE = ['audio', 'models', 'wakeword', 'verifier', 'vad', 'capture'];
const FORBIDDEN = ['store', 'uplink', 'fleet', 'privacy', 'crypto', 'audit', 'daemon', 'cli', 'app', 'web', 'backup'];

describe('dependency direction', () => {
  it('the audio side never imports storage, uplink, fleet or privacy code', () => {
    const offenders: string[] = [];
    for (const area of AUDIO_SIDE) {
      let files: string[] = [];
      try {
        files = tsFiles(join(SRC, area));
      } catch {
        continue; // area not present
      }
      for (const f of files) {
        for (const target of importsOf(f)) {
          const top = target.split(/[\\/]/)[0]!.replace(/\.js$/, '');
          if (FORBIDDEN.includes(top)) offenders.push(`${relative(SRC, f)} → ${target}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('core depends on nothing else in the tree', () => {
    const offenders = tsFiles(join(SRC, 'core')).flatMap((f) =>
      importsOf(f)
        .filter((t) => !t.startsWith('core'))
        .map((t) => `${relative(SRC, f)} → ${t}`),
    );
    expect(offenders).toEqual([]);
  });
});
