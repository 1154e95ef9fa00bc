/**
 * Partial-phrase copies of an enrolment clip (issue 13 §6): the clip cut after the first part of its phrase
 * ("hey jar…", "hey my…"), followed by the clip's own background. A verifier that has learnt the owner's voice
 * otherwise accepts that voice's near misses; these copies teach it that the owner saying part of the word is not
 * the word. Pure: a copy is a new array, nothing is kept.
 *
 * The phrase is found the way the noisy copies measure its level (src/wakeword/pink-noise.ts): the 20 ms blocks
 * within 20 dB of the loudest block are voiced; the span runs from the first to the last of them. Only blocks that
 * end by `before` count (enrolment passes the base score's peak): a clip that goes on talking after the wake word
 * ("hey jarvis, what's the weather") must not have its whole phrase, the word included, learnt as a part of it.
 * On the corpus's enrolment clips the peak comes 100–500 ms after the phrase, so the span is the same either way.
 */
import { EarshotError } from '../core/index.js';

/** 20 ms at 16 kHz. */
const BLOCK = 320;
/** A block is voiced when its power is within 20 dB (×100) of the loudest block's. */
const VOICED_RANGE = 100;
/** A short fade-out at the cut and fade-in of the appended background (5 ms), so the splice adds no click. */
const FADE = 80;

export interface VoicedSpan {
  /** First sample of the first voiced block. */
  start: number;
  /** One past the last sample of the last voiced block. */
  end: number;
}

/** The clip's voiced span among the blocks that end by `before` (default: the whole clip); undefined for silence or a clip shorter than one block. */
export function voicedSpan(pcm16: Int16Array, before = pcm16.length): VoicedSpan | undefined {
  const powers: number[] = [];
  for (let i = 0; i + BLOCK <= Math.min(before, pcm16.length); i += BLOCK) {
    let p = 0;
    for (let j = i; j < i + BLOCK; j++) p += pcm16[j]! * pcm16[j]!;
    powers.push(p / BLOCK);
  }
  const max = powers.reduce((m, p) => Math.max(m, p), 0);
  if (max === 0) return undefined;
  const first = powers.findIndex((p) => p >= max / VOICED_RANGE);
  let last = first;
  powers.forEach((p, i) => {
    if (p >= max / VOICED_RANGE) last = i;
  });
  return { start: first * BLOCK, end: (last + 1) * BLOCK };
}

export interface TruncatedPhrase {
  pcm: Int16Array;
  /** The sample at which the phrase was cut (the background starts here). */
  cut: number;
}

/**
 * The clip up to `fraction` of its voiced span, then its own background: the samples before the voiced span
 * (the room as the clip recorded it), as many as the clip had after the cut, so the copy is as long as the clip.
 * The phrase is looked for in the blocks ending by `before` (see voicedSpan). undefined when the clip has no voiced
 * span or no background before it to append.
 */
export function truncatedPhrase(pcm16: Int16Array, fraction: number, before = pcm16.length): TruncatedPhrase | undefined {
  if (!(fraction > 0 && fraction < 1)) throw new EarshotError('BAD_ARGUMENT', `a partial-phrase fraction must be in (0, 1) (got ${fraction})`);
  const span = voicedSpan(pcm16, before);
  if (span === undefined || span.start < BLOCK) return undefined;
  const cut = span.start + Math.round(fraction * (span.end - span.start));
  const out = new Int16Array(pcm16.length);
  out.set(pcm16.subarray(0, cut));
  for (let i = 0; i < FADE && cut - 1 - i >= 0; i++) out[cut - 1 - i] = Math.round((pcm16[cut - 1 - i]! * i) / FADE);
  // The background before the phrase, repeated if the part after the cut is longer than it.
  const bg = pcm16.subarray(0, span.start);
  for (let i = cut, k = 0; i < out.length; i++, k = (k + 1) % bg.length) {
    const gain = i - cut < FADE ? (i - cut) / FADE : 1;
    out[i] = Math.round(bg[k]! * gain);
  }
  return { pcm: out, cut };
}
