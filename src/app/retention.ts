/**
 * Retention: the owner's choice, capped by the fleet (PrivacyPolicy), applied by one sweep for every caller —
 * the daemon's hourly timer and `earshot retention sweep` alike.
 */
import { EarshotError } from '../core/index.js';
import { retentionRule } from '../privacy/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { requireOwner } from './owners.js';

export function checkRetentionDays(days: number): void {
  if (!Number.isInteger(days) || days < 0 || days > 36_500) {
    throw new EarshotError('BAD_ARGUMENT', `retention must be a whole number of days between 0 and 36500 (got ${days})`);
  }
}

export function setRetention(deps: AppDeps, ownerId: string, days: number, origin: Origin): Promise<void> {
  checkRetentionDays(days);
  return deps.uow.run(async (tx) => {
    await requireOwner(tx, ownerId);
    await tx.owners.setRetentionDays(ownerId, days);
    await tx.audit.append({ type: 'retention.changed', ownerId, detail: { retentionDays: days, source: origin.source } });
  });
}

export interface SweepResult {
  ownerId: string;
  /** The retention applied: the owner's choice capped by the fleet. */
  retentionDays: number;
  deleted: number;
}

/** Deletes what every owner's retention in effect no longer allows; one audit entry per owner with deletions. */
export async function sweepRetention(deps: AppDeps, origin: Origin): Promise<SweepResult[]> {
  const rules = await deps.policy.rules();
  const owners = await deps.uow.read((tx) => tx.owners.privacyAll());
  const out: SweepResult[] = [];
  for (const owner of owners) {
    const { retentionDays } = rules.inEffect(owner);
    const rule = retentionRule(retentionDays, deps.clock.now());
    const deleted = await deps.uow.run(async (tx) => {
      const ids = await tx.recordings.deleteExpired(owner.ownerId, rule);
      if (ids.length > 0) {
        await tx.audit.append({
          type: 'retention.swept',
          ownerId: owner.ownerId,
          detail: {
            deleted: ids.length,
            // Named, so a start-up repair can tell this deletion from tampering (ids are opaque, not personal).
            recordingIds: ids.join(','),
            retentionDays,
            ...('createdBefore' in rule ? { createdBefore: rule.createdBefore } : { afterUpload: true }),
            source: origin.source,
          },
        });
      }
      return ids.length;
    });
    out.push({ ownerId: owner.ownerId, retentionDays, deleted });
  }
  return out;
}
