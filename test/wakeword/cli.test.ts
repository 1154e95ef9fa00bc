import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers.js';
import { runEarshot } from '../helpers/cli.js';

function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runEarshot(argv);
}

describe('earshot detect / models', () => {
  it('detect --json prints one exact JSON line per detection', async () => {
    const r = await cli('detect', path.join(FIXTURES, 'scenario.wav'), '--wakeword', 'hey_jarvis', '--wakeword', 'alexa', '--json');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.length).toBe(2);
    for (const line of lines) {
      expect(line).toMatch(/^\{"wakeword":"hey_jarvis","score":(0\.\d{1,2}|1),"atMs":\d+\}$/);
    }
  });

  it('detect uses the config wake words by default and prints plain text without --json', async () => {
    const r = await cli('detect', path.join(FIXTURES, 'wake', 'hey_jarvis__en-us-m7.wav'), '--phases', '1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+\.\d\d s {2}hey_jarvis {2}score 0\.\d\d\n$/);
  });

  it('detect refuses a bad file or bad options with a non-zero exit and a clear message', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'earshot-detect-'));
    const junk = path.join(dir, 'junk.wav');
    writeFileSync(junk, 'this is not a wav file at all');
    const bad = await cli('detect', junk, '--json');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('junk.wav');
    const missing = await cli('detect', path.join(dir, 'nope.wav'));
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('nope.wav');
    const thr = await cli('detect', path.join(FIXTURES, 'scenario.wav'), '--threshold', '2');
    expect(thr.code).toBe(2);
    expect(thr.err).toContain('--threshold');
  });

  it('models list --json and models verify', async () => {
    const list = await cli('models', 'list', '--json');
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.out) as { name: string; licence: string }[];
    expect(rows.find((m) => m.name === 'hey_jarvis')!.licence).toBe('CC-BY-NC-SA-4.0');
    const ok = await cli('models', 'verify', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).ok).toBe(true);
    const derived = (JSON.parse(ok.out).models as { name: string; regenerated?: boolean }[]).find((m) => m.name === 'embedding_streaming');
    expect(derived?.regenerated).toBe(true);
    const text = await cli('models', 'verify');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^ok {4}embedding_streaming \(.*embedding_streaming\.onnx, regenerated from its source: same hash\)$/m);
  });

  it('models verify exits non-zero when a model does not match', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'earshot-verify-'));
    writeFileSync(path.join(dir, 'fake.onnx'), 'not really a model');
    const manifest = path.join(dir, 'manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        manifestVersion: 1,
        models: [{ name: 'fake', kind: 'wakeword', source: { type: 'local', path: 'fake.onnx' }, sha256: '0'.repeat(64), licence: 'none', inputs: [{ name: 'x', shape: [1, 16, 96] }], outputs: [{ name: 'y', shape: [1, 1] }] }],
      }),
    );
    const r = await cli('models', 'verify', '--manifest', manifest);
    expect(r.code).toBe(1);
    expect(r.out).toContain('MODEL_HASH_MISMATCH');
    expect(r.out).toContain('0'.repeat(64));
  });
});
