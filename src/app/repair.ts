/** `earshot repair`: what start-up moved to quarantine instead of deleting, restored or discarded on request. */
import type { QuarantinedItem } from '../core/index.js';
import type { AppDeps, Origin } from './app-deps.js';

export function listQuarantine(deps: AppDeps): Promise<QuarantinedItem[]> {
  return deps.maintenance.quarantined();
}

export async function restoreQuarantined(deps: AppDeps, id: string, origin: Origin): Promise<{ restoredTo: string }> {
  const r = await deps.maintenance.restoreQuarantined(id);
  await deps.uow.run((tx) => tx.audit.append({ type: 'quarantine.restored', detail: { item: id, source: origin.source } }));
  return r;
}

export async function discardQuarantined(deps: AppDeps, id: string, origin: Origin): Promise<QuarantinedItem> {
  const item = await deps.maintenance.discardQuarantined(id);
  await deps.uow.run((tx) =>
    tx.audit.append({ type: 'quarantine.discarded', ...(item.recordingId ? { recordingId: item.recordingId } : {}), detail: { item: id, what: item.kind, source: origin.source } }),
  );
  return item;
}
