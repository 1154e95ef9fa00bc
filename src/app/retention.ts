/**
 * Retention: the owner's choice, capped by the fleet (PrivacyPolicy), applied by one sweep for every caller —
 * the daemon's hourly timer and `earshot retention sweep` alike.
 */
import { EarshotError } from '../core/index.js';
import type { RecordingSummary } from '../core/index.js';
import { retentionRule } from '../privacy/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { requireOwner } from './owners.js';
import { learntFrom } from './recordings.js';
import { applyRetrainPlan, inputsChanged, planRetrainWithout, TRAINING_ATTEMPTS } from './verifier-training.js';

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

/**
 * Deletes what every owner's retention in effect no longer allows; one audit entry per owner with deletions. A
 * verifier that learnt from an expiring recording (a flagged false wake) is retrained without it in the same unit.
 */
export async function sweepRetention(deps: AppDeps, origin: Origin): Promise<SweepResult[]> {
  const rules = await deps.policy.rules();
  const owners = await deps.uow.read((tx) => tx.owners.privacyAll());
  const out: SweepResult[] = [];
  for (const owner of owners) {
    const { retentionDays } = rules.inEffect(owner);
    const rule = retentionRule(retentionDays, deps.clock.now());
    const deleted = await sweepOwner(deps, owner.ownerId, rule, retentionDays, origin);
    out.push({ ownerId: owner.ownerId, retentionDays, deleted });
  }
  return out;
}

type Rule = ReturnType<typeof retentionRule>;

function expires(rule: Rule, r: RecordingSummary): boolean {
  return 'uploadedOnly' in rule ? r.uploadedAt !== null : r.createdAt < rule.createdBefore;
}

async function sweepOwner(deps: AppDeps, ownerId: string, rule: Rule, retentionDays: number, origin: Origin): Promise<number> {
  for (let attempt = 0; attempt < TRAINING_ATTEMPTS; attempt++) {
    // Only an owner with a verifier needs to know beforehand what goes (their metadata is opened for it).
    const expiring = await deps.uow.read(async (tx) =>
      (await tx.verifiers.list(ownerId)).length === 0 ? new Set<string>() : new Set((await tx.recordings.summaries(ownerId)).filter((r) => expires(rule, r)).map((r) => r.id)),
    );
    const plan = await planRetrainWithout(deps, ownerId, expiring);
    const deleted = await deps.uow.run(async (tx) => {
      if (!(await applyRetrainPlan(tx, ownerId, plan, expiring))) return undefined;
      const retrainedBy = await learntFrom(tx, ownerId, plan, expiring);
      const ids = await tx.recordings.deleteExpired(ownerId, rule);
      // A recording that expired between the plan and now, which a verifier learnt from: plan again.
      if (ids.some((id) => !expiring.has(id)) && (await tx.verifiers.list(ownerId)).length > 0) throw RETRY;
      if (ids.length > 0) {
        await tx.audit.append({
          type: 'retention.swept',
          ownerId,
          detail: {
            deleted: ids.length,
            // Named, so a start-up repair can tell this deletion from tampering (ids are opaque, not personal).
            recordingIds: ids.join(','),
            retentionDays,
            ...('createdBefore' in rule ? { createdBefore: rule.createdBefore } : { afterUpload: true }),
            source: origin.source,
          },
          ...(retrainedBy.size > 0 ? { personal: { verifiersRetrained: plan.words.length } } : {}),
        });
      }
      return ids.length;
    }).catch((e: unknown) => {
      if (e === RETRY) return undefined;
      throw e;
    });
    if (deleted !== undefined) return deleted;
  }
  throw inputsChanged();
}

/** Rolls a sweep's unit of work back to plan again (never leaves this module). */
const RETRY = Symbol('retry the sweep with a new plan');
