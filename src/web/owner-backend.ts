/**
 * The one port between the owner's page and the rest of Earshot. Routes call only this; every method takes
 * the owner resolved from the session (never from the request), and every change is made with
 * `source: 'owner-page'` by the implementation. A recording, notice or session of another owner is reported
 * exactly like one that does not exist (NOT_FOUND), so the page cannot tell them apart.
 *
 * The implementation is app-owner-backend.ts: the application layer (EarshotApp), the CLI's one code path.
 */
import { EarshotError } from '../core/index.js';

export const OWNER_PAGE_SOURCE = 'owner-page';

export interface RecordingItem {
  id: string;
  createdAt: number;
  durationMs: number;
  wakeword: string;
  score: number;
  /** 'uploaded' once the broker confirmed it, else 'on-device' (queued or kept). */
  uploaded: boolean;
  queued: boolean;
  falseWake: boolean;
  /** When retention deletes it (epoch ms), 'after-upload' for retention 0, or null when it is kept. */
  deleteAt: number | 'after-upload' | null;
}

export interface RecordingPage {
  items: RecordingItem[];
  page: number;
  pageSize: number;
  total: number;
}

export interface ConsentPurposeView {
  purpose: string;
  title: string;
  /** The text the owner agrees to, and its version (recorded with the decision). */
  text: string;
  textVersion: string;
  active: boolean;
  since: number | null;
  /** Version the decision in force was made on. */
  decidedTextVersion: string | null;
}

export interface PrivacyView {
  localOnly: { effective: boolean; choice: boolean; forcedByFleet: boolean; why: string | null };
  consent: ConsentPurposeView[];
  retentionDays: number;
  /** What is in force when the fleet caps retention below the owner's choice. */
  effectiveRetentionDays: number;
  uploadsEnabled: boolean;
}

export interface ActivityEntry {
  seq: number;
  at: number;
  type: string;
  recordingId: string | null;
  detail: Record<string, unknown> | null;
}

export interface SpeakerView {
  /** Whether the daemon listens (the wake words are not kept: they say what the household says). */
  listening: { state: 'listening' | 'stopped' | 'never'; since: number | null };
  /** Local-only in effect for this owner. */
  localOnly: boolean;
  uploadsEnabled: boolean;
  /** This owner's recordings waiting for upload. */
  queued: number;
  lastFleet: { result: 'applied' | 'refused'; at: number; target: string | null; version: number | null; reason: string | null } | null;
}

export interface Notice {
  id: number;
  at: number;
  kind: string;
  message: string;
  acknowledged: boolean;
}

export interface SessionView {
  ref: string;
  ownerId: string;
  createdAt: number;
  lastSeenAt: number;
  browser: string;
}

/** Which sessions to end: one (only if it is `ownerId`'s, when given), an owner's, the idle ones, or all. */
export type SessionSelector = { ref: string; ownerId?: string } | { ownerId: string } | { idleBefore: number } | { all: true };

export type RedeemResult = { status: 'ok'; ownerId: string } | { status: 'unknown' | 'used' | 'expired' };

export interface ExportDownload {
  fileName: string;
  contentType: string;
  bytes: number;
  sha256: string;
  /** The bundle's bytes; `done` removes any temporary file once they were sent (or the send failed). */
  stream: NodeJS.ReadableStream;
  done(): Promise<void>;
}

export interface OwnerBackend {
  // ── the owner's data
  ownerName(ownerId: string): Promise<string>;
  listRecordings(ownerId: string, page: number, pageSize: number): Promise<RecordingPage>;
  /** Decrypted in memory as WAV; audited as played. NOT_FOUND for anything not the owner's. */
  openForPlayback(ownerId: string, recordingId: string): Promise<{ wav: Buffer }>;
  /** All or nothing: NOT_FOUND (and nothing deleted) when any id is not the owner's. */
  deleteRecordings(ownerId: string, ids: string[]): Promise<number>;
  flagFalseWake(ownerId: string, recordingId: string, on: boolean): Promise<void>;
  privacy(ownerId: string): Promise<PrivacyView>;
  setLocalOnly(ownerId: string, on: boolean): Promise<PrivacyView>;
  setConsent(ownerId: string, purpose: string, action: 'grant' | 'withdraw', textVersion: string): Promise<PrivacyView>;
  setRetention(ownerId: string, days: number): Promise<PrivacyView>;
  exportBundle(ownerId: string, passphrase?: string): Promise<ExportDownload>;
  /** Crypto-shreds the owner; their sessions end with them. */
  erase(ownerId: string): Promise<{ recordings: number }>;
  activity(ownerId: string, limit: number): Promise<ActivityEntry[]>;
  speaker(ownerId: string): Promise<SpeakerView>;
  notices(ownerId: string): Promise<Notice[]>;
  /** false when the notice is not one of the owner's. */
  ackNotice(ownerId: string, noticeId: number): Promise<boolean>;

  // ── pairing and sessions (ids and codes arrive hashed; the secrets never leave src/web)
  createPairing(ownerId: string, codeHash: string, expiresAt: number, source: string): Promise<void>;
  redeemPairing(codeHash: string, session: { idHash: string; ref: string; browser: string }): Promise<RedeemResult>;
  findSession(idHash: string): Promise<Omit<SessionView, 'browser'> | undefined>;
  touchSession(idHash: string, at: number): Promise<void>;
  listSessions(ownerId?: string): Promise<SessionView[]>;
  /** Ends sessions; `ownerId` with `ref` ends it only when it is that owner's. Returns how many ended. */
  endSessions(which: SessionSelector, reason: string, source: string): Promise<number>;
  /** A client was locked out of pairing: every owner is told (a wrong code names no owner). */
  recordPairingLockout(detail: { failures: number; lockedForMs: number }): Promise<void>;
  /** Resolves an owner for `earshot web pair` (explicit id checked, else the active owner). */
  resolveOwner(explicit: string | undefined): Promise<string>;
}

/** What a route answers for anything that is not the owner's, or not there at all (HTTP 404, one body). */
export function notFound(): EarshotError {
  return new EarshotError('NOT_FOUND', 'not found');
}
