/**
 * Reads an evaluation directory: its index.json (written by scripts/make-eval-corpus.mjs, or by hand) or, when
 * there is none, every WAV under it (positives: a detection anywhere in the clip is the hit; negatives:
 * general audio). Errors name the file and the field.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { EarshotError, errorMessage } from '../core/index.js';
import type { NegativeClip, PositiveClip } from './labelled-clip.js';

export const INDEX_FILE = 'index.json';

export type VoiceSplit = 'all' | 'held-out' | 'tuning';

interface RawEntry {
  [key: string]: unknown;
}

async function readIndex(dir: string): Promise<RawEntry[] | undefined> {
  const file = join(dir, INDEX_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EarshotError('BAD_ARGUMENT', `cannot read ${file}: ${errorMessage(e)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new EarshotError('BAD_ARGUMENT', `${file} is not valid JSON: ${errorMessage(e)}`);
  }
  const clips = (doc as { clips?: unknown } | null)?.clips;
  if (!Array.isArray(clips)) throw new EarshotError('BAD_ARGUMENT', `${file}: expected an object with a "clips" array`);
  clips.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || typeof (c as RawEntry)['file'] !== 'string') {
      throw new EarshotError('BAD_ARGUMENT', `${file}: clips[${i}].file must be a string`);
    }
    const f = (c as RawEntry)['file'] as string;
    // An index may only point inside its own directory.
    if (relative(dir, resolve(dir, f)).startsWith('..') || f.includes('\0')) {
      throw new EarshotError('BAD_ARGUMENT', `${file}: clips[${i}].file points outside ${dir}`);
    }
  });
  return clips as RawEntry[];
}

async function wavFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (e) {
    throw new EarshotError('BAD_ARGUMENT', `cannot read the directory ${dir}: ${errorMessage(e)}`);
  }
  return entries
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.wav') && !e.parentPath.split(sep).some((p) => p.startsWith('.')))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const optNumber = (file: string, i: number, e: RawEntry, key: string): number | undefined => {
  const v = e[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new EarshotError('BAD_ARGUMENT', `${file}: clips[${i}].${key} must be a number ≥ 0`);
  return v;
};
const optString = (e: RawEntry, key: string): string | undefined => (typeof e[key] === 'string' ? (e[key] as string) : undefined);

function inSplit(heldOut: boolean | undefined, split: VoiceSplit): boolean {
  if (split === 'all' || heldOut === undefined) return true;
  return split === 'held-out' ? heldOut : !heldOut;
}

/** Positive clips of `words` under `dir` (index entries of other words are left out). */
export async function readPositives(dir: string, words: readonly string[], split: VoiceSplit = 'all'): Promise<PositiveClip[]> {
  const index = await readIndex(dir);
  if (!index) {
    if (words.length !== 1) throw new EarshotError('BAD_ARGUMENT', `${dir} has no ${INDEX_FILE}: its clips can only be positives of one --wakeword`);
    return (await wavFiles(dir)).map((file) => ({ file, word: words[0]! }));
  }
  const file = join(dir, INDEX_FILE);
  const out: PositiveClip[] = [];
  index.forEach((e, i) => {
    const word = optString(e, 'word');
    if (word === undefined) throw new EarshotError('BAD_ARGUMENT', `${file}: clips[${i}].word must be a string`);
    if (!words.includes(word)) return;
    const heldOut = typeof e['heldOut'] === 'boolean' ? (e['heldOut'] as boolean) : undefined;
    if (!inSplit(heldOut, split)) return;
    const start = optNumber(file, i, e, 'phraseStartMs');
    const end = optNumber(file, i, e, 'phraseEndMs');
    if (start !== undefined && end !== undefined && end < start) throw new EarshotError('BAD_ARGUMENT', `${file}: clips[${i}] ends before it starts`);
    const clip: PositiveClip = { file: e['file'] as string, word };
    if (start !== undefined) clip.phraseStartMs = start;
    if (end !== undefined) clip.phraseEndMs = end;
    const voiceId = optString(e, 'voiceId');
    if (voiceId !== undefined) clip.voiceId = voiceId;
    const noise = optString(e, 'noise');
    if (noise !== undefined) clip.noise = noise;
    if (heldOut !== undefined) clip.heldOut = heldOut;
    out.push(clip);
  });
  return out;
}

/** Negative clips under `dir`; `durationMs` is filled in from the audio when the index does not give it (0 here). */
export async function readNegatives(dir: string, split: VoiceSplit = 'all'): Promise<NegativeClip[]> {
  const index = await readIndex(dir);
  if (!index) return (await wavFiles(dir)).map((file) => ({ file, kind: 'general', durationMs: 0 }));
  const file = join(dir, INDEX_FILE);
  const out: NegativeClip[] = [];
  index.forEach((e, i) => {
    const heldOut = typeof e['heldOut'] === 'boolean' ? (e['heldOut'] as boolean) : undefined;
    if (!inSplit(heldOut, split)) return;
    const clip: NegativeClip = { file: e['file'] as string, kind: e['kind'] === 'nearmiss' ? 'nearmiss' : 'general', durationMs: optNumber(file, i, e, 'durationMs') ?? 0 };
    const near = optString(e, 'near');
    if (near !== undefined) clip.near = near;
    const voiceId = optString(e, 'voiceId');
    if (voiceId !== undefined) clip.voiceId = voiceId;
    if (heldOut !== undefined) clip.heldOut = heldOut;
    out.push(clip);
  });
  return out;
}
