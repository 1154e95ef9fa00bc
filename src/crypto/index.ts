/** Public API of the crypto primitives: AES-256-GCM sealing with associated data, the device key store. */
export { KEY_BYTES, newKey, open, seal } from './aead.js';
export {
  auditAnchorAad,
  auditPersonalAad,
  dataKeyWrapAad,
  deviceKeyWrapAad,
  encodeAad,
  ownerProfileAad,
  recordingAad,
  type RecordingBinding,
} from './aad.js';
export { FileKeyStore, KEY_FILE_NAME, checkKeyFileMode } from './file-key-store.js';
export type { KeyEncryptionKey, KeyStore, LoadedKeys } from './key-store.js';
