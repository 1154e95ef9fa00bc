/**
 * Every operation the daemon performs on personal data, behind one small interface. The daemon's services
 * depend on this and nothing below it; `app-daemon-data.ts` implements it with the application layer (src/app),
 * the one place the daemon reaches the data half of the tree.
 */
import type { DeviceConfig } from '../config/index.js';
import type { Capture } from '../core/index.js';
import type { AuditSink, OutboxRepo, RecordingReader, SettingsRepo, UploadGate } from '../core/index.js';
import type { FleetPrivacy, PrivacyBaseline } from '../core/index.js';
import type { EffectivePrivacy } from '../privacy/index.js';
import type { VerifierModel } from '../verifier/index.js';

export interface DaemonData {
  /** The owner a wake word heard now belongs to (the active owner), or undefined when nobody is active. */
  ownerAtWake(): Promise<string | undefined>;
  /**
   * Seals and stores a finished capture under `ownerId` (decided at wake time); queues it for upload when the
   * uplink is on and the consent gate allows it now.
   */
  storeCapture(ownerId: string, capture: Capture, opts: { uplink: boolean }): Promise<{ queued: boolean }>;
  /**
   * The household verifiers (decoded models by wake word) of the owner a wake word routes to. The one place the
   * daemon gets verifiers from: the wake service asks it for the active owner (and, with claimed words, for the
   * owner who claimed a word). An unknown owner has none; a verifier that does not open throws INTEGRITY.
   */
  verifiersFor(ownerId: string): Promise<Record<string, VerifierModel>>;
  /** Applies every owner's retention, capped by the fleet's. */
  sweepRetention(): Promise<void>;
  /** Privacy in effect for the active owner (owner choices, device config, fleet documents). */
  activePrivacy(): Promise<EffectivePrivacy>;
  /** Owners whose cloud-processing consent is active now (the uplink withdraws a withdrawn owner's uploads). */
  consentedOwners(): Promise<Set<string>>;
  /** The audit log's head (sequence and hash, nothing personal), published in the status so a fleet notices a log going backwards. */
  auditHead(): Promise<{ seq: number; hash: string }>;
  /** Drops the handles on audio files of owners erased by another process. */
  releaseErasedFiles(): Promise<void>;
  /** Non-personal settings (daemon health, drain progress, applied fleet documents). */
  readonly settings: SettingsRepo;
  /** What the uplink needs: the outbox, sealed recordings, the gate and the audit log. */
  readonly uplinkPorts: { outbox: OutboxRepo; recordings: RecordingReader; gate: UploadGate; audit: AuditSink; settings: SettingsRepo };
  /** What the fleet receiver needs to apply, audit and check documents. */
  readonly fleetPorts: { settings: SettingsRepo; audit: AuditSink; baseline: () => Promise<PrivacyBaseline> };
  close(): Promise<void>;
}

export interface DaemonDataOptions {
  config: DeviceConfig;
  deviceId: string;
  /** Strictest privacy of the applied fleet documents, read at each decision. */
  fleetPrivacy: () => FleetPrivacy;
}
