/**
 * What privacy is in effect, computed in one place for every caller (upload gate, capture queueing, retention
 * sweep, `earshot status`, local-only, the retained status topic, the fleet receiver's baseline).
 *
 * Owner precedence: the strictest of the owner's own choices, the device config and every applied fleet
 * document. Retention is the minimum, local-only forced on wins, uploads and human review can only be switched
 * off. The fleet side is read only in its strict direction (`forceLocalOnly === true`, `uploadsEnabled ===
 * false`, …), so even a value that slipped past verification could never loosen anything.
 */
import type { DeviceConfig } from '../config/index.js';
import { EarshotError } from '../core/index.js';
import type { OwnerPrivacy } from '../core/index.js';
import type { FleetPrivacy, PrivacyBaseline } from '../core/index.js';

/** What the owner chose (OwnerPrivacy without the id). */
export interface OwnerPrivacyChoice {
  localOnly: boolean;
  retentionDays: number;
}

export interface EffectivePrivacy {
  localOnly: boolean;
  /** True when local-only is on because a fleet document forces it (the owner cannot turn it off). */
  localOnlyForcedByFleet: boolean;
  retentionDays: number;
  /** The fleet's retention cap in force, or null. */
  retentionCapDays: number | null;
  uploadsEnabled: boolean;
  humanReview: boolean;
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

export function effectivePrivacy(owner: OwnerPrivacyChoice | undefined, device: DeviceConfig['privacy'], fleet: FleetPrivacy): EffectivePrivacy {
  const base = privacyBaseline(owner, device);
  const forced = fleet.forceLocalOnly === true;
  const cap = typeof fleet.maxRetentionDays === 'number' && Number.isFinite(fleet.maxRetentionDays) ? fleet.maxRetentionDays : null;
  return {
    localOnly: base.localOnly || forced,
    localOnlyForcedByFleet: forced,
    retentionDays: cap === null ? base.retentionDays : Math.min(base.retentionDays, cap),
    retentionCapDays: cap,
    uploadsEnabled: base.uploadsEnabled && fleet.uploadsEnabled !== false,
    humanReview: base.humanReview && fleet.humanReview !== false,
  };
}

/** Where the applied fleet documents' privacy comes from: the daemon's receiver, or the persisted state (CLI). */
export type FleetPrivacySource = () => FleetPrivacy | Promise<FleetPrivacy>;

/** The rules in force at one moment: synchronous, so a unit of work can apply them without another read. */
export class PrivacyRules {
  constructor(
    private readonly device: DeviceConfig['privacy'],
    private readonly fleet: FleetPrivacy,
  ) {}

  /** In effect for an owner (or for the device alone when `owner` is undefined). */
  inEffect(owner: OwnerPrivacyChoice | undefined): EffectivePrivacy {
    return effectivePrivacy(owner, this.device, this.fleet);
  }

  /** What a fleet document is compared with (it may only be stricter). */
  baseline(owner: OwnerPrivacyChoice | undefined): PrivacyBaseline {
    return privacyBaseline(owner, this.device);
  }

  /** The owner may set their own local-only choice, unless it would turn local-only off while the fleet forces it. */
  assertLocalOnlyChange(owner: OwnerPrivacy, on: boolean): EffectivePrivacy {
    const p = this.inEffect(owner);
    if (!on && p.localOnlyForcedByFleet) {
      throw new EarshotError(
        'LOCAL_ONLY',
        'local-only mode is forced on by fleet configuration; it can be turned off only after the fleet stops forcing it',
      );
    }
    return p;
  }
}

/**
 * The one policy every caller asks. `rules()` reads the fleet's state once; take it before a unit of work (the
 * fleet source may read the database, which a unit of work holds).
 */
export class PrivacyPolicy {
  constructor(
    private readonly device: () => DeviceConfig['privacy'],
    private readonly fleet: FleetPrivacySource,
  ) {}

  async rules(): Promise<PrivacyRules> {
    return new PrivacyRules(this.device(), await this.fleet());
  }

  async inEffect(owner: OwnerPrivacyChoice | undefined): Promise<EffectivePrivacy> {
    return (await this.rules()).inEffect(owner);
  }
}
