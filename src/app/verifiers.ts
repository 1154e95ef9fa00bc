/**
 * An owner's verifiers besides enrolment: the status (`earshot enroll status`), removal, and the decoded models
 * the detector applies (the daemon for the owner a word routes to, `earshot detect --owner`). Reading is not
 * audited (like listing recordings); removal is, once, with the word sealed.
 */
import { EarshotError, errorMessage } from '../core/index.js';
import type { StoredVerifier } from '../core/index.js';
import { decodeVerifierModel, type VerifierModel } from '../verifier/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { withIntegrityIncident } from './incidents.js';
import { requireOwner } from './owners.js';

/** A verifier as `enroll status` shows it: everything stored but the model's bytes. */
export type VerifierStatus = Omit<StoredVerifier, 'model'>;

export function toStatus(v: StoredVerifier): VerifierStatus {
  const { model: _model, ...status } = v;
  return status;
}

/** One owner's verifiers, or every owner's (oldest owner first, then by word). */
export function verifierStatus(deps: AppDeps, ownerId?: string): Promise<VerifierStatus[]> {
  return withIntegrityIncident(deps, 'verifier', ownerId !== undefined ? { ownerId } : {}, () =>
    deps.uow.read(async (tx) => {
      const owners = ownerId !== undefined ? [(await requireOwner(tx, ownerId)).id] : (await tx.owners.list()).map((o) => o.id);
      const out: VerifierStatus[] = [];
      for (const id of owners) out.push(...(await tx.verifiers.list(id)).map(toStatus));
      return out;
    }),
  );
}

export function removeVerifier(deps: AppDeps, ownerId: string, wakeword: string, origin: Origin): Promise<void> {
  return deps.uow.run(async (tx) => {
    await requireOwner(tx, ownerId);
    if (!(await tx.verifiers.remove(ownerId, wakeword))) {
      throw new EarshotError('UNKNOWN_VERIFIER', `owner ${ownerId} has no verifier for ${wakeword} (earshot enroll status shows them)`);
    }
    await tx.audit.append({ type: 'verifier.removed', ownerId, detail: { source: origin.source }, personal: { wakeword } });
  });
}

/**
 * The owner's verifier models by wake word, decoded and validated, for the detector. An unknown (e.g. just erased)
 * owner has none. A model that does not open or decode is an integrity incident and is thrown, never skipped: a
 * verifier silently missing would change what the speaker wakes on. With `incident: false` the caller records
 * the incident itself (the daemon, which looks again at every audit entry, records each failure once).
 */
export function verifiersFor(deps: AppDeps, ownerId: string, opts: { incident?: boolean } = {}): Promise<Record<string, VerifierModel>> {
  const read = async () => {
    const stored = await deps.uow.read((tx) => tx.verifiers.list(ownerId));
    const out: Record<string, VerifierModel> = {};
    for (const v of stored) {
      let m: VerifierModel;
      try {
        m = decodeVerifierModel(v.model);
      } catch (e) {
        // It opened under the owner's key, so it is what was stored: a model this code cannot read is damage, not input.
        throw new EarshotError('INTEGRITY', `a verifier model of owner ${ownerId} does not decode: ${errorMessage(e)}`, { cause: e });
      }
      if (m.wakeword !== v.wakeword) throw new EarshotError('INTEGRITY', `the verifier stored for one of owner ${ownerId}'s words holds a model for another`);
      out[v.wakeword] = m;
    }
    return out;
  };
  return opts.incident === false ? read() : withIntegrityIncident(deps, 'verifier', { ownerId }, read);
}
