/**
 * The boundary between the application layer (src/app), the privacy logic (src/privacy) and the uplink on one side
 * and the persistence (src/store: SQLite; test/support: in memory) on the other. Repositories are plain
 * persistence: no auditing, no retention rules, no cross-table policy — those live in src/app, once. Every
 * implementation passes one contract suite (test/store/contracts.ts).
 */
import type { AuditSink, ConsentEvent, OutboxEntry, Purpose } from './privacy-types.js';
import type { Capture, Recording } from './recording.js';
import type { OwnerWakeSettings } from './owner-wake-settings.js';

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

/** One owner's wake settings as their key opened them, or `unreadable` when the sealed profile did not open. */
export type OwnerWakeSettingsRead = { ownerId: string; settings: OwnerWakeSettings } | { ownerId: string; unreadable: string };

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
  /** The owner's wake settings, opened with their key. UNKNOWN_OWNER; INTEGRITY when the sealed profile does not open. */
  wakeSettings(ownerId: string): Promise<OwnerWakeSettings>;
  /** Every owner's wake settings, each opened with its own key, oldest owner first; one that does not open is `unreadable`. */
  wakeSettingsAll(): Promise<OwnerWakeSettingsRead[]>;
  /** Seals the owner's profile again with these wake settings (the name unchanged). UNKNOWN_OWNER; INTEGRITY. */
  setWakeSettings(ownerId: string, settings: OwnerWakeSettings): Promise<void>;
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
  /** The owner marked it "not meant for the speaker" (sealed with the rest of the metadata). */
  falseWake: boolean;
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
  /**
   * Sets the owner's false-wake mark: the sealed metadata is opened with `ownerId`'s key, changed and sealed
   * again. UNKNOWN_RECORDING when no such row is filed under the owner, INTEGRITY when it does not open.
   */
  setFalseWake(ownerId: string, recordingId: string, falseWake: boolean): Promise<void>;
  /** Deletes an owner's recordings created before `createdBefore` or, with `uploadedOnly`, already uploaded. */
  deleteExpired(ownerId: string, rule: { createdBefore: number } | { uploadedOnly: true }): Promise<string[]>;
  /** Every recording of the owner (erasure); their audio file goes after commit. Returns the count. */
  deleteOwner(ownerId: string): Promise<number>;
  /**
   * The wake features stored with one of `ownerId`'s recordings (opened with their key, associated data naming the
   * recording and them); undefined when it was stored without. UNKNOWN_RECORDING when no such row is filed under the
   * owner, INTEGRITY when it does not open.
   */
  wakeFeatures(ownerId: string, recordingId: string): Promise<Float32Array | undefined>;
}

/** What enrolment keeps of the owner's voice: embedding features and peak scores, never audio. */
export interface VerifierEnrolment {
  /**
   * One per enrolment clip: its peak base score, the embedding windows around the peak (positives) and the
   * windows of its copies cut part-way through the phrase (negatives: the owner saying part of the word; absent
   * in enrolments made before they existed, or with none).
   */
  clips: EnrolmentClip[];
  /** Windows of the room's background (negatives), from the optional background clips. */
  background: Float32Array[];
}

export interface EnrolmentClip {
  peakScore: number;
  windows: Float32Array[];
  partialPhrases?: Float32Array[];
}

/** An owner's verifier for one wake word as their key opened it, without the enrolment features. */
export interface StoredVerifier {
  ownerId: string;
  wakeword: string;
  /** The trained model (src/verifier's encodeVerifierModel bytes). */
  model: Uint8Array;
  clips: number;
  /** The model's leave-one-clip-out recall on its own enrolment. */
  cvRecall: number;
  trainedAt: number;
  /** Enrolment clips' peak base scores, in clip order. */
  peakScores: number[];
  backgroundWindows: number;
  /** Partial-phrase negatives of the enrolment (0 for enrolments made before they existed). */
  partialPhraseWindows: number;
  /** Flagged false wakes of the owner the model was trained against. */
  falseWakes: number;
}

/**
 * Each owner's verifiers, at most one per wake word, sealed under the owner's key: what is clear in the row is
 * only the owner id, a keyed tag of the word (HMAC under a key derived from the owner's key, so the word is not
 * readable without it) and times. The associated data binds owner, word tag, key version and part, so a row moved to
 * another owner or word, or a blob moved between rows, does not open (INTEGRITY).
 */
export interface VerifierRepo {
  /** Stores (or replaces) the owner's verifier for `v.wakeword`. UNKNOWN_OWNER for an unknown owner. */
  put(ownerId: string, v: Omit<StoredVerifier, 'ownerId' | 'peakScores' | 'backgroundWindows' | 'partialPhraseWindows'> & { enrolment: VerifierEnrolment }): Promise<void>;
  /** The owner's verifiers, by wake word (an unknown owner has none). */
  list(ownerId: string): Promise<StoredVerifier[]>;
  /** The enrolment features of one verifier, or undefined when the owner has none for the word. */
  enrolment(ownerId: string, wakeword: string): Promise<VerifierEnrolment | undefined>;
  /** Whether there was one to remove. */
  remove(ownerId: string, wakeword: string): Promise<boolean>;
  /** Erasure and transfer: every verifier of the owner; returns how many. */
  removeOwner(ownerId: string): Promise<number>;
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
  /**
   * The earliest nextAttemptAt later than `now`, or undefined: when the next retry falls due. The uplink arms one
   * timer for it instead of polling, so an idle outbox costs no queries.
   */
  nextAttemptAfter(now: number): Promise<number | undefined>;
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

/** A paired browser as the owner's key opened it (the browser label is sealed). */
export interface WebSession {
  /** Public handle for listing and revoking; never the secret id. */
  ref: string;
  ownerId: string;
  createdAt: number;
  lastSeenAt: number;
  browser: string;
}

/** Which sessions: one (only if it is `ownerId`'s, when given), an owner's, those idle since before a time, or all. */
export type WebSessionSelector = { ref: string; ownerId?: string } | { ownerId: string } | { idleBefore: number } | { all: true };

/** A pairing code as stored: 'forged' when its sealed part does not open under the named owner's key. */
export type StoredPairing = { ownerId: string; expiresAt: number; usedAt: number | null } | { forged: true; ownerId: string };

/**
 * The owner page's one-time pairing codes and browser sessions. Only hashes of codes and session ids are
 * stored; which owner a row is for is bound by a part sealed under that owner's key (associated data naming
 * the hash and the owner), so a row written without the key is 'forged', never someone's session.
 */
export interface WebSessionRepo {
  /** UNKNOWN_OWNER for an unknown owner. */
  createPairing(p: { codeHash: string; ownerId: string; createdAt: number; expiresAt: number }): Promise<void>;
  pairing(codeHash: string): Promise<StoredPairing | undefined>;
  markPairingUsed(codeHash: string, at: number): Promise<void>;
  /** Removes codes that expired before `before` (used or not). */
  prunePairings(before: number): Promise<void>;
  /** UNKNOWN_OWNER for an unknown owner. */
  insertSession(s: { idHash: string; ref: string; ownerId: string; createdAt: number; browser: string }): Promise<void>;
  /** The session with this id hash, authenticated; 'forged' when its sealed part does not open. */
  findSession(idHash: string): Promise<Omit<WebSession, 'browser'> | 'forged' | undefined>;
  /** Moves last-seen forward (never back). */
  touchSession(idHash: string, at: number): Promise<void>;
  /** Oldest first; of one owner when given. */
  listSessions(ownerId?: string): Promise<WebSession[]>;
  /** The sessions a selector names, oldest first. */
  selectSessions(which: WebSessionSelector): Promise<{ ref: string; ownerId: string }[]>;
  deleteSession(ref: string): Promise<void>;
  /** Erasure: the owner's codes and sessions; returns how many sessions ended. */
  removeOwner(ownerId: string): Promise<number>;
}

/** An audit entry that is a notice for an owner, with the owner's acknowledgement. */
export interface NoticeEntry {
  seq: number;
  at: number;
  type: string;
  /** True when the entry is filed under the owner; false for a device-wide one. */
  own: boolean;
  detail: Record<string, unknown> | null;
  ackedAt: number | null;
}

/**
 * Notices: incidents filed under an owner, and device-wide incidents and refused fleet documents since the owner
 * was added (read from the audit log's clear columns), with the owner's acknowledgements (rows of their own).
 */
export interface NoticeRepo {
  /** Newest first; with `seq`, only that entry if it is one of the owner's notices. An unknown owner has none. */
  list(ownerId: string, opts?: { seq?: number; limit?: number }): Promise<NoticeEntry[]>;
  acknowledge(ownerId: string, seq: number, at: number): Promise<void>;
  /** The device's most recent fleet document outcome (device-wide audit entry). */
  lastFleetOutcome(): Promise<{ at: number; type: string; detail: Record<string, unknown> | null } | undefined>;
  /** Erasure: the owner's acknowledgements. */
  removeOwner(ownerId: string): Promise<void>;
}

// ---- the unit of work ----------------------------------------------------------------------------------------

/** What one unit of work sees: the repositories and the audit log, all inside one transaction. */
export interface Tx {
  readonly owners: OwnerRepo;
  readonly recordings: RecordingRepo;
  readonly consent: ConsentLedgerRepo;
  readonly outbox: OutboxRepo;
  readonly settings: SettingsRepo;
  readonly webSessions: WebSessionRepo;
  readonly notices: NoticeRepo;
  readonly verifiers: VerifierRepo;
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

/** `publishedHead`: a head kept elsewhere (`audit verify --head HASH[:SEQ]`) the log must contain. */
export interface AuditVerifyOptions {
  publishedHead?: { head: string; seq?: number };
}

/** Reading the audit log back (appending is Tx.audit). */
export interface AuditQueries {
  list(opts?: { ownerId?: string; limit?: number }): Promise<AuditEntry[]>;
  head(): Promise<{ seq: number; head: string }>;
  verify(opts?: AuditVerifyOptions): Promise<AuditVerification>;
}

// ---- what the uplink depends on --------------------------------------------------------------------------------

/** Opening a stored recording decrypts it with its owner's key and checks its associated data. */
export interface RecordingReader {
  open(recordingId: string): Promise<Recording>;
  /**
   * Called once per successful PUBACK, and the single place an upload is recorded (the application layer's
   * confirmUpload): in one unit of work it marks the recording uploaded, removes its outbox entry, appends the one
   * `recording.uploaded` audit entry and applies retention 0 (delete after upload). The uplink itself neither
   * audits the upload nor touches the outbox row.
   */
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
  /**
   * Optional event hook: called after anything that can change an answer (consent, local-only, uploads
   * enabled, fleet privacy). The uplink re-checks the uploads it holds at once instead of waiting for notify().
   */
  onChange?(listener: () => void): () => void;
}

/**
 * What the uplink offers the rest of the device (the daemon, the application layer): "look at the outbox now",
 * after a capture was stored and enqueued or a consent / privacy decision changed. The outbox is event-driven,
 * so without it a new entry waits for the next connection change or retry timer.
 */
export interface UploadTrigger {
  notify(): void;
}
