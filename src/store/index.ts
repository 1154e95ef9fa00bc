/**
 * Public API of the encrypted store (persistence only; every operation on personal data is src/app's).
 *
 *   await initDataDir(dataDir, { deviceId })                    // `earshot init`: key file (0600) + database
 *   const store = await RecordingStore.open({ dataDir, deviceId })
 *   store.uow          // UnitOfWork (src/core/ports.ts): repositories + audit log in one transaction
 *   store.outbox / store.settings / store.audit               // single statements (uplink, fleet, status)
 *   await store.close()
 */
export { RecordingStore, initDataDir, DB_FILE_NAME, type StoreOptions } from './recording-store.js';
export { SCHEMA_VERSION, MIGRATIONS } from './schema.js';
export { AudioVault, AUDIO_DIR_NAME } from './audio-vault.js';
export { ExportStaging, EXPORT_STAGING_DIR } from './export-staging.js';
/** Raw connections for whole-file work on copies (src/backup: snapshots and re-wrapping), never on live data. */
export { SqliteDb } from './sqlite.js';
export { FileKeyStore, KEY_FILE_NAME, checkKeyFileMode, type KeyStore, type KeyEncryptionKey } from '../crypto/index.js';
