/**
 * Public API of the pinned models: the manifest (every file pinned by SHA-256, derived models with their
 * provenance), verified reading, and ONNX Runtime sessions created only from verified bytes. Shared by the
 * wake-word pipeline and the VAD.
 */
export * from './model-manifest.js';
export { createSession, openModel, ort, SESSION_OPTIONS, type Session } from './onnx-session.js';
