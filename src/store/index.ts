/**
 * Public API of the encrypted store.
 *
 *   await initDataDir(dataDir, { deviceId })                    // `earshot init`: key file (0600) + database
 *   const store = await RecordingStore.open({ dataDir, deviceId, defaults: config.privacy })
 *   const ownerId = await store.owners.activeOwnerId()          // at wake time
 *   await store.saveCapture(ownerId, capture, { enqueue: true }) // sealed under that owner's key
 *   store.consent / store.outbox / store.settings / store.owners / store.recordings / store.audit
 *     implement ConsentLedgerRepo / OutboxRepo / SettingsRepo / OwnerPrivacyRepo / RecordingReader / AuditSink
 *   await store.close()
 */
export { RecordingStore, initDataDir, DB_FILE_NAME, type StoreOptions, type EraseResult } from './recording-store.js';
export type { OwnerInfo } from './owner-repo.js';
export type { RecordingSummary } from './recording-repo.js';
export { SCHEMA_VERSION, MIGRATIONS } from './schema.js';
export { AudioVault, AUDIO_DIR_NAME } from './audio-vault.js';
export { FileKeyStore, KEY_FILE_NAME, checkKeyFileMode } from '../crypto/file-key-store.js';
export type { KeyStore, KeyEncryptionKey } from '../crypto/key-store.js';
