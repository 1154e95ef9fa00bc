/** The manifest.json of an export bundle (schema documented in docs/export-format.md). */
export const EXPORT_FORMAT = 'earshot-export';
export const EXPORT_FORMAT_VERSION = 1;

export interface ManifestRecording {
  id: string;
  /** Path inside the bundle, e.g. "recordings/<id>.wav". */
  file: string;
  capturedAt: string;
  capturedAtMs: number;
  durationMs: number;
  wakeword: string;
  score: number;
  endReason: string;
  /** The owner marked it "not meant for the speaker" (a false wake). */
  falseWake: boolean;
  sampleRate: 16000;
  channels: 1;
  bitsPerSample: 16;
  samples: number;
  /** SHA-256 (hex) of the WAV file as stored in the bundle. */
  sha256: string;
  bytes: number;
}

export interface ManifestConsentEvent {
  purpose: string;
  action: 'grant' | 'revoke';
  at: string;
  source: string;
  textVersion: string;
}

export interface ManifestAuditEvent {
  seq: number;
  at: string;
  type: string;
  recordingId: string | null;
  detail: Record<string, unknown> | null;
  personal: Record<string, unknown> | 'redacted' | 'unreadable' | null;
  hash: string;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  formatVersion: typeof EXPORT_FORMAT_VERSION;
  generatedAt: string;
  device: { id: string };
  owner: {
    id: string;
    name: string;
    createdAt: string;
    localOnly: boolean;
    retentionDays: number;
    /** Claimed wake words and the owner's own threshold / verifier gate per word. */
    wake: { claims: string[]; thresholds: Record<string, number>; verifierGates: Record<string, number> };
  };
  recordings: ManifestRecording[];
  consent: ManifestConsentEvent[];
  audit: ManifestAuditEvent[];
  /** The audit chain head when the export was made (seq, SHA-256 hex). */
  auditHead: { seq: number; head: string };
}
