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
export { FileKeyStore, KEY_FILE_NAME, checkKeyFileMode, checkKeyFileStat } from './file-key-store.js';
export { MemoryKek, MemoryKeyStore } from './memory-key-store.js';
export type { AnchoredHead, DeviceStateSlot, KeyEncryptionKey, KeyStore, LoadedKeys } from './key-store.js';
