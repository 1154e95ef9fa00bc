/**
 * The upload gate, asked immediately before every publish (and when a capture is stored, to decide whether it
 * is queued). Nothing is cached between calls: a withdrawal, a local-only toggle or a fleet document takes
 * effect at the next check. Allowed only if local-only is off (owner and fleet), uploads are enabled (device
 * and fleet), and consent for cloud-processing is active now AND was active when the recording was captured.
 */
import type { OwnerPrivacy, UploadDecision } from '../core/index.js';
import type { ConsentEvent } from '../core/index.js';
import { consentActiveAt } from './consent-history.js';
import type { PrivacyRules } from './privacy-policy.js';

/** The decision for one owner's recording, from what was read for it (undefined owner = unknown or erased). */
export function uploadDecision(
  rules: PrivacyRules,
  owner: OwnerPrivacy | undefined,
  cloudConsent: readonly ConsentEvent[],
  capturedAt: number,
  now: number,
): UploadDecision {
  // An erased or transferred owner's leftovers must never be sent.
  if (!owner) return { allowed: false, reason: 'unknown-owner' };
  const p = rules.inEffect(owner);
  if (p.localOnly) return { allowed: false, reason: 'local-only' };
  if (!p.uploadsEnabled) return { allowed: false, reason: 'uploads-disabled' };
  if (!consentActiveAt(cloudConsent, now)) return { allowed: false, reason: 'no-consent' };
  if (!consentActiveAt(cloudConsent, capturedAt)) return { allowed: false, reason: 'consent-not-active-at-capture' };
  return { allowed: true };
}
