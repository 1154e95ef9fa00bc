/**
 * The application layer as one object: every operation on personal data, for the daemon, the CLI and the owner
 * page alike. Each method is one unit of work (or a read) that audits once, from one place; nothing above this
 * layer reaches the repositories.
 */
import type {
  AuditEntry,
  AuditVerification,
  AuditVerifyOptions,
  NoticeEntry,
  OwnerRecord,
  QuarantinedItem,
  RecordingReader,
  StoreStats,
  UploadDecision,
  UploadGate,
  WebSession,
  WebSessionSelector,
} from '../core/index.js';
import type { Capture, Recording } from '../core/index.js';
import type { ConsentEvent, PrivacyBaseline } from '../core/index.js';
import type { OwnerWakeSettings } from '../core/index.js';
import type { EffectivePrivacy, PurposeStatus, WakeClaimsView, WakeRoute } from '../privacy/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { auditLog, verifyAudit } from './audit.js';
import { changeConsent, consentOf, type ConsentChange } from './consent.js';
import { eraseOwner, type EraseResult } from './erase.js';
import { exportOwner, type ExportOptions, type ExportResult } from './export-owner.js';
import { recordIncident, type IncidentDetail } from './incidents.js';
import { rotateKeys } from './keys.js';
import { discardQuarantined, listQuarantine, restoreQuarantined } from './repair.js';
import { localOnlyStatus, setLocalOnly, type LocalOnlyStatus } from './local-only.js';
import { activeOwnerId, addOwner, getOwner, listOwners, resolveOwner, useOwner } from './owners.js';
import { privacyInEffect } from './privacy-status.js';
import { acknowledgeNotice, deviceActivity, notices, type DeviceActivity } from './notices.js';
import { deleteRecordings, flagRecording, listRecordings, playRecording, type RecordingListItem } from './recordings.js';
import { setRetention, sweepRetention, type SweepResult } from './retention.js';
import { storeCapture } from './store-capture.js';
import { transferDevice, type TransferOptions } from './transfer.js';
import { claimWakeword, releaseWakeword, routeWake, setWakeThreshold, wakeClaimsView, wakeSettingsOf, type ClaimChange, type WakeThresholdChange } from './wake-settings.js';
import { enrolVerifier, type EnrolRequest } from './enrol.js';
import { tuneInputs, type TuneInputsOfOwner } from './tune-inputs.js';
import { removeVerifier, verifiersFor, verifierStatus, type VerifierStatus } from './verifiers.js';
import type { VerifierModel } from '../verifier/index.js';
import { checkUpload, confirmUpload, uplinkPorts } from './uploads.js';
import { createPairing, endSessions, listSessions, redeemPairing, resumeSession, type RedeemResult } from './web-sessions.js';

export class EarshotApp {
  constructor(readonly deps: AppDeps) {}

  get deviceId(): string {
    return this.deps.deviceId;
  }

  // owners
  addOwner(req: { name: string; retentionDays?: number; localOnly?: boolean } & Origin): Promise<string> {
    return addOwner(this.deps, req);
  }
  useOwner(ownerId: string, origin: Origin): Promise<void> {
    return useOwner(this.deps, ownerId, origin);
  }
  listOwners(): Promise<OwnerRecord[]> {
    return listOwners(this.deps);
  }
  getOwner(ownerId: string): Promise<OwnerRecord> {
    return getOwner(this.deps, ownerId);
  }
  activeOwnerId(): Promise<string | undefined> {
    return activeOwnerId(this.deps);
  }
  resolveOwner(explicit: string | undefined): Promise<string> {
    return resolveOwner(this.deps, explicit);
  }

  // wake words per owner, the owner's own thresholds
  wakeSettings(ownerId: string): Promise<OwnerWakeSettings> {
    return wakeSettingsOf(this.deps, ownerId);
  }
  /** WAKEWORD_CLAIMED when another owner has claimed the word. */
  claimWakeword(ownerId: string, word: string, origin: Origin): Promise<ClaimChange> {
    return claimWakeword(this.deps, ownerId, word, origin);
  }
  releaseWakeword(ownerId: string, word: string, origin: Origin): Promise<ClaimChange> {
    return releaseWakeword(this.deps, ownerId, word, origin);
  }
  setWakeThreshold(ownerId: string, word: string, change: WakeThresholdChange, origin: Origin & { via?: string }): Promise<OwnerWakeSettings> {
    return setWakeThreshold(this.deps, ownerId, word, change, origin);
  }
  /** Every owner's claims and thresholds as their keys opened them, and the active owner. */
  wakeClaimsView(): Promise<WakeClaimsView> {
    return wakeClaimsView(this.deps);
  }
  /** What `earshot tune` recommends from: the owner's enrolment, verifier, flagged false wakes and settings (not audited; read only). */
  tuneInputs(ownerId: string, wakeword: string): Promise<TuneInputsOfOwner> {
    return tuneInputs(this.deps, ownerId, wakeword);
  }
  /** Whose a wake of `word` heard now is: the claimer, else the active owner; withheld (an incident) when it cannot be told. */
  routeWake(word: string): Promise<WakeRoute> {
    return routeWake(this.deps, word);
  }

  // capture and upload
  storeCapture(ownerId: string, capture: Capture, opts: { uplink: boolean }): ReturnType<typeof storeCapture> {
    return storeCapture(this.deps, ownerId, capture, opts);
  }
  confirmUpload(recordingId: string, at: number): Promise<void> {
    return confirmUpload(this.deps, recordingId, at);
  }
  checkUpload(entry: { ownerId: string; capturedAt: number }, now: number): Promise<UploadDecision> {
    return checkUpload(this.deps, entry, now);
  }
  uplinkPorts(): { recordings: RecordingReader; gate: UploadGate } {
    return uplinkPorts(this.deps);
  }

  // recordings
  listRecordings(ownerId: string): Promise<RecordingListItem[]> {
    return listRecordings(this.deps, ownerId);
  }
  playRecording(ownerId: string, recordingId: string, origin: Origin, deliver: (rec: Recording) => Promise<void>): Promise<Recording> {
    return playRecording(this.deps, ownerId, recordingId, origin, deliver);
  }
  deleteRecordings(ownerId: string, recordingIds: readonly string[], origin: Origin): Promise<string[]> {
    return deleteRecordings(this.deps, ownerId, recordingIds, origin);
  }
  /**
   * Another owner's recording answers UNKNOWN_RECORDING, like one that never existed. Retrains the owner's verifier
   * for the recording's wake word when there is one (`retrained`).
   */
  flagRecording(ownerId: string, recordingId: string, falseWake: boolean, origin: Origin): Promise<{ retrained: boolean }> {
    return flagRecording(this.deps, ownerId, recordingId, falseWake, origin);
  }

  // household verifiers
  /** Trains and stores the owner's verifier for a wake word from enrolment features (replacing an earlier one). */
  enrolVerifier(req: EnrolRequest & Origin): Promise<VerifierStatus> {
    return enrolVerifier(this.deps, req);
  }
  /** One owner's verifiers, or every owner's. */
  verifierStatus(ownerId?: string): Promise<VerifierStatus[]> {
    return verifierStatus(this.deps, ownerId);
  }
  removeVerifier(ownerId: string, wakeword: string, origin: Origin): Promise<void> {
    return removeVerifier(this.deps, ownerId, wakeword, origin);
  }
  /** The owner's decoded verifier models by wake word, for the detector. */
  verifiersFor(ownerId: string, opts?: { incident?: boolean }): Promise<Record<string, VerifierModel>> {
    return verifiersFor(this.deps, ownerId, opts);
  }

  // consent, local-only, retention
  grantConsent(ownerId: string, purpose: string, origin: Origin & { textVersion?: string }): Promise<ConsentChange> {
    return changeConsent(this.deps, { ownerId, purpose, action: 'grant', ...origin });
  }
  withdrawConsent(ownerId: string, purpose: string, origin: Origin & { textVersion?: string }): Promise<ConsentChange> {
    return changeConsent(this.deps, { ownerId, purpose, action: 'revoke', ...origin });
  }
  consentOf(ownerId: string): Promise<{ ownerId: string; purposes: PurposeStatus[]; history: ConsentEvent[] }> {
    return consentOf(this.deps, ownerId);
  }
  setLocalOnly(ownerId: string, on: boolean, origin: Origin): Promise<LocalOnlyStatus> {
    return setLocalOnly(this.deps, ownerId, on, origin);
  }
  localOnlyStatus(ownerId: string): Promise<LocalOnlyStatus> {
    return localOnlyStatus(this.deps, ownerId);
  }
  setRetention(ownerId: string, days: number, origin: Origin): Promise<void> {
    return setRetention(this.deps, ownerId, days, origin);
  }
  sweepRetention(origin: Origin): Promise<SweepResult[]> {
    return sweepRetention(this.deps, origin);
  }
  privacyInEffect(ownerId?: string): Promise<{ ownerId: string | null; privacy: EffectivePrivacy }> {
    return privacyInEffect(this.deps, ownerId);
  }
  /** What a fleet document is compared with for the active owner (it may only be stricter). */
  async privacyBaseline(): Promise<PrivacyBaseline> {
    const id = await this.activeOwnerId();
    const owner = id === undefined ? undefined : await this.deps.uow.read((tx) => tx.owners.privacy(id));
    return (await this.deps.policy.rules()).baseline(owner);
  }

  // the owner's data as a whole
  exportOwner(opts: ExportOptions & Origin): Promise<ExportResult> {
    return exportOwner(this.deps, opts);
  }
  eraseOwner(ownerId: string, origin: Origin, opts?: Parameters<typeof eraseOwner>[3]): Promise<EraseResult> {
    return eraseOwner(this.deps, ownerId, origin, opts);
  }
  transferDevice(opts: TransferOptions & Origin): ReturnType<typeof transferDevice> {
    return transferDevice(this.deps, opts);
  }
  rotateKeys(origin: Origin): Promise<{ from: string; to: string; owners: number }> {
    return rotateKeys(this.deps, origin);
  }

  // the owner page: pairing, sessions, notices
  createPairing(req: { ownerId: string; codeHash: string; expiresAt: number } & Origin): Promise<void> {
    return createPairing(this.deps, req);
  }
  redeemPairing(codeHash: string, session: { idHash: string; ref: string; browser: string }, origin: Origin): Promise<RedeemResult> {
    return redeemPairing(this.deps, codeHash, session, origin);
  }
  resumeSession(idHash: string, opts?: { touchAt?: number }): Promise<Omit<WebSession, 'browser'> | undefined> {
    return resumeSession(this.deps, idHash, opts);
  }
  listSessions(ownerId?: string): Promise<WebSession[]> {
    return listSessions(this.deps, ownerId);
  }
  endSessions(which: WebSessionSelector, reason: string, origin: Origin): Promise<number> {
    return endSessions(this.deps, which, reason, origin);
  }
  notices(ownerId: string): Promise<NoticeEntry[]> {
    return notices(this.deps, ownerId);
  }
  acknowledgeNotice(ownerId: string, seq: number, origin: Origin): Promise<boolean> {
    return acknowledgeNotice(this.deps, ownerId, seq, origin);
  }
  /** Non-personal device state for one owner: their upload queue, the last fleet outcome, the wake loop. */
  deviceActivity(ownerId: string): Promise<DeviceActivity> {
    return deviceActivity(this.deps, ownerId);
  }

  // the log and the device
  verifyAudit(opts?: AuditVerifyOptions): Promise<AuditVerification> {
    return verifyAudit(this.deps, opts);
  }
  auditLog(opts?: { ownerId?: string; limit?: number }): Promise<AuditEntry[]> {
    return auditLog(this.deps, opts);
  }
  auditHead(): Promise<{ seq: number; head: string }> {
    return this.deps.audit.head();
  }
  recordIncident(detail: IncidentDetail, ownerId?: string, recordingId?: string): Promise<void> {
    return recordIncident(this.deps, detail, ownerId, recordingId);
  }
  stats(): Promise<StoreStats> {
    return this.deps.maintenance.stats();
  }

  // repair
  listQuarantine(): Promise<QuarantinedItem[]> {
    return listQuarantine(this.deps);
  }
  restoreQuarantined(id: string, origin: Origin): Promise<{ restoredTo: string }> {
    return restoreQuarantined(this.deps, id, origin);
  }
  discardQuarantined(id: string, origin: Origin): Promise<QuarantinedItem> {
    return discardQuarantined(this.deps, id, origin);
  }
}
