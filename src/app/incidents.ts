/**
 * Integrity incidents: whatever fails to open or verify while an operation reads personal data is recorded in
 * the audit log (its own unit of work, so the failed operation's rollback does not take the record with it).
 */
import { errorMessage, isEarshotError } from '../core/index.js';
import type { AppDeps } from './app-deps.js';

export type IncidentDetail = Record<string, string | number | boolean | null>;

export async function recordIncident(deps: AppDeps, detail: IncidentDetail, ownerId?: string, recordingId?: string): Promise<void> {
  try {
    await deps.uow.run((tx) =>
      tx.audit.append({
        type: 'incident',
        ...(ownerId !== undefined ? { ownerId } : {}),
        ...(recordingId !== undefined ? { recordingId } : {}),
        detail,
      }),
    );
  } catch (e) {
    deps.logger.error('could not record an incident in the audit log', { error: errorMessage(e), kind: detail['kind'] ?? null });
  }
}

/** Runs `fn`; an INTEGRITY failure is recorded as an incident (for `ownerId`, about `recordingId`) and rethrown. */
export async function withIntegrityIncident<T>(
  deps: AppDeps,
  what: string,
  ids: { ownerId?: string; recordingId?: string },
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isEarshotError(e, 'INTEGRITY')) await recordIncident(deps, { kind: 'integrity', what, reason: e.message }, ids.ownerId, ids.recordingId);
    throw e;
  }
}
