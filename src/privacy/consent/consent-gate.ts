/**
 * The upload gate, asked immediately before every publish. Nothing is cached between calls: a withdrawal,
 * a local-only toggle or a fleet document takes effect at the next check.
 * Allowed only if: local-only is off (owner and fleet), uploads are enabled (device and fleet), and consent
 * for cloud-processing is active now AND was active when the recording was captured.
 */
import { isEarshotError } from '../../core/errors.js';
import type { ConsentLedgerRepo, OwnerPrivacyRepo, UploadDecision, UploadGate } from '../../core/ports.js';
import type { DeviceConfig } from '../../config/types.js';
import { effectivePrivacy } from '../../fleet/merge.js';
import type { FleetPrivacy } from '../../fleet/types.js';
import { consentActiveAt } from './consent-history.js';

export interface ConsentGateDeps {
  consent: ConsentLedgerRepo;
  owners: OwnerPrivacyRepo;
  /** Device-level privacy (config.privacy); a function so a reloaded config is seen. */
  devicePrivacy: () => DeviceConfig['privacy'];
  /** Strictest privacy of the applied fleet documents (FleetConfigReceiver.state().privacy). */
  fleetPrivacy: () => FleetPrivacy;
}

export class ConsentGate implements UploadGate {
  constructor(private readonly deps: ConsentGateDeps) {}

  async check(entry: { ownerId: string; capturedAt: number }, now: number): Promise<UploadDecision> {
    let owner;
    try {
      owner = await this.deps.owners.getPrivacy(entry.ownerId);
    } catch (e) {
      // An erased or transferred owner's leftovers must never be sent.
      if (isEarshotError(e, 'UNKNOWN_OWNER')) return { allowed: false, reason: 'unknown-owner' };
      throw e;
    }
    const p = effectivePrivacy(owner, this.deps.devicePrivacy(), this.deps.fleetPrivacy());
    if (p.localOnly) return { allowed: false, reason: 'local-only' };
    if (!p.uploadsEnabled) return { allowed: false, reason: 'uploads-disabled' };
    const history = await this.deps.consent.history(entry.ownerId, 'cloud-processing');
    if (!consentActiveAt(history, now)) return { allowed: false, reason: 'no-consent' };
    if (!consentActiveAt(history, entry.capturedAt)) return { allowed: false, reason: 'consent-not-active-at-capture' };
    return { allowed: true };
  }
}
