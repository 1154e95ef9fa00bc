/**
 * What `earshot tune` computes a recommendation from, for one owner and word: their enrolment (peak scores and
 * feature windows, room background), their verifier, the wake features of their recordings of that word flagged
 * as false wakes, and their current wake settings — all opened with their key. Reading is not audited (like the
 * verifier status); applying the result is (`setWakeThreshold`, via 'tune'). Nothing here leaves the device.
 */
import { EarshotError } from '../core/index.js';
import type { OwnerWakeSettings, VerifierEnrolment } from '../core/index.js';
import type { VerifierModel } from '../verifier/index.js';
import type { AppDeps } from './app-deps.js';
import { withIntegrityIncident } from './incidents.js';
import { requireOwner } from './owners.js';
import { falseWakesOf } from './verifier-training.js';
import { verifiersFor } from './verifiers.js';
import { checkWakewordName } from './wake-settings.js';

export interface TuneInputsOfOwner {
  ownerId: string;
  wakeword: string;
  /** The owner's enrolment for the word (undefined: they have not enrolled it). */
  enrolment: VerifierEnrolment | undefined;
  /** Their verifier for the word, decoded (undefined: none). */
  verifier: VerifierModel | undefined;
  /** Wake features of their recordings of the word flagged as false wakes. */
  falseWakes: Float32Array[];
  settings: OwnerWakeSettings;
}

export async function tuneInputs(deps: AppDeps, ownerId: string, wakeword: string): Promise<TuneInputsOfOwner> {
  checkWakewordName(wakeword);
  const read = await withIntegrityIncident(deps, 'tune-inputs', { ownerId }, () =>
    deps.uow.read(async (tx) => {
      await requireOwner(tx, ownerId);
      return {
        enrolment: await tx.verifiers.enrolment(ownerId, wakeword),
        falseWakes: (await falseWakesOf(tx, ownerId, wakeword)).features,
        settings: await tx.owners.wakeSettings(ownerId),
      };
    }),
  );
  const verifier = (await verifiersFor(deps, ownerId))[wakeword];
  if (read.enrolment !== undefined && read.enrolment.clips.length === 0) throw new EarshotError('INTEGRITY', `the enrolment of owner ${ownerId} for ${wakeword} holds no clips`);
  return { ownerId, wakeword, ...read, verifier };
}
