/**
 * Signed fleet configuration documents: the envelope, the signed payload, and what a fleet may set.
 * The format is documented for fleet operators in device-config/FLEET.md.
 */
import type { LogLevel } from '../core/index.js';
import type { WakeWordConfig } from '../config/index.js';
import type { FleetPrivacy, PrivacyBaseline } from '../core/index.js';
import type { CaptureBaseline } from './capture-rules.js';

export type { FleetPrivacy, PrivacyBaseline };

export const FLEET_FORMAT = 'earshot-fleet-config/1';
/** Largest document a device accepts, in bytes (UTF-8, as received). */
export const MAX_FLEET_DOCUMENT_BYTES = 64 * 1024;

/** Who a document is for: every device, the devices of one group, or one device. */
export type FleetTarget = 'fleet' | `group:${string}` | `device:${string}`;


/** The settings a fleet document carries (device-config/fleet-config.schema.json). Never consent. */
export interface FleetConfig {
  privacy?: FleetPrivacy;
  wake?: {
    words?: WakeWordConfig[];
    threshold?: number;
    patienceFrames?: number;
    refractoryMs?: number;
    phases?: number;
    vadGate?: boolean;
  };
  capture?: {
    endSilenceMs?: number;
    maxMs?: number;
    noSpeechTimeoutMs?: number;
    vadThreshold?: number;
  };
  log?: { level?: LogLevel };
}

/** What is signed. */
export interface FleetPayload {
  target: FleetTarget;
  /** Monotonic per target: a device applies only versions greater than the last it applied for that target. */
  version: number;
  /** ISO 8601 UTC, informational. */
  issuedAt: string;
  /** ISO 8601 UTC; a device refuses the document at or after this instant. */
  expiresAt?: string;
  config: FleetConfig;
}

/** What travels over MQTT (retained) and sits in signed.json. */
export interface SignedFleetDocument {
  format: typeof FLEET_FORMAT;
  payload: FleetPayload;
  /** Hint: first 16 hex digits of SHA-256 over the signing key's SPKI DER. Not trusted; every pinned key is tried. */
  keyId: string;
  /** Base64 Ed25519 signature over `signedMessage(payload)`. */
  signature: string;
}

/** Every reason a document can be refused, in the order the checks run. */
export const FLEET_REFUSAL_REASONS = [
  'too-large',
  'malformed-json',
  'forbidden-key',
  'bad-envelope',
  'no-pinned-key',
  'unknown-key',
  'bad-signature',
  'consent-not-allowed',
  'loosens-privacy',
  'bad-schema',
  'wrong-target',
  'topic-mismatch',
  'expired',
  'not-newer',
] as const;
export type FleetRefusalReason = (typeof FLEET_REFUSAL_REASONS)[number];

/**
 * What a document is compared with: the owner's privacy choices over the device config, and the device's own
 * wake/capture settings — a document making capture more eager than these is refused as 'loosens-privacy'.
 * The receiver fills `capture` from its device config when the caller's baseline lacks it.
 */
export interface FleetBaseline extends PrivacyBaseline {
  capture?: CaptureBaseline;
}

/** A verified document, as applied and persisted. */
export interface AppliedFleetDocument {
  target: FleetTarget;
  version: number;
  issuedAt: string;
  expiresAt: string | undefined;
  config: FleetConfig;
  keyId: string;
  /** SHA-256 (hex) of the signed message: identifies this exact document. */
  digest: string;
}
