/**
 * Regenerates a derived model from its pinned source (for `earshot models verify` and the generator script):
 * proves the committed derived file is exactly what the committed generator makes of the pinned source.
 */
import { createHash } from 'node:crypto';
import { EarshotError } from '../core/index.js';
import { findModel, readVerifiedModel, type ModelEntry, type ModelManifest } from '../models/index.js';
import { deriveStreamingEmbedding, STREAMING_GENERATOR, STREAMING_GENERATOR_VERSION } from './streaming-embedding-generator.js';

export interface Regenerated {
  bytes: Uint8Array;
  sha256: string;
}

/** Runs the entry's generator on its verified source model. */
export async function regenerate(manifest: ModelManifest, entry: ModelEntry): Promise<Regenerated> {
  const from = entry.derivedFrom;
  if (!from) throw new EarshotError('BAD_ARGUMENT', `model ${entry.name} is not a derived model`);
  if (from.generator !== STREAMING_GENERATOR) {
    throw new EarshotError('MODEL_MANIFEST_INVALID', `model ${entry.name}: unknown generator '${from.generator}' (this Earshot has ${STREAMING_GENERATOR})`, {
      details: { model: entry.name },
    });
  }
  if (from.generatorVersion !== STREAMING_GENERATOR_VERSION) {
    throw new EarshotError(
      'MODEL_MANIFEST_INVALID',
      `model ${entry.name} was pinned with generator version ${from.generatorVersion}, this Earshot has ${STREAMING_GENERATOR_VERSION}: regenerate it (node scripts/derive-streaming-embedding.mjs)`,
      { details: { model: entry.name } },
    );
  }
  const source = await readVerifiedModel(manifest, findModel(manifest, from.model));
  const { bytes } = deriveStreamingEmbedding(source.bytes, source.entry.sha256, from.phases !== undefined ? { phases: from.phases } : {});
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Throws MODEL_HASH_MISMATCH when regenerating does not give the pinned hash. */
export async function verifyRegenerated(manifest: ModelManifest, entry: ModelEntry): Promise<void> {
  const { sha256 } = await regenerate(manifest, entry);
  if (sha256 !== entry.sha256) {
    throw new EarshotError(
      'MODEL_HASH_MISMATCH',
      `model ${entry.name}: regenerating it from ${entry.derivedFrom!.model} gives sha256 ${sha256}, the manifest pins ${entry.sha256}`,
      { details: { model: entry.name, expected: entry.sha256, actual: sha256 } },
    );
  }
}
