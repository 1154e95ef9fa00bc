/**
 * Public API of the privacy rules: pure policy over what the owner's key opened. Who may have what, may it
 * leave, for how long. The operations that apply these rules are src/app's.
 */
export { consentActiveAt, decisionAt } from './consent-history.js';
export { checkSource, consentDecision, consentStatus, DEFAULT_SOURCE, DEFAULT_TEXT_VERSION, SOURCE_PATTERN, type PurposeStatus } from './consent-rules.js';
export { uploadDecision } from './consent-gate.js';
export {
  effectivePrivacy,
  mergeFleetPrivacy,
  privacyBaseline,
  PrivacyPolicy,
  PrivacyRules,
  type EffectivePrivacy,
  type FleetPrivacySource,
  type OwnerPrivacyChoice,
} from './privacy-policy.js';
export { DAY_MS, retentionRule, type RetentionRule } from './retention-policy.js';
export { decryptBundleFile, EncryptingSink, readPassphraseFile } from './export/bundle-cipher.js';
export { TarWriter, type ByteSink } from './export/tar-writer.js';
export { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportManifest, type ManifestRecording } from './export/manifest.js';
export { BundleFile, exportFormatFor, type ExportFormat } from './export/bundle-file.js';
export { claimerOf, ownerForWake, settingsOwnerFor, type WakeClaimsView, type WakeRoute } from './wake-routing.js';
