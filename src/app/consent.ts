/**
 * Consent: grant and withdraw per purpose, and the status computed from the ledger. A withdrawal of
 * cloud-processing empties the owner's upload queue in the same unit of work, and then tells the daemon
 * (`onConsentWithdrawn`) so it drops what its MQTT client still holds.
 */
import type { ConsentEvent } from '../core/index.js';
import { consentDecision, consentStatus, DEFAULT_TEXT_VERSION, type PurposeStatus } from '../privacy/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { withIntegrityIncident } from './incidents.js';
import { requireOwner } from './owners.js';

export interface ConsentChange {
  event: ConsentEvent;
  /** Queued recordings of the owner removed from the outbox by a cloud-processing withdrawal. */
  removedFromOutbox: number;
}

export async function changeConsent(
  deps: AppDeps,
  req: { ownerId: string; purpose: string; action: 'grant' | 'revoke'; textVersion?: string } & Origin,
): Promise<ConsentChange> {
  const event = consentDecision({
    ownerId: req.ownerId,
    purpose: req.purpose,
    action: req.action,
    at: deps.clock.now(),
    source: req.source,
    textVersion: req.textVersion ?? DEFAULT_TEXT_VERSION,
  });
  const removedFromOutbox = await withIntegrityIncident(deps, 'consent-ledger', { ownerId: event.ownerId }, () => deps.uow.run(async (tx) => {
    await requireOwner(tx, event.ownerId);
    await tx.consent.append(event);
    // Withdrawal takes effect before the next publish: what is queued leaves the outbox with the decision.
    const removed = event.action === 'revoke' && event.purpose === 'cloud-processing' ? await tx.outbox.removeOwner(event.ownerId) : 0;
    await tx.audit.append({
      type: 'consent.changed',
      ownerId: event.ownerId,
      detail: { purpose: event.purpose, action: event.action, source: event.source, textVersion: event.textVersion, at: event.at, removedFromOutbox: removed },
    });
    return removed;
  }));
  if (event.action === 'revoke') await deps.onConsentWithdrawn?.(event.ownerId, event.purpose);
  return { event, removedFromOutbox };
}

export function consentOf(deps: AppDeps, ownerId: string): Promise<{ ownerId: string; purposes: PurposeStatus[]; history: ConsentEvent[] }> {
  return withIntegrityIncident(deps, 'consent-ledger', { ownerId }, () =>
    deps.uow.read(async (tx) => {
      await requireOwner(tx, ownerId);
      const history = await tx.consent.history(ownerId);
      return { ownerId, purposes: consentStatus(history, deps.clock.now()), history };
    }),
  );
}
