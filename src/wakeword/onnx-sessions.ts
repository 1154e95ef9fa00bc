/**
 * ONNX Runtime sessions, created only from bytes whose SHA-256 matched the manifest.
 * One intra-op and one inter-op thread: the device has other work, and at these model sizes threads cost
 * more in wake-ups than they save.
 */
import * as ort from 'onnxruntime-node';
import { EarshotError } from '../core/errors.js';
import { DEFAULT_CLASSIFIER_WINDOW, EMBEDDING_DIM } from './constants.js';
import { findModel, readVerifiedModel, type ModelEntry, type ModelManifest, type VerifiedModel } from './model-manifest.js';

export { ort };
export type Session = ort.InferenceSession;

export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

/**
 * ONNX Runtime's Linux build embeds Microsoft's 1DS telemetry SDK, which on the first session creates an empty,
 * world-readable /tmp/mat-debug-<pid>.log. The runtime reads ORT_DISABLE_TELEMETRY when its environment is
 * created (the first session), so it is set here, before any session; a privacy-first device sends none.
 */
function disableOrtTelemetry(): void {
  process.env['ORT_DISABLE_TELEMETRY'] = '1';
}

export async function createSession(model: VerifiedModel): Promise<Session> {
  disableOrtTelemetry();
  try {
    return await ort.InferenceSession.create(model.bytes, SESSION_OPTIONS);
  } catch (e) {
    throw new EarshotError('MODEL_LOAD_FAILED', `ONNX Runtime could not load ${model.path} (${model.entry.name}): ${(e as Error).message}`, {
      cause: e,
      details: { file: model.path, model: model.entry.name },
    });
  }
}

/** Verify, then create. */
export async function openModel(manifest: ModelManifest, entry: ModelEntry): Promise<Session> {
  return createSession(await readVerifiedModel(manifest, entry));
}

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
}

function dim(shape: readonly unknown[] | undefined, i: number): number | undefined {
  const v = shape?.[i];
  return typeof v === 'number' && v > 0 ? v : undefined;
}

export async function openClassifier(manifest: ModelManifest, name: string): Promise<Classifier> {
  const entry = findModel(manifest, name, 'wakeword');
  const session = await openModel(manifest, entry);
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
  };
}
