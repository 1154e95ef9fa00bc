/**
 * Regenerates a derived model from its pinned source (for `earshot models verify` and the generator script):
 * proves the committed derived file is exactly what the committed generator makes of the pinned source.
 * Generators: the streaming embedding models (one phase, or P phases per step) and the batched classifiers.
 */
import { createHash } from 'node:crypto';
import { EarshotError } from '../core/index.js';
import { findModel, readVerifiedModel, type DerivedFrom, type ModelEntry, type ModelManifest } from '../models/index.js';
import { CLASSIFIER_GENERATOR, CLASSIFIER_GENERATOR_VERSION, deriveBatchedClassifier } from './batched-classifier-generator.js';
import { deriveStreamingEmbedding, STREAMING_GENERATOR, STREAMING_GENERATOR_VERSION } from './streaming-embedding-generator.js';

export interface Regenerated {
  bytes: Uint8Array;
  sha256: string;
}

interface Generator {
  version: string;
  derive(source: Uint8Array, sourceSha256: string, from: DerivedFrom): Uint8Array;
}

const GENERATORS: Record<string, Generator> = {
  [STREAMING_GENERATOR]: {
    version: STREAMING_GENERATOR_VERSION,
    derive: (source, sha, from) => deriveStreamingEmbedding(source, sha, from.phases !== undefined ? { phases: from.phases } : {}).bytes,
  },
  [CLASSIFIER_GENERATOR]: { version: CLASSIFIER_GENERATOR_VERSION, derive: (source, sha) => deriveBatchedClassifier(source, sha).bytes },
};

/** Runs the entry's generator on its verified source model. */
export async function regenerate(manifest: ModelManifest, entry: ModelEntry): Promise<Regenerated> {
  const from = entry.derivedFrom;
  if (!from) throw new EarshotError('BAD_ARGUMENT', `model ${entry.name} is not a derived model`);
  const generator = GENERATORS[from.generator];
  if (!generator) {
    throw new EarshotError('MODEL_MANIFEST_INVALID', `model ${entry.name}: unknown generator '${from.generator}' (this Earshot has ${Object.keys(GENERATORS).join(', ')})`, {
      details: { model: entry.name },
    });
  }
  if (from.generatorVersion !== generator.version) {
    throw new EarshotError(
      'MODEL_MANIFEST_INVALID',
      `model ${entry.name} was pinned with generator version ${from.generatorVersion}, this Earshot has ${generator.version}: regenerate it (node scripts/derive-models.mjs)`,
      { details: { model: entry.name } },
    );
  }
  const source = await readVerifiedModel(manifest, findModel(manifest, from.model));
  const bytes = generator.derive(source.bytes, source.entry.sha256, from);
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
