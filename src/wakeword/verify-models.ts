/**
 * `earshot models verify`: every pinned file's SHA-256, and every derived model regenerated from its verified
 * source by the committed generator, which must give the pinned hash again.
 */
import { verifyAll, type ModelManifest, type VerifyResult } from '../models/index.js';

export function verifyModels(manifest: ModelManifest): Promise<VerifyResult[]> {
  return verifyAll(manifest, {
    // Loaded only here: the generator (and its protobuf library) is not needed to run the detector.
    verifyDerived: async (m, entry) => (await import('./derived-model.js')).verifyRegenerated(m, entry),
  });
}
