/**
 * Near-miss readout for `earshot run --log-near-misses`: when a word's score rises above half its threshold
 * without reaching it, one report per episode (the episode's peak score and its audio time) once the score
 * falls back below half. Only the word, the score and the time: never audio, never features.
 */
export interface NearMiss {
  wakeword: string;
  /** The episode's highest score (≥ threshold / 2, < threshold). */
  score: number;
  /** Audio time of the peak frame's end (ms since the detector started). */
  atMs: number;
}

interface Episode {
  peak: number;
  atMs: number;
  reached: boolean;
}

export class NearMissWatch {
  private readonly open: (Episode | undefined)[];

  constructor(
    private readonly words: readonly { name: string; threshold: number }[],
    private readonly report: (n: NearMiss) => void,
  ) {
    this.open = words.map(() => undefined);
  }

  /** One frame's scores, in the detector's word order. */
  onFrame(frame: { endMs: number; scores: ArrayLike<number> }): void {
    for (let w = 0; w < this.words.length; w++) {
      const { name, threshold } = this.words[w]!;
      const score = frame.scores[w] ?? 0;
      const ep = this.open[w];
      if (score >= threshold / 2) {
        if (!ep) this.open[w] = { peak: score, atMs: frame.endMs, reached: score >= threshold };
        else {
          if (score > ep.peak) {
            ep.peak = score;
            ep.atMs = frame.endMs;
          }
          if (score >= threshold) ep.reached = true;
        }
      } else if (ep) {
        this.open[w] = undefined;
        // An episode that reached the threshold is a detection (or refractory), not a near miss.
        if (!ep.reached) this.report({ wakeword: name, score: ep.peak, atMs: ep.atMs });
      }
    }
  }
}
