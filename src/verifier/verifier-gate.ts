/**
 * The gate a new verifier is trained with, per owner and word, from their enrolment alone (issue 13 §6): the
 * detector consults the verifier only where the base score reaches the gate, so for a voice the base model
 * does not hear in noise (some pink-noise copy of an enrolment clip peaks below the default gate) the verifier
 * is never asked. For such an owner and word the gate is LOW_VERIFIER_GATE; for every other the default.
 *
 * Chosen on the corpus's tuning voices only (scripts/verifier-defaults-corpus.mjs --configs, README "Measured
 * with the verifier"): over 26 enrolled (voice, word) pairs, own-voice misses 13 → 7 of 312 and near-miss fires
 * 62 → 66 with no general false accept, where gate 0.01 for every pair gave the same 7 misses at 78 near-miss
 * fires; 9 of the 26 pairs had a copy below 0.1. The enrolment windows are kept from the same gate.
 */
import { DEFAULT_VERIFIER_GATE } from './train-verifier.js';

/** The gate for an owner and word whose noisy enrolment copies the base model does not hear. */
export const LOW_VERIFIER_GATE = 0.01;

/**
 * `peaks`: the peak base score of every pink-noise copy of every enrolment clip (none when enrolment made no
 * copies). A copy below the default gate means the verifier would not be consulted on that voice in that noise.
 */
export function enrolmentGate(noisyCopyPeaks: readonly number[]): number {
  return noisyCopyPeaks.some((p) => !(p >= DEFAULT_VERIFIER_GATE)) ? LOW_VERIFIER_GATE : DEFAULT_VERIFIER_GATE;
}
