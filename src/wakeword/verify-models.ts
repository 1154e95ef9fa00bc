/**
 * `earshot models verify`: every pinned file's SHA-256, every derived model regenerated from its verified
 * source by the committed generator (which must give the pinned hash again), and the mel model read into its FFT
 * form (the detector refuses a mel model that is not the pipeline it computes; this says so before it starts).
 */
import { verifyAll, type ModelManifest, type VerifyResult } from '../models/index.js';
import { melParametersOf } from './fft-mel-spectrogram.js';

export function verifyModels(manifest: ModelManifest): Promise<VerifyResult[]> {
  return verifyAll(manifest, {
    // Loaded only here: the generator is not needed to run the detector.
    verifyDerived: async (m, entry) => (await import('./derived-model.js')).verifyRegenerated(m, entry),
    verifyContent: (v) => {
      if (v.entry.kind === 'mel') melParametersOf(v.bytes);
    },
  });
}
