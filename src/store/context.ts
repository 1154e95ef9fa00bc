/** What the store's repositories share: the connection, keys, audit log, clock and device identity. */
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { AudioVault } from './audio-vault.js';
import type { OwnerKeys } from './owner-keys.js';
import type { SqliteDb } from './sqlite.js';

export interface StoreContext {
  db: SqliteDb;
  /** Each owner's sealed audio, one file per owner. */
  vault: AudioVault;
  keys: OwnerKeys;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  deviceId: string;
  defaults: { retentionDays: number; localOnly: boolean };
  /** Record an integrity incident in the audit log (never throws; a failure to record is logged). */
  incident(detail: Record<string, string | number | boolean | null>, ownerId?: string, recordingId?: string): Promise<void>;
}
