/**
 * Notices: the incidents that concern an owner (and device-wide ones since the owner was added), shown until
 * the owner acknowledges them; and the device status the owner page shows beside them.
 */
import type { NoticeEntry } from '../core/index.js';
import { readWakeHealth, type WakeHealth } from '../wake-health.js';
import type { AppDeps, Origin } from './app-deps.js';

export function notices(deps: AppDeps, ownerId: string): Promise<NoticeEntry[]> {
  return deps.uow.read((tx) => tx.notices.list(ownerId));
}

/** false (and nothing changed) when `seq` is not one of the owner's notices, or was acknowledged already. */
export function acknowledgeNotice(deps: AppDeps, ownerId: string, seq: number, origin: Origin): Promise<boolean> {
  return deps.uow.run(async (tx) => {
    const [n] = await tx.notices.list(ownerId, { seq, limit: 1 });
    if (!n || n.ackedAt !== null) return false;
    await tx.notices.acknowledge(ownerId, seq, deps.clock.now());
    await tx.audit.append({ type: 'notice.acknowledged', ownerId, detail: { notice: seq, source: origin.source } });
    return true;
  });
}

export interface DeviceActivity {
  /** The owner's recordings waiting for upload (other owners' queue is not counted). */
  queued: number;
  lastFleet: { at: number; type: string; detail: Record<string, unknown> | null } | undefined;
  /** What the daemon last saved about the wake loop (non-personal); undefined when no daemon ever ran. */
  wake: (WakeHealth & { stale: boolean }) | undefined;
}

export function deviceActivity(deps: AppDeps, ownerId: string): Promise<DeviceActivity> {
  return deps.uow.read(async (tx) => ({
    queued: (await tx.outbox.due(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).filter((e) => e.ownerId === ownerId).length,
    lastFleet: await tx.notices.lastFleetOutcome(),
    wake: await readWakeHealth(tx.settings, deps.clock.now()),
  }));
}
