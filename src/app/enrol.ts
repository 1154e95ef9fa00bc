/**
 * Enrolment: an owner's verifier for one wake word, trained on the device from the embedding features of a few
 * clips of them saying it (features in, never audio), against their flagged false wakes, the room background, the
 * partial-phrase windows of their own clips and the shipped generic negatives; sealed under their key and
 * stored, replacing an earlier one for that word. One unit of work, audited once (the word sealed in the entry's
 * personal part).
 */
import { EarshotError, WAKEWORD_NAME_PATTERN } from '../core/index.js';
import type { EnrolmentClip, VerifierEnrolment } from '../core/index.js';
import type { AppDeps, Origin } from './app-deps.js';
import { withIntegrityIncident } from './incidents.js';
import { requireOwner } from './owners.js';
import { falseWakesOf, inputsChanged, sameIds, train, TRAINING_ATTEMPTS } from './verifier-training.js';
import { toStatus, type VerifierStatus } from './verifiers.js';

/** openWakeWord's custom verifier asks for at least 3 clips per speaker; fewer cannot be cross-validated usefully. */
export const MIN_ENROLMENT_CLIPS = 3;
/**
 * A clip whose peak base score stays below this does not contain the wake word as the base model hears it (and a
 * verifier only ever runs above its gate, well below this): it is refused rather than learned as "the word".
 */
export const MIN_ENROLMENT_PEAK = 0.25;
export interface EnrolRequest {
  ownerId: string;
  wakeword: string;
  /**
   * One per clip, in the order given: its peak base score, the feature windows around the peak and, optionally,
   * the negative windows of its partial-phrase copies (src/wakeword featuresOfPartialPhrases).
   */
  clips: EnrolmentClip[];
  /** Feature windows of the room's background (optional). */
  background?: Float32Array[];
  /** The word's threshold on this device (the verifier's cross-validated score is measured at it; default 0.5). */
  threshold?: number;
  /**
   * The base score from which the detector consults the verifier (src/verifier enrolmentGate; default
   * DEFAULT_VERIFIER_GATE). Stored in the model, and kept by every retrain.
   */
  gate?: number;
}

export function checkWakeword(wakeword: string): void {
  if (typeof wakeword !== 'string' || !WAKEWORD_NAME_PATTERN.test(wakeword)) {
    throw new EarshotError('BAD_ARGUMENT', `wake word ${JSON.stringify(wakeword)} is not a model name (a-z, 0-9, _; earshot models list shows them)`, {
      details: { field: '--wakeword' },
    });
  }
}

function checkEnrolment(req: EnrolRequest): VerifierEnrolment {
  checkWakeword(req.wakeword);
  if (req.clips.length < MIN_ENROLMENT_CLIPS) {
    throw new EarshotError('BAD_ARGUMENT', `enrolment needs at least ${MIN_ENROLMENT_CLIPS} clips of the wake word (got ${req.clips.length})`);
  }
  req.clips.forEach((c, i) => {
    if (!Number.isFinite(c.peakScore) || c.peakScore < MIN_ENROLMENT_PEAK) {
      throw new EarshotError('BAD_ARGUMENT', `clip ${i + 1} does not contain ${req.wakeword}: its peak score ${Number(c.peakScore).toFixed(2)} is below ${MIN_ENROLMENT_PEAK}`, {
        details: { clip: i },
      });
    }
    if (c.windows.length === 0) throw new EarshotError('BAD_ARGUMENT', `clip ${i + 1} gave no feature windows (too short?)`, { details: { clip: i } });
  });
  return {
    clips: req.clips.map((c) => ({ peakScore: c.peakScore, windows: c.windows, ...(c.partialPhrases !== undefined && c.partialPhrases.length > 0 ? { partialPhrases: c.partialPhrases } : {}) })),
    background: req.background ?? [],
  };
}

export async function enrolVerifier(deps: AppDeps, req: EnrolRequest & Origin): Promise<VerifierStatus> {
  const enrolment = checkEnrolment(req);
  const { ownerId, wakeword } = req;
  return withIntegrityIncident(deps, 'verifier-enrolment', { ownerId }, async () => {
    for (let attempt = 0; attempt < TRAINING_ATTEMPTS; attempt++) {
      const flagged = await deps.uow.read(async (tx) => {
        await requireOwner(tx, ownerId);
        return falseWakesOf(tx, ownerId, wakeword);
      });
      const trained = await train(deps, wakeword, { enrolment, falseWakeIds: flagged.ids, falseWakes: flagged.features }, { ...(req.threshold !== undefined ? { threshold: req.threshold } : {}), ...(req.gate !== undefined ? { gate: req.gate } : {}) });
      const stored = await deps.uow.run(async (tx) => {
        await requireOwner(tx, ownerId);
        // Another process flagged or unflagged one of this word's recordings while training ran: train again.
        if (!sameIds((await falseWakesOf(tx, ownerId, wakeword)).ids, flagged.ids)) return undefined;
        const replaced = (await tx.verifiers.list(ownerId)).some((v) => v.wakeword === wakeword);
        await tx.verifiers.put(ownerId, trained);
        await tx.audit.append({
          type: 'verifier.enrolled',
          ownerId,
          detail: { clips: trained.clips, backgroundWindows: enrolment.background.length, partialPhraseWindows: enrolment.clips.reduce((n, c) => n + (c.partialPhrases?.length ?? 0), 0), falseWakes: trained.falseWakes, replaced, source: req.source },
          personal: { wakeword, cvRecall: trained.cvRecall },
        });
        return (await tx.verifiers.list(ownerId)).find((v) => v.wakeword === wakeword)!;
      });
      if (stored) return toStatus(stored);
    }
    throw inputsChanged();
  });
}
