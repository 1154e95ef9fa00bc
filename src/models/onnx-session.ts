/**
 * ONNX Runtime sessions, created only from bytes whose SHA-256 matched the manifest.
 * One intra-op and one inter-op thread: the device has other work, and at these model sizes threads cost
 * more in wake-ups than they save.
 */
import * as ort from 'onnxruntime-node';
import { EarshotError, errorMessage } from '../core/index.js';
import { readVerifiedModel, type ModelEntry, type ModelManifest, type VerifiedModel } from './model-manifest.js';

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
    throw new EarshotError('MODEL_LOAD_FAILED', `ONNX Runtime could not load ${model.path} (${model.entry.name}): ${errorMessage(e)}`, {
      cause: e,
      details: { file: model.path, model: model.entry.name },
    });
  }
}

/** Verify, then create. */
export async function openModel(manifest: ModelManifest, entry: ModelEntry): Promise<Session> {
  return createSession(await readVerifiedModel(manifest, entry));
}

