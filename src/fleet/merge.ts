/**
 * Layering of applied fleet documents, as pure functions. Non-privacy settings layer fleet → groups → device,
 * the more specific document winning; privacy is never layered but tightened by src/privacy's PrivacyPolicy
 * (the one place that computes what is in effect).
 */
import { deepMerge } from '../config/index.js';
import { captureBaselineOf, clampCapture } from './capture-rules.js';
import type { DeviceConfig } from '../config/index.js';
import { effectivePrivacy, mergeFleetPrivacy } from '../privacy/index.js';
import type { AppliedFleetDocument, FleetConfig, FleetTarget } from './types.js';

/** Applied documents in layering order (fleet, then groups in config order, then this device). */
export function orderDocuments(docs: readonly AppliedFleetDocument[], order: readonly FleetTarget[]): AppliedFleetDocument[] {
  return order.flatMap((t) => docs.filter((d) => d.target === t));
}

/**
 * The running configuration: the device config with every applied document's non-privacy settings layered
 * on (arrays such as wake.words replace), wake/capture clamped so they are never more eager than the device's
 * own (capture-rules.ts), and the device-level privacy defaults tightened by the fleet.
 */
export function effectiveDeviceConfig(base: DeviceConfig, orderedDocs: readonly AppliedFleetDocument[]): DeviceConfig {
  let out = structuredClone(base);
  for (const d of orderedDocs) {
    const { privacy: _privacy, ...settings } = d.config satisfies FleetConfig;
    out = deepMerge(out, settings);
  }
  // Belt and braces for documents stored before a stricter device config: capture is never more eager than the device's own.
  const clamped = clampCapture(captureBaselineOf(base), captureBaselineOf(out));
  out.wake = clamped.wake;
  out.capture = clamped.capture;
  const fleet = mergeFleetPrivacy(orderedDocs.map((d) => d.config.privacy));
  const p = effectivePrivacy(undefined, base.privacy, fleet);
  out.privacy = { localOnly: p.localOnly, retentionDays: p.retentionDays, uploadsEnabled: p.uploadsEnabled, humanReview: p.humanReview };
  return out;
}
