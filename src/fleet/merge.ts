/**
 * Owner precedence, as pure functions. Privacy merges to the strictest of owner, device config and every
 * applied fleet document: retention is the minimum, local-only forced on wins, uploads and human review can
 * only be switched off, consent is not a field here at all. The fleet side is read only in its strict
 * direction (`forceLocalOnly === true`, `uploadsEnabled === false`, …), so even a value that slipped past
 * verification could never loosen anything.
 * Non-privacy settings layer fleet → groups → device, the more specific document winning.
 */
import { deepMerge } from '../config/safe-json.js';
import { captureBaselineOf, clampCapture } from './capture-rules.js';
import type { DeviceConfig } from '../config/types.js';
import type { AppliedFleetDocument, FleetConfig, FleetPrivacy, FleetTarget, PrivacyBaseline } from './types.js';

/** What the owner chose (src/core/ports OwnerPrivacy without the id). */
export interface OwnerPrivacyChoice {
  localOnly: boolean;
  retentionDays: number;
}

export interface EffectivePrivacy {
  localOnly: boolean;
  /** True when local-only is on because a fleet document forces it (the owner cannot turn it off). */
  localOnlyForcedByFleet: boolean;
  retentionDays: number;
  uploadsEnabled: boolean;
  humanReview: boolean;
}

/** The strictest combination of several fleet documents' privacy sections. */
export function mergeFleetPrivacy(sections: readonly (FleetPrivacy | undefined)[]): FleetPrivacy {
  const out: FleetPrivacy = {};
  for (const s of sections) {
    if (!s) continue;
    if (s.forceLocalOnly === true) out.forceLocalOnly = true;
    if (typeof s.maxRetentionDays === 'number' && Number.isFinite(s.maxRetentionDays)) {
      out.maxRetentionDays = Math.min(out.maxRetentionDays ?? Infinity, s.maxRetentionDays);
    }
    if (s.uploadsEnabled === false) out.uploadsEnabled = false;
    if (s.humanReview === false) out.humanReview = false;
  }
  return out;
}

/** Owner choices over device defaults, before any fleet document. */
export function privacyBaseline(owner: OwnerPrivacyChoice | undefined, device: DeviceConfig['privacy']): PrivacyBaseline {
  return {
    localOnly: owner?.localOnly ?? device.localOnly,
    retentionDays: owner?.retentionDays ?? device.retentionDays,
    uploadsEnabled: device.uploadsEnabled,
    humanReview: device.humanReview,
  };
}

export function effectivePrivacy(
  owner: OwnerPrivacyChoice | undefined,
  device: DeviceConfig['privacy'],
  fleet: FleetPrivacy,
): EffectivePrivacy {
  const base = privacyBaseline(owner, device);
  const forced = fleet.forceLocalOnly === true;
  const cap = typeof fleet.maxRetentionDays === 'number' && Number.isFinite(fleet.maxRetentionDays) ? fleet.maxRetentionDays : Infinity;
  return {
    localOnly: base.localOnly || forced,
    localOnlyForcedByFleet: forced,
    retentionDays: Math.min(base.retentionDays, cap),
    uploadsEnabled: base.uploadsEnabled && fleet.uploadsEnabled !== false,
    humanReview: base.humanReview && fleet.humanReview !== false,
  };
}

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
