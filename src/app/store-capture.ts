/**
 * A finished capture becomes a recording of the owner decided at wake time: sealed under their key, audited,
 * and queued for upload only if the gate allows it at that moment (consent active, local-only off) — in one
 * unit of work, so a recording is never stored without its audit entry, nor queued without being stored.
 */
import type { RecordingSummary } from '../core/index.js';
import { isEarshotError } from '../core/index.js';
import type { ConsentEvent } from '../core/index.js';
import type { Capture } from '../core/index.js';
import { uploadDecision } from '../privacy/index.js';
import type { AppDeps } from './app-deps.js';
import { recordIncident } from './incidents.js';

export async function storeCapture(
  deps: AppDeps,
  ownerId: string,
  capture: Capture,
  opts: { uplink: boolean },
): Promise<{ recording: RecordingSummary; queued: boolean }> {
  // Read before the unit of work (the fleet source may read the database), and only when it can matter.
  const rules = opts.uplink ? await deps.policy.rules() : undefined;
  let unverifiable: string | undefined;
  const out = await deps.uow.run(async (tx) => {
    const recording = await tx.recordings.insert(ownerId, capture);
    await tx.audit.append({ type: 'recording.created', ownerId, recordingId: capture.id, detail: { durationMs: recording.durationMs, source: 'daemon' } });
    let queued = false;
    if (rules) {
      const owner = await tx.owners.privacy(ownerId);
      let consent: ConsentEvent[] = [];
      try {
        consent = await tx.consent.history(ownerId, 'cloud-processing');
      } catch (e) {
        // A ledger that does not verify grants nothing; the recording is still kept.
        if (!isEarshotError(e, 'INTEGRITY')) throw e;
        unverifiable = e.message;
      }
      queued = uploadDecision(rules, owner, consent, capture.startedAt, deps.clock.now()).allowed;
      if (queued) await tx.outbox.enqueue({ recordingId: capture.id, ownerId, capturedAt: capture.startedAt, enqueuedAt: deps.clock.now() });
    }
    return { recording, queued };
  });
  if (unverifiable !== undefined) await recordIncident(deps, { kind: 'integrity', what: 'consent-ledger', reason: unverifiable }, ownerId);
  return out;
}
