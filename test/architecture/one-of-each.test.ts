/**
 * One of each (issue 8 §3): the backoff and the MQTT topic format live in core/ and nowhere else, so a
 * reconnect, a publish retry and an audio restart cannot drift apart, nor the uplink and the fleet tools
 * disagree on where a config document travels; the uplink has one clock and uses mqtt.js' public API.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, tsFiles } from './source-tree.js';

const sources = tsFiles(SRC).map((f) => ({ file: relative(SRC, f), text: readFileSync(f, 'utf8') }));

describe('one of each', () => {
  it('one backoff implementation (core/backoff.ts)', () => {
    const defs = sources.filter((s) => /function\s+backoffDelayMs\b|interface\s+BackoffPolicy\b/.test(s.text)).map((s) => s.file);
    expect(defs).toEqual(['core/backoff.ts']);
  });

  it('one clock: the uplink reads time only from its injected Clock (no Date.now() beside it)', () => {
    const offenders = sources.filter((s) => s.file.startsWith('uplink/') && !s.file.startsWith('uplink/testing/') && /Date\.now\(\)/.test(s.text)).map((s) => s.file);
    expect(offenders).toEqual([]);
  });

  it("the MQTT connection uses mqtt.js' public API only (no private `_` fields)", () => {
    const conn = sources.find((s) => s.file === 'uplink/mqtt-connection.ts')!;
    expect(conn.text.match(/\??\._[A-Za-z]\w*/g) ?? []).toEqual([]);
  });

  it('one topic module (core/topics.ts): no other file spells the topic root or the fleet-wide group', () => {
    const spelled = sources.filter((s) => s.file !== 'core/topics.ts' && /['"`]earshot\/v1|FLEET_WIDE_GROUP\s*=/.test(s.text)).map((s) => s.file);
    expect(spelled).toEqual([]);
  });
});
