/** Public API of signed fleet configuration. */
export * from './types.js';
export { canonicalJson } from '../core/index.js';
export { generateFleetKeyPair, keyIdOf, loadFleetPrivateKey, loadFleetPublicKey, type FleetKeyPair } from './keys.js';
export {
  authenticateFleetDocument,
  signedMessage,
  signFleetDocument,
  verifyFleetDocument,
  type FleetVerdict,
  type SignOptions,
  type VerifyContext,
} from './document.js';
export { checkFleetConfig, type RuleViolation } from './fleet-config-rules.js';
export { captureBaselineOf, clampCapture, findCaptureLoosening, type CaptureBaseline } from './capture-rules.js';
export { effectiveDeviceConfig, orderDocuments } from './merge.js';
export { effectiveWordThreshold, fleetThresholdFloor, wakeWithOwnerThresholds, type ThresholdChoice } from './owner-thresholds.js';
export { FLEET_WIDE_GROUP, parseTarget, targetForTopic, targetMatchesDevice, targetsForDevice, topicForTarget } from './target.js';
export { loadFleetRecord, readAppliedFleetState, saveFleetRecord, settingsKeyFor, type RestoredFleetState, type StoredFleetRecord } from './applied-store.js';
export { FleetConfigReceiver, type FleetChangeListener, type FleetReceiveResult, type FleetReceiverOptions, type FleetState } from './fleet-config-receiver.js';
export { documentAddress, pubackReason, pushFleetDocument, type PushOptions, type PushResult } from './push.js';
