/**
 * The boundary between the application layer (src/app), the privacy logic (src/privacy) and the uplink on one side
 * and the persistence (src/store: SQLite; test/support: in memory) on the other. Repositories are plain
 * persistence: no auditing, no retention rules, no cross-table policy — those live in src/app, once. Every
 * implementation passes one contract suite (test/store/contracts.ts).
 */
import type { AuditSink, ConsentEvent, OutboxEntry, Purpose } from './privacy-types.js';
import type { Capture, Recording } from './recording.js';

export type { AuditSink };

// ---- plain repositories --------------------------------------------------------------------------------------

export interface OwnerPrivacy {
  ownerId: string;
  localOnly: boolean;
  retentionDays: number;
}

/** An owner as their key opened it (the name is sealed). */
export interface OwnerRecord {
  id: string;
  name: string;
  createdAt: number;
  active: boolean;
  localOnly: boolean;
  retentionDays: number;
  recordings: number;
}

export interface OwnerRepo {
  /** Creates the owner with a fresh data key (name sealed under it); returns the opaque id. */
  create(input: { name: string; createdAt: number; retentionDays: number; localOnly: boolean }): Promise<string>;
  /** undefined for an unknown (or erased) owner. */
  get(ownerId: string): Promise<OwnerRecord | undefined>;
  /** Oldest first. */
  list(): Promise<OwnerRecord[]>;
  /** undefined for an unknown owner. */
  privacy(ownerId: string): Promise<OwnerPrivacy | undefined>;
  /** Every owner's own choices, for the retention sweep. */
  privacyAll(): Promise<OwnerPrivacy[]>;
  setLocalOnly(ownerId: string, on: boolean): Promise<void>;
  setRetentionDays(ownerId: string, days: number): Promise<void>;
  activeOwnerId(): Promise<string | undefined>;
  /** undefined clears it. */
  setActive(ownerId: string | undefined): Promise<void>;
  /** Crypto-shreds the owner's wrapped key and profile, then removes the row. Their other rows must be gone first. */
  remove(ownerId: string): Promise<void>;
}

export interface RecordingSummary {
  id: string;
  ownerId: string;
  createdAt: number;
  durationMs: number;
  uploadedAt: number | null;
  wakeword: string;
  score: number;
}

export interface RecordingRepo {
  /** Seals metadata and audio under the owner's key and stores them (the audio is removed again on rollback). */
  insert(ownerId: string, capture: Capture): Promise<RecordingSummary>;
  /**
   * Decrypts a recording. With `asOwner`, only with that owner's key and associated data naming them (access
   * requests, owner commands). UNKNOWN_RECORDING when there is no such row, INTEGRITY when it does not open.
   */
  open(recordingId: string, asOwner?: string): Promise<Recording>;
  /** Metadata of an owner's recordings, oldest first (sealed metadata opened; audio left sealed). */
  summaries(ownerId: string): Promise<RecordingSummary[]>;
  /** Ids of an owner's recordings, oldest first (no decryption). */
  ids(ownerId: string): Promise<string[]>;
  /** The owner a recording row is filed under (opaque id, unauthenticated: never decide on it alone). */
  filedUnder(recordingId: string): Promise<string | undefined>;
  /** Deletes rows; their audio is removed after the unit of work commits. Returns the ids deleted. */
  delete(ownerId: string, recordingIds: readonly string[]): Promise<string[]>;
  markUploaded(recordingId: string, at: number): Promise<void>;
  /** Deletes an owner's recordings created before `createdBefore` or, with `uploadedOnly`, already uploaded. */
  deleteExpired(ownerId: string, rule: { createdBefore: number } | { uploadedOnly: true }): Promise<string[]>;
  /** Every recording of the owner (erasure); their audio file goes after commit. Returns the count. */
  deleteOwner(ownerId: string): Promise<number>;
}

export interface ConsentLedgerRepo {
  /** Append-only: there is no update or delete of single rows. */
  append(event: ConsentEvent): Promise<void>;
  /** Oldest first. */
  history(ownerId: string, purpose?: Purpose): Promise<ConsentEvent[]>;
  /** Erasure only: every row of the owner; returns how many. */
  removeOwner(ownerId: string): Promise<number>;
}

export interface OutboxRepo {
  enqueue(entry: { recordingId: string; ownerId: string; capturedAt: number; enqueuedAt: number }): Promise<void>;
  /** Entries with nextAttemptAt <= now, oldest capture first. */
  due(now: number, limit: number): Promise<OutboxEntry[]>;
  /** The entry of one recording, if queued. */
  entry(recordingId: string): Promise<OutboxEntry | undefined>;
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

// ---- the unit of work ----------------------------------------------------------------------------------------

/** What one unit of work sees: the repositories and the audit log, all inside one transaction. */
export interface Tx {
  readonly owners: OwnerRepo;
  readonly recordings: RecordingRepo;
  readonly consent: ConsentLedgerRepo;
  readonly outbox: OutboxRepo;
  readonly settings: SettingsRepo;
  readonly audit: AuditSink;
}

export interface UnitOfWork {
  /** Runs `fn` in one transaction: everything it did commits as a whole, or nothing does. */
  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Like run, and in the same transaction re-wraps every remaining owner key under a new device key, destroying
   * the old one: a copy of the data taken before can no longer open what `fn` erased. `fn` learns the key ids.
   */
  runRekeyed<T>(fn: (tx: Tx, rotation: { from: string; to: string }) => Promise<T>): Promise<T>;
  /** Reads without taking the write lock (works on a read-only copy); writing inside it is a programming error. */
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** The store's own housekeeping that is not a unit of work. */
export interface StoreMaintenance {
  /** Returns freed space to the file system after a large deletion (erasure). */
  compact(opts?: { full?: boolean }): Promise<void>;
  /** Non-personal counters for `earshot status`. */
  stats(): Promise<StoreStats>;
  /** Audio moved aside because it did not match the metadata (never deleted on a hunch). */
  quarantined(): Promise<QuarantinedItem[]>;
  restoreQuarantined(id: string): Promise<{ restoredTo: string }>;
  discardQuarantined(id: string): Promise<QuarantinedItem>;
}

export interface QuarantinedItem {
  id: string;
  kind: 'blob' | 'owner-file';
  /** The owner file it was found in (from the file name: not authenticated). */
  foundInOwnerFile: string;
  recordingId: string | null;
  reason: string;
  at: number;
}

export interface StoreStats {
  owners: number;
  recordings: number;
  outbox: number;
  auditEntries: number;
  schemaVersion: number;
  activeOwnerId: string | null;
  quarantined: number;
}

/** One audit entry as read back: `personal` opened where the owner's key still exists. */
export interface AuditEntry {
  seq: number;
  at: number;
  type: string;
  ownerId: string | null;
  recordingId: string | null;
  detail: Record<string, unknown> | null;
  /** 'redacted' when the owner's key was shredded, 'unreadable' when it fails authentication. */
  personal: Record<string, unknown> | 'redacted' | 'unreadable' | null;
  hash: string;
}

export interface AuditProblemView {
  kind: string;
  seq: number;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  lastSeq: number;
  head: string;
  problems: AuditProblemView[];
}

/** Reading the audit log back (appending is Tx.audit). */
export interface AuditQueries {
  list(opts?: { ownerId?: string; limit?: number }): Promise<AuditEntry[]>;
  head(): Promise<{ seq: number; head: string }>;
  verify(): Promise<AuditVerification>;
}

// ---- what the uplink depends on --------------------------------------------------------------------------------

/** Opening a stored recording decrypts it with its owner's key and checks its associated data. */
export interface RecordingReader {
  open(recordingId: string): Promise<Recording>;
  /** Called after a successful PUBACK: the upload is confirmed (audited once; retention 0 deletes here). */
  markUploaded(recordingId: string, at: number): Promise<void>;
}

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
