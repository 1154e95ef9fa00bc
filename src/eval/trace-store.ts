/**
 * Scores clips under a setup and keeps the traces on disk, so each clip is scored once per setup and model
 * set; every threshold is then judged on the traces. The cache is one JSON file per (directory, scoring key)
 * under DIR/.earshot-traces/, written atomically (temporary file + rename) every few clips, so a killed run
 * resumes where it stopped. A cached trace is used only while the WAV's size and mtime are unchanged.
 *
 * A setup with verifiers is scored only where a verifier can matter: the rule replaces a word's score only on
 * a warm frame whose base score reaches the verifier's gate, so a clip whose unverified trace (same phases and
 * quiet gate) never gets there has exactly that trace — most general audio. Only the other clips are scored
 * again with the verifiers.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readWavFile } from '../audio/index.js';
import { EarshotError, errorMessage } from '../core/index.js';
import { findModel, modelOfKind, type ModelManifest } from '../models/index.js';
import { NOISE_FLOOR_DEFAULTS, WakeDetector, type LoadedWakeModels } from '../wakeword/index.js';
import { scoringKey, thresholdOf, type EvalSetup } from './eval-setup.js';
import { FRAME_MS, type ScoreTrace } from './score-trace.js';

export const TRACE_DIR = '.earshot-traces';
const CACHE_VERSION = 1;
const SAVE_EVERY = 25;

interface CachedClip {
  bytes: number;
  mtimeMs: number;
  frames: number;
  /** Per word: Float32 scores and warm flags (one byte per frame), base64. */
  scores: Record<string, string>;
  warm: Record<string, string>;
}
interface CacheFile {
  version: number;
  key: unknown;
  clips: Record<string, CachedClip>;
}

export interface ClipTraces {
  /** Audio length (ms). */
  durationMs: number;
  /** Per word. */
  traces: Record<string, ScoreTrace>;
}

export interface TraceStoreOptions {
  dir: string;
  setup: EvalSetup;
  words: string[];
  manifest: ModelManifest;
  models: LoadedWakeModels;
  /** false: score everything again and write nothing. */
  cache?: boolean;
  /**
   * With verifiers: the same clips' traces under the setup without verifiers (same order). A clip on which no
   * verifier would be consulted takes its trace from here instead of being scored.
   */
  unverified?: readonly ClipTraces[];
  /** `reused`: clips taken from the unverified traces so far. */
  onProgress?: (done: number, total: number, audioMs: number, reused: number) => void;
  signal?: AbortSignal;
}

function keyOf(o: TraceStoreOptions): { key: unknown; file: string } {
  const models = [modelOfKind(o.manifest, 'mel'), modelOfKind(o.manifest, 'embedding-stream'), ...o.words.map((w) => findModel(o.manifest, w, 'wakeword'))];
  // The mel front end's form too: traces scored with the ONNX mel (before its FFT form) are not reused.
  const key = { ...scoringKey(o.setup), words: o.words, models: models.map((m) => m.sha256), mel: o.models.features.mel.kind };
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return { key, file: join(o.dir, TRACE_DIR, `${hash}.json`) };
}

async function loadCache(file: string, key: unknown): Promise<CacheFile> {
  const empty: CacheFile = { version: CACHE_VERSION, key, clips: {} };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw new EarshotError('BAD_ARGUMENT', `cannot read the trace cache ${file}: ${errorMessage(e)}`);
  }
  try {
    const doc = JSON.parse(text) as CacheFile;
    // A cache of another version or key (a hash collision, a hand edit) is not trusted: score again.
    if (doc.version !== CACHE_VERSION || JSON.stringify(doc.key) !== JSON.stringify(key) || typeof doc.clips !== 'object') return empty;
    return doc;
  } catch {
    return empty; // A torn or garbled cache costs a rescore, never a wrong number.
  }
}

async function saveCache(file: string, doc: CacheFile): Promise<void> {
  try {
    await mkdir(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(doc));
    await rename(tmp, file);
  } catch (e) {
    throw new EarshotError('STORE_IO', `cannot write the trace cache ${file}: ${errorMessage(e)} (use --no-cache)`);
  }
}

function toTrace(scores: Float32Array, warm: Uint8Array): ScoreTrace {
  const endMs = new Float64Array(scores.length);
  for (let i = 0; i < endMs.length; i++) endMs[i] = (i + 1) * FRAME_MS;
  return { endMs, scores, eligible: Array.from(warm, (x) => x === 1) };
}

function decode(c: CachedClip, words: string[]): Record<string, ScoreTrace> | undefined {
  const out: Record<string, ScoreTrace> = {};
  for (const w of words) {
    const s = c.scores[w];
    const k = c.warm[w];
    if (s === undefined || k === undefined) return undefined;
    const sb = Buffer.from(s, 'base64');
    const kb = Buffer.from(k, 'base64');
    if (sb.length !== c.frames * 4 || kb.length !== c.frames) return undefined;
    out[w] = toTrace(new Float32Array(sb.buffer.slice(sb.byteOffset, sb.byteOffset + sb.length)), new Uint8Array(kb));
  }
  return out;
}

/** Would any verifier be consulted on this clip? Only on a warm frame at or above its word's gate. */
export function consultsVerifier(clip: ClipTraces, verifiers: EvalSetup['verifiers']): boolean {
  for (const [word, v] of Object.entries(verifiers ?? {})) {
    const t = clip.traces[word];
    if (t === undefined) return true; // not scored for this word: cannot tell, so score it
    for (let i = 0; i < t.scores.length; i++) {
      if (t.scores[i]! >= v.gate && (t.eligible === undefined || t.eligible[i] === true)) return true;
    }
  }
  return false;
}

/** Traces of every clip (relative paths under o.dir), in order. */
export async function traceClips(files: readonly string[], o: TraceStoreOptions): Promise<ClipTraces[]> {
  const { key, file: cacheFile } = keyOf(o);
  const useCache = o.cache !== false;
  const cache = useCache ? await loadCache(cacheFile, key) : { version: CACHE_VERSION, key, clips: {} };
  const verifiers = o.setup.verifiers && Object.keys(o.setup.verifiers).length > 0 ? o.setup.verifiers : undefined;
  if (o.unverified !== undefined && o.unverified.length !== files.length) {
    throw new EarshotError('INTERNAL', `${o.unverified.length} unverified traces for ${files.length} clips`);
  }
  const detector = await WakeDetector.create({
    // The thresholds do not change the scores; they are given so that each verifier's gate is checked against them.
    words: o.words.map((name) => ({ name, threshold: thresholdOf(o.setup, name) })),
    phases: o.setup.phases,
    quietRms: o.setup.quietRms,
    // Explicitly off when the setup has none (the detector's default would otherwise apply).
    secondLook: o.setup.secondLook ?? null,
    noiseSuppressionDb: o.setup.noiseSuppressionDb,
    ...(o.setup.noiseFloorRms !== undefined ? { noiseFloor: { engageRms: o.setup.noiseFloorRms, releaseRms: Math.min(NOISE_FLOOR_DEFAULTS.releaseRms, o.setup.noiseFloorRms || 1) } } : {}),
    manifest: o.manifest,
    models: o.models,
    ...(verifiers ? { verifiers } : {}),
  });
  const out: ClipTraces[] = [];
  let dirty = 0;
  let audioMs = 0;
  let reused = 0;
  for (let i = 0; i < files.length; i++) {
    if (o.signal?.aborted) throw new EarshotError('BAD_ARGUMENT', 'evaluation interrupted');
    const rel = files[i]!;
    const base = verifiers && o.unverified ? o.unverified[i]! : undefined;
    if (base !== undefined && !consultsVerifier(base, verifiers)) {
      out.push(base);
      reused++;
      audioMs += base.durationMs;
      o.onProgress?.(i + 1, files.length, audioMs, reused);
      continue;
    }
    const path = join(o.dir, rel);
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      throw new EarshotError('AUDIO_FILE', `cannot read ${path}: ${errorMessage(e)}`);
    }
    const hit = cache.clips[rel];
    const cached = hit && hit.bytes === st.size && hit.mtimeMs === st.mtimeMs ? decode(hit, o.words) : undefined;
    if (cached) {
      out.push({ durationMs: hit!.frames * FRAME_MS, traces: cached });
    } else {
      const wav = await readWavFile(path);
      const n = Math.floor(wav.pcm16k.length / 1280);
      const scores = o.words.map(() => new Float32Array(n));
      const warm = o.words.map(() => new Uint8Array(n));
      let frame = 0;
      detector.reset();
      await detector.push(wav.pcm16k, (f) => {
        if (f.endMs !== (frame + 1) * FRAME_MS) throw new EarshotError('INTERNAL', `frame ${frame} of ${path} ends at ${f.endMs} ms`);
        for (let w = 0; w < o.words.length; w++) {
          scores[w]![frame] = f.scores[w]!;
          warm[w]![frame] = f.warm[w] ? 1 : 0;
        }
        frame++;
      });
      if (frame !== n) throw new EarshotError('INTERNAL', `${path}: ${frame} frames scored, ${n} expected`);
      const traces: Record<string, ScoreTrace> = {};
      const entry: CachedClip = { bytes: st.size, mtimeMs: st.mtimeMs, frames: n, scores: {}, warm: {} };
      o.words.forEach((w, k) => {
        traces[w] = toTrace(scores[k]!, warm[k]!);
        entry.scores[w] = Buffer.from(scores[k]!.buffer).toString('base64');
        entry.warm[w] = Buffer.from(warm[k]!.buffer).toString('base64');
      });
      out.push({ durationMs: n * FRAME_MS, traces });
      if (useCache) {
        cache.clips[rel] = entry;
        if (++dirty >= SAVE_EVERY) {
          await saveCache(cacheFile, cache);
          dirty = 0;
        }
      }
    }
    audioMs += out[out.length - 1]!.durationMs;
    o.onProgress?.(i + 1, files.length, audioMs, reused);
  }
  if (useCache && dirty > 0) await saveCache(cacheFile, cache);
  return out;
}
