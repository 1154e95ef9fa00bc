/**
 * Per-owner wake thresholds under the fleet's floor, as pure functions beside the layering (merge.ts).
 *
 * An owner's own threshold for a word (their sealed settings, e.g. from `earshot tune --apply`) replaces the
 * running config's for that word — raising or lowering sensitivity is the owner's choice — but never goes below
 * what the applied fleet documents set: effective = max(owner's choice, fleet floor). A word nobody chose for
 * keeps the running config's threshold (the device config with the documents layered and clamped, as today).
 *
 * The floor of a word is what the documents alone give it, layered in order like every other setting (a later,
 * more specific document's wake.threshold or its wake.words list replaces an earlier one's): the word's own
 * threshold in the last words list that names it, else the last wake.threshold, else 0 (no floor).
 */
import type { DeviceConfig, WakeWordConfig } from '../config/index.js';
import type { AppliedFleetDocument } from './types.js';

/** The threshold the fleet's documents (in layering order) set for each word; 0 where they set none. */
export function fleetThresholdFloor(orderedDocs: readonly AppliedFleetDocument[]): (word: string) => number {
  let threshold: number | undefined;
  let words: readonly { name: string; threshold?: number }[] | undefined;
  for (const d of orderedDocs) {
    const w = d.config.wake;
    if (typeof w?.threshold === 'number') threshold = w.threshold;
    if (Array.isArray(w?.words)) words = w.words;
  }
  return (word) => {
    const own = words?.find((x) => x.name === word)?.threshold;
    return typeof own === 'number' ? own : (threshold ?? 0);
  };
}

/** What the owner a word routes to chose for it (undefined: nobody chose; the running config applies). */
export type ThresholdChoice = (word: string) => number | undefined;

/** The threshold in effect for one word of the running config. */
export function effectiveWordThreshold(live: DeviceConfig['wake'], word: WakeWordConfig, choice: number | undefined, floor: number): number {
  const running = word.threshold ?? live.threshold;
  return choice === undefined ? running : Math.max(choice, floor);
}

/**
 * The wake section the detector runs with: the running config's, each word at the threshold of the owner it
 * routes to (their choice, never below the fleet's floor), other words unchanged.
 */
export function wakeWithOwnerThresholds(
  live: DeviceConfig['wake'],
  orderedDocs: readonly AppliedFleetDocument[],
  choiceFor: ThresholdChoice,
): DeviceConfig['wake'] {
  const floor = fleetThresholdFloor(orderedDocs);
  const words = live.words.map((w): WakeWordConfig => {
    const choice = choiceFor(w.name);
    if (choice === undefined) return { ...w };
    return { name: w.name, threshold: effectiveWordThreshold(live, w, choice, floor(w.name)) };
  });
  return { ...structuredClone(live), words };
}
