/**
 * Per-frame scores of a whole clip (detect command, tests, measurements). Uses a fresh stream state, so the
 * result depends only on the clip and the options.
 */
import type { ModelManifest } from '../models/index.js';
import { loadWakeModels, resolveManifest } from './wake-detector.js';
import { WakeScorer, type WakeScorerOptions } from './wake-scorer.js';

export interface ClipScores {
  words: string[];
  /** One entry per complete 80 ms frame. */
  frames: { endMs: number; scores: number[]; warm: boolean[]; gated: boolean[] }[];
}

/** Runs `pcm` through `scorer` from its current state and collects every frame. */
export async function collectScores(scorer: WakeScorer, pcm: Int16Array, chunkSamples = pcm.length): Promise<ClipScores> {
  const frames: ClipScores['frames'] = [];
  const onFrame = (f: { endMs: number; scores: Float32Array; warm: boolean[]; gated: boolean[] }): void => {
    frames.push({ endMs: f.endMs, scores: Array.from(f.scores), warm: [...f.warm], gated: [...f.gated] });
  };
  for (let pos = 0; pos < pcm.length; pos += chunkSamples) await scorer.feed(pcm.subarray(pos, pos + chunkSamples), onFrame);
  return { words: scorer.words, frames };
}

/** Loads models, scores the clip with a fresh scorer. */
export async function scoreClip(
  pcm: Int16Array,
  opts: { words: string[]; manifest?: ModelManifest | string } & WakeScorerOptions,
): Promise<ClipScores> {
  const manifest = await resolveManifest(opts.manifest);
  const models = await loadWakeModels(manifest, opts.words, opts.phases ?? 1);
  const scorer = await WakeScorer.create(models.features, models.classifiers, {
    ...(opts.phases !== undefined ? { phases: opts.phases } : {}),
    ...(opts.quietRms !== undefined ? { quietRms: opts.quietRms } : {}),
  });
  return collectScores(scorer, pcm);
}
