/**
 * Local-only mode: the owner's own choice, which a fleet document may force on (and then the owner cannot turn
 * it off). The owner's choice is stored apart from the fleet's force, so when the fleet stops forcing, the
 * owner's choice is what remains.
 */
import type { AppDeps, Origin } from './app-deps.js';
import { requireOwner } from './owners.js';

export interface LocalOnlyStatus {
  ownerId: string;
  /** What the owner chose. */
  ownerChoice: boolean;
  /** A fleet document forces local-only on. */
  forcedByFleet: boolean;
  /** What is in force: no upload of audio or personal data when true. */
  effective: boolean;
}

export async function localOnlyStatus(deps: AppDeps, ownerId: string): Promise<LocalOnlyStatus> {
  const owner = await deps.uow.read(async (tx) => {
    const o = await requireOwner(tx, ownerId);
    return { ownerId: o.id, localOnly: o.localOnly, retentionDays: o.retentionDays };
  });
  const p = await deps.policy.inEffect(owner);
  return { ownerId, ownerChoice: owner.localOnly, forcedByFleet: p.localOnlyForcedByFleet, effective: p.localOnly };
}

export async function setLocalOnly(deps: AppDeps, ownerId: string, on: boolean, origin: Origin): Promise<LocalOnlyStatus> {
  const rules = await deps.policy.rules();
  return deps.uow.run(async (tx) => {
    const o = await requireOwner(tx, ownerId);
    const p = rules.assertLocalOnlyChange({ ownerId, localOnly: o.localOnly, retentionDays: o.retentionDays }, on);
    if (o.localOnly !== on) {
      await tx.owners.setLocalOnly(ownerId, on);
      await tx.audit.append({ type: 'local-only.changed', ownerId, detail: { on, source: origin.source, forcedByFleet: p.localOnlyForcedByFleet } });
    }
    return { ownerId, ownerChoice: on, forcedByFleet: p.localOnlyForcedByFleet, effective: on || p.localOnlyForcedByFleet };
  });
}
