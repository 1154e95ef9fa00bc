/**
 * The wake-word classifiers' sessions; the generic ONNX Runtime session helpers live in src/models, shared with
 * the VAD, and are re-exported here for the wake-word pipeline's own files.
 */
import { EarshotError } from '../core/index.js';
import { findModel, openModel, type ModelManifest, type Session } from '../models/index.js';
import { DEFAULT_CLASSIFIER_WINDOW, EMBEDDING_DIM } from './constants.js';

export { createSession, openModel, ort, SESSION_OPTIONS, type Session } from '../models/index.js';

/** A wake-word classifier: input [1, window, 96] → output [1, classes]. */
export interface Classifier {
  name: string;
  session: Session;
  inputName: string;
  outputName: string;
  /** Number of embeddings the model looks at (16 for most openWakeWord models; read from the model). */
  window: number;
  /** Output classes; with more than one, class 0 is "none" and the score is the best other class. */
  classes: number;
  /**
   * The same classifier with a dynamic batch (kind wakeword-batched, derived from it and pinned), when the
   * manifest has one: every phase's window scored in one call, each row as `session` scores it.
   */
  batched?: Session;
}

function dim(shape: readonly unknown[] | undefined, i: number): number | undefined {
  const v = shape?.[i];
  return typeof v === 'number' && v > 0 ? v : undefined;
}

export async function openClassifier(manifest: ModelManifest, name: string): Promise<Classifier> {
  const entry = findModel(manifest, name, 'wakeword');
  const batchedEntry = manifest.models.find((m) => m.kind === 'wakeword-batched' && m.derivedFrom?.model === name);
  const [session, batched] = await Promise.all([openModel(manifest, entry), batchedEntry ? openModel(manifest, batchedEntry) : undefined]);
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (inputName === undefined || outputName === undefined) {
    throw new EarshotError('MODEL_LOAD_FAILED', `wake-word model ${entry.file} has no input or output`);
  }
  // Names and shapes come from the session itself (they differ per model); the manifest copy is documentation.
  const inMeta = session.inputMetadata.find((m) => m.name === inputName);
  const outMeta = session.outputMetadata.find((m) => m.name === outputName);
  const inShape = inMeta && 'shape' in inMeta ? inMeta.shape : undefined;
  const outShape = outMeta && 'shape' in outMeta ? outMeta.shape : undefined;
  if (dim(inShape, 2) !== undefined && dim(inShape, 2) !== EMBEDDING_DIM) {
    throw new EarshotError('MODEL_LOAD_FAILED', `wake-word model ${entry.file} does not take ${EMBEDDING_DIM}-dim openWakeWord embeddings`);
  }
  return {
    name,
    session,
    inputName,
    outputName,
    window: dim(inShape, 1) ?? DEFAULT_CLASSIFIER_WINDOW,
    classes: dim(outShape, 1) ?? 1,
    ...(batched && batched.inputNames[0] === inputName && batched.outputNames[0] === outputName ? { batched } : {}),
  };
}
