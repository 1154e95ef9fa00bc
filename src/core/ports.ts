/**
 * Contracts between the encrypted store (src/store, SQLite) and the privacy/uplink/fleet side.
 * The store implements them; the uplink, consent policy and fleet code depend only on these interfaces,
 * so their logic is tested with in-memory fakes and the SQLite implementation passes the same suite.
 */
import type { AuditSink, ConsentEvent, OutboxEntry, Purpose } from './privacy-types.js';
import type { Recording } from './recording.js';

export interface ConsentLedgerRepo {
  /** Append-only: there is no update or delete (erasure of an owner removes their rows with the owner). */
  append(event: ConsentEvent): Promise<void>;
  /** True when append() writes the `consent.changed` audit entry itself, in the same transaction as the row. */
  readonly auditsAppends?: boolean;
  /** Oldest first. */
  history(ownerId: string, purpose?: Purpose): Promise<ConsentEvent[]>;
}

export interface OutboxRepo {
  enqueue(entry: { recordingId: string; ownerId: string; capturedAt: number; enqueuedAt: number }): Promise<void>;
  /** Entries with nextAttemptAt <= now, oldest capture first. */
  due(now: number, limit: number): Promise<OutboxEntry[]>;
  recordFailure(recordingId: string, error: string, nextAttemptAt: number): Promise<void>;
  /** Remove one entry (after a confirmed upload, or when consent no longer allows it). */
  remove(recordingId: string): Promise<void>;
  /** Remove every queued entry of an owner; returns how many. */
  removeOwner(ownerId: string): Promise<number>;
  count(): Promise<number>;
}

export interface SettingsRepo {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

export interface OwnerPrivacy {
  ownerId: string;
  localOnly: boolean;
  retentionDays: number;
}

export interface OwnerPrivacyRepo {
  getPrivacy(ownerId: string): Promise<OwnerPrivacy>;
  /** `source`: where the change came from ('owner-cli', 'owner-page'), recorded in its audit entry. */
  setLocalOnly(ownerId: string, on: boolean, source?: string): Promise<void>;
  setRetentionDays(ownerId: string, days: number, source?: string): Promise<void>;
  activeOwnerId(): Promise<string | undefined>;
}

/** Opening a stored recording decrypts it with its owner's key and checks its associated data. */
export interface RecordingReader {
  open(recordingId: string): Promise<Recording>;
  /** Called after a successful PUBACK; applies retention 0 (delete after upload). */
  markUploaded(recordingId: string, at: number): Promise<void>;
}

export type { AuditSink };

/** Why an upload may not happen right now. */
export type UploadBlockReason =
  | 'local-only'
  | 'uploads-disabled'
  | 'no-consent'
  | 'consent-not-active-at-capture'
  | 'unknown-owner';

export type UploadDecision = { allowed: true } | { allowed: false; reason: UploadBlockReason };

/**
 * The consent gate, asked immediately before every publish (never cached across publishes):
 * local-only off (owner and fleet), uploads enabled, and `cloud-processing` consent active both at
 * capture time and now.
 */
export interface UploadGate {
  check(entry: { ownerId: string; capturedAt: number }, now: number): Promise<UploadDecision>;
}
