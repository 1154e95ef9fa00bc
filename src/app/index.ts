/**
 * Public API of the application layer: one function per thing that happens to personal data, each one unit of
 * work that audits once. The daemon, the CLI and the owner page call these and nothing below them.
 *
 *   const app = new EarshotApp({ uow: store.uow, maintenance: store, audit: store.audit, policy, clock, logger, deviceId, defaults })
 *   await app.storeCapture(ownerAtWake, capture, { uplink: true })
 *   await app.withdrawConsent(ownerId, 'cloud-processing', { source: 'owner-page' })
 */
export { EarshotApp } from './earshot-app.js';
export { OWNER_ID_PATTERN } from './owners.js';
export { MIN_ENROLMENT_CLIPS, MIN_ENROLMENT_PEAK, checkWakeword, type EnrolRequest } from './enrol.js';
export type { VerifierStatus } from './verifiers.js';
export type { AppDeps, Origin } from './app-deps.js';
export type { ConsentChange } from './consent.js';
export type { EraseResult } from './erase.js';
export type { ExportOptions, ExportResult } from './export-owner.js';
export type { IncidentDetail } from './incidents.js';
export type { LocalOnlyStatus } from './local-only.js';
export type { RecordingListItem } from './recordings.js';
export type { SweepResult } from './retention.js';
export type { TransferOptions } from './transfer.js';
export type { ClaimChange, WakeThresholdChange } from './wake-settings.js';
export { checkWakewordName } from './wake-settings.js';
export type { TuneInputsOfOwner } from './tune-inputs.js';
export type { DeviceActivity } from './notices.js';
export type { RedeemResult } from './web-sessions.js';
