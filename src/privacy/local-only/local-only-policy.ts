/**
 * Local-only mode: the owner toggles it; a fleet document may force it on; while the fleet forces it, the
 * owner cannot turn it off (LOCAL_ONLY). The owner's own choice is stored separately from the fleet's force,
 * so when the fleet stops forcing, the owner's choice is what remains.
 */
import { EarshotError } from '../../core/errors.js';
import type { OwnerPrivacyRepo } from '../../core/ports.js';
import type { AuditSink } from '../../core/privacy-types.js';

export interface LocalOnlyStatus {
  ownerId: string;
  /** What the owner chose. */
  ownerChoice: boolean;
  /** A fleet document forces local-only on. */
  forcedByFleet: boolean;
  /** What is in force: no upload of audio or personal data when true. */
  effective: boolean;
}

export interface LocalOnlyPolicyDeps {
  owners: OwnerPrivacyRepo;
  /**
   * Where to audit `local-only.changed`. Omit it when the OwnerPrivacyRepo audits the change itself in the
   * same transaction (the SQLite store's OwnerRepo.setLocalOnly does), so the change is audited exactly once.
   */
  audit?: AuditSink;
  /** Whether applied fleet config forces local-only (FleetConfigReceiver state, or readAppliedFleetState in the CLI). */
  fleetForcesLocalOnly: () => boolean | Promise<boolean>;
}

export class LocalOnlyPolicy {
  constructor(private readonly deps: LocalOnlyPolicyDeps) {}

  async status(ownerId: string): Promise<LocalOnlyStatus> {
    const { localOnly } = await this.deps.owners.getPrivacy(ownerId);
    const forcedByFleet = await this.deps.fleetForcesLocalOnly();
    return { ownerId, ownerChoice: localOnly, forcedByFleet, effective: localOnly || forcedByFleet };
  }

  async set(ownerId: string, on: boolean, source = 'owner-cli'): Promise<LocalOnlyStatus> {
    const before = await this.status(ownerId);
    if (!on && before.forcedByFleet) {
      throw new EarshotError(
        'LOCAL_ONLY',
        'local-only mode is forced on by fleet configuration; it can be turned off only after the fleet stops forcing it',
      );
    }
    if (before.ownerChoice !== on) {
      await this.deps.owners.setLocalOnly(ownerId, on, source);
      await this.deps.audit?.append({ type: 'local-only.changed', ownerId, detail: { on, source, forcedByFleet: before.forcedByFleet } });
    }
    return { ...before, ownerChoice: on, effective: on || before.forcedByFleet };
  }
}
