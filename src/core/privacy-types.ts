/** Shared vocabulary of the privacy side: consent purposes, ledger rows, outbox rows, audit events. */

export const PURPOSES = ['cloud-processing', 'quality-improvement'] as const;
export type Purpose = (typeof PURPOSES)[number];

export function isPurpose(v: unknown): v is Purpose {
  return typeof v === 'string' && (PURPOSES as readonly string[]).includes(v);
}

/** One append-only consent ledger row. */
export interface ConsentEvent {
  readonly ownerId: string;
  readonly purpose: Purpose;
  readonly action: 'grant' | 'revoke';
  /** Epoch ms. */
  readonly at: number;
  /** Where the decision came from: 'owner-cli', 'local-page', … Never 'fleet'. */
  readonly source: string;
  /** Version of the consent text the owner was shown. */
  readonly textVersion: string;
}

/** A recording waiting for upload. Holds only opaque ids and times. */
export interface OutboxEntry {
  readonly recordingId: string;
  readonly ownerId: string;
  /** Epoch ms at which the recording was captured (consent must have been active then). */
  readonly capturedAt: number;
  readonly enqueuedAt: number;
  readonly attempts: number;
  /** Epoch ms before which it must not be retried. */
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
}

export type AuditEventType =
  | 'owner.added'
  | 'owner.activated'
  | 'owner.transferred'
  // wake words per owner (the word and the values are sealed as the entry's personal part)
  | 'wakeword.claimed'
  | 'wakeword.released'
  | 'wake.threshold.set'
  | 'recording.created'
  | 'recording.played'
  | 'recording.deleted'
  | 'recording.uploaded'
  | 'recording.upload-refused'
  | 'export.created'
  | 'owner.erased'
  | 'consent.changed'
  | 'local-only.changed'
  | 'retention.changed'
  | 'retention.swept'
  | 'key.rotated'
  | 'backup.created'
  | 'backup.restored'
  | 'config.applied'
  | 'config.refused'
  | 'quarantine.restored'
  | 'quarantine.discarded'
  | 'incident'
  // the owner's page (src/web)
  | 'recording.flagged'
  | 'web.pairing-created'
  | 'web.session-started'
  | 'web.session-ended'
  | 'notice.acknowledged'
  // household verifiers (the wake word is sealed in `personal`)
  | 'verifier.enrolled'
  | 'verifier.removed';

/**
 * An audit event before it is chained. `personal` is sealed under the owner's key (so erasure redacts it);
 * `detail` is stored in clear and must never hold personal data (ids, counts, hashes, reasons only).
 */
export interface AuditEventInput {
  readonly type: AuditEventType;
  readonly ownerId?: string;
  readonly recordingId?: string;
  readonly detail?: Record<string, string | number | boolean | null>;
  readonly personal?: Record<string, string | number | boolean | null>;
}

export interface AuditSink {
  append(event: AuditEventInput): Promise<void>;
}

/**
 * Privacy a fleet may impose. Each field can only make a device stricter; a document carrying the opposite
 * value (forceLocalOnly false, uploadsEnabled true, humanReview true) is refused as 'loosens-privacy'.
 * To stop imposing something, a later document omits the field.
 */
export interface FleetPrivacy {
  forceLocalOnly?: true;
  /** Cap on retention, days; the effective retention is min(owner, cap). */
  maxRetentionDays?: number;
  uploadsEnabled?: false;
  humanReview?: false;
}

/** Owner choices over device defaults, before any fleet document (what a fleet document is compared with). */
export interface PrivacyBaseline {
  localOnly: boolean;
  retentionDays: number;
  uploadsEnabled: boolean;
  humanReview: boolean;
}
