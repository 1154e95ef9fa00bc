/** Public API of backups: passphrase-encrypted snapshots without the device key, and restores that re-apply erasures. */
export { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, createBackup, restoreBackup, type BackupManifest, type BackupResult, type RestoreResult } from './backup.js';
