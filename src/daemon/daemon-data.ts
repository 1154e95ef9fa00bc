/**
 * Every operation the daemon performs on personal data, behind one small interface. The daemon's services
 * depend on this and nothing below it; `app-daemon-data.ts` implements it with the application layer (src/app),
 * the one place the daemon reaches the data half of the tree.
 */
import type { DeviceConfig } from '../config/index.js';
import type { Capture } from '../core/index.js';
import type { AuditSink, OutboxRepo, RecordingReader, SettingsRepo, UploadGate } from '../core/index.js';
import type { FleetPrivacy, PrivacyBaseline } from '../core/index.js';
import type { EffectivePrivacy, WakeRoute } from '../privacy/index.js';
import type { VerifierModel } from '../verifier/index.js';

/** The owner a word routes to and their own settings for it. */
export interface WakeOwnerChoice {
  ownerId: string;
  threshold?: number;
  verifierGate?: number;
}

export interface DaemonData {
  /**
   * Whose a wake of `word` heard now is: the owner who claimed the word, else the active owner; `none` when
   * neither; `withheld` (recorded as an incident) when an owner's claims do not open and it cannot be told.
   */
  routeWake(word: string): Promise<WakeRoute>;
  /**
   * Per word, the owner it routes to now (the claimer, else the active owner) and what they chose for it (their
   * threshold and verifier gate); a word that routes to nobody (nobody active, or withheld) is absent.
   */
  wakeOwners(words: readonly string[]): Promise<Record<string, WakeOwnerChoice>>;
  /**
   * Seals and stores a finished capture under `ownerId` (decided at wake time); queues it for upload when the
   * uplink is on and the consent gate allows it now.
   */
  storeCapture(ownerId: string, capture: Capture, opts: { uplink: boolean }): Promise<{ queued: boolean }>;
  /**
   * The household verifiers (decoded models by wake word) of the owner a wake word routes to. The one place the
   * daemon gets verifiers from: the wake service asks it, per word, for the owner the word routes to (the claimer,
   * else the active owner). An unknown owner has none; a verifier that does not open throws INTEGRITY.
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
