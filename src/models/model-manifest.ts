/**
 * models/manifest.json: every ONNX model Earshot loads is pinned here by SHA-256, with its origin, licence and
 * input/output names. Loading goes manifest entry → resolved file → hash check → bytes; only verified bytes are
 * ever handed to ONNX Runtime (src/wakeword/OnnxSessions.ts), so a swapped or truncated model never runs.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EarshotError, errorMessage } from '../core/index.js';

/**
 * `embedding-stream` is the streaming form of the `embedding` window model, derived from it (see derivedFrom);
 * `embedding-phases` a streaming form that yields several phases' embeddings per step (derivedFrom.phases);
 * `wakeword-batched` a wake-word classifier's form with a dynamic batch (all phases in one call), derived from it.
 * `verifier-negatives` is not a model but a pinned data file: the generic negative windows the household
 * verifier trains against (src/verifier), made by a committed script (see madeWith).
 */
export type ModelKind = 'mel' | 'embedding' | 'embedding-stream' | 'embedding-phases' | 'wakeword' | 'wakeword-batched' | 'vad' | 'verifier-negatives';

export type ModelSource =
  /** A file inside an installed npm package (path relative to the package root). */
  | { type: 'npm'; package: string; version: string; path: string }
  /** A user-supplied file; path relative to the manifest's folder (models/). */
  | { type: 'local'; path: string };

export interface TensorInfo {
  name: string;
  shape: (number | string)[];
}

/** Provenance of a model generated from another pinned model. */
export interface DerivedFrom {
  /** Name of the source entry in the same manifest. */
  model: string;
  /** The source's SHA-256 (must equal that entry's pin). */
  sha256: string;
  /** The generator (a file of this repository) and its version; same source + same version → same bytes. */
  generator: string;
  generatorVersion: string;
  /** The generator's phase count for an `embedding-phases` model (one embedding per phase per step). */
  phases?: number;
}

/**
 * Provenance of a pinned data file made by a script from the pinned models (e.g. the verifier's negatives):
 * the script, its version and the SHA-256 of every model it ran. A model listed here must be pinned with
 * that hash, so changing a feature model invalidates the manifest until the file is made again.
 */
export interface MadeWith {
  script: string;
  scriptVersion: string;
  models: Record<string, string>;
}

export interface ModelEntry {
  /** Name used in config and on the command line, e.g. "hey_jarvis". */
  name: string;
  kind: ModelKind;
  /** File name, for messages. */
  file: string;
  source: ModelSource;
  sha256: string;
  bytes?: number;
  licence: string;
  licenceNote?: string;
  derivedFrom?: DerivedFrom;
  madeWith?: MadeWith;
  /** Empty for a data file (kind verifier-negatives). */
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export interface ModelManifest {
  manifestVersion: 1;
  models: ModelEntry[];
  /** Folder of the manifest file; local sources resolve against it. */
  dir: string;
}

/** Project root: src/wakeword and dist/wakeword are both two levels below it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_MANIFEST = path.join(PROJECT_ROOT, 'models', 'manifest.json');

const KINDS: readonly ModelKind[] = ['mel', 'embedding', 'embedding-stream', 'embedding-phases', 'wakeword', 'wakeword-batched', 'vad', 'verifier-negatives'];
/** Kinds that are pinned data files, not ONNX models: no tensors. */
const DATA_KINDS: readonly ModelKind[] = ['verifier-negatives'];
const SHA256_RE = /^[0-9a-f]{64}$/;

function invalid(file: string, where: string, problem: string): EarshotError {
  return new EarshotError('MODEL_MANIFEST_INVALID', `${file}: ${where}: ${problem}`, { details: { file, where } });
}

function checkTensors(file: string, where: string, v: unknown, data = false): TensorInfo[] {
  if (data && v === undefined) return [];
  if (!Array.isArray(v) || (v.length === 0 && !data)) throw invalid(file, where, 'must be a non-empty array of { name, shape }');
  return v.map((t, i) => {
    const o = t as Partial<TensorInfo>;
    if (typeof o?.name !== 'string' || !Array.isArray(o.shape)) throw invalid(file, `${where}/${i}`, 'needs name and shape');
    return { name: o.name, shape: o.shape };
  });
}

/** Validates a parsed manifest document; errors point at the offending entry and field. */
export function parseManifest(doc: unknown, file: string): ModelManifest {
  const d = doc as { manifestVersion?: unknown; models?: unknown };
  if (typeof d !== 'object' || d === null) throw invalid(file, '/', 'not a JSON object');
  if (d.manifestVersion !== 1) throw invalid(file, '/manifestVersion', 'must be 1');
  if (!Array.isArray(d.models)) throw invalid(file, '/models', 'must be an array');
  const seen = new Set<string>();
  const models = d.models.map((raw, i): ModelEntry => {
    const m = raw as Record<string, unknown>;
    const at = `/models/${i}`;
    if (typeof m['name'] !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(m['name'])) throw invalid(file, `${at}/name`, 'must be a simple name');
    if (seen.has(m['name'])) throw invalid(file, `${at}/name`, `duplicate model name '${m['name']}'`);
    seen.add(m['name']);
    if (!KINDS.includes(m['kind'] as ModelKind)) throw invalid(file, `${at}/kind`, `must be one of ${KINDS.join(', ')}`);
    if (typeof m['sha256'] !== 'string' || !SHA256_RE.test(m['sha256'])) throw invalid(file, `${at}/sha256`, 'must be 64 lowercase hex digits');
    if (typeof m['licence'] !== 'string' || m['licence'] === '') throw invalid(file, `${at}/licence`, 'is required');
    const s = m['source'] as Record<string, unknown> | undefined;
    let source: ModelSource;
    if (s?.['type'] === 'npm' && typeof s['package'] === 'string' && typeof s['version'] === 'string' && typeof s['path'] === 'string') {
      source = { type: 'npm', package: s['package'], version: s['version'], path: s['path'] };
    } else if (s?.['type'] === 'local' && typeof s['path'] === 'string') {
      const p = s['path'];
      // A local model lives inside models/: no absolute paths, no escaping upwards.
      if (path.isAbsolute(p) || p.split(/[\\/]/).includes('..')) throw invalid(file, `${at}/source/path`, 'must be relative to the models folder');
      source = { type: 'local', path: p };
    } else {
      throw invalid(file, `${at}/source`, 'must be { type: "npm", package, version, path } or { type: "local", path }');
    }
    let derivedFrom: DerivedFrom | undefined;
    if (m['derivedFrom'] !== undefined) {
      const d = m['derivedFrom'] as Record<string, unknown> | null;
      for (const k of ['model', 'sha256', 'generator', 'generatorVersion'] as const) {
        if (typeof d?.[k] !== 'string' || d[k] === '') throw invalid(file, `${at}/derivedFrom/${k}`, 'is required (a string)');
      }
      if (!SHA256_RE.test(d!['sha256'] as string)) throw invalid(file, `${at}/derivedFrom/sha256`, 'must be 64 lowercase hex digits');
      const phases = d!['phases'];
      if (phases !== undefined && !(Number.isInteger(phases) && (phases as number) >= 1)) throw invalid(file, `${at}/derivedFrom/phases`, 'must be a positive integer');
      if ((m['kind'] === 'embedding-phases') !== (phases !== undefined)) throw invalid(file, `${at}/derivedFrom/phases`, 'is required for an embedding-phases model and only for it');
      derivedFrom = {
        model: d!['model'] as string,
        sha256: d!['sha256'] as string,
        generator: d!['generator'] as string,
        generatorVersion: d!['generatorVersion'] as string,
        ...(phases !== undefined ? { phases: phases as number } : {}),
      };
    }
    let madeWith: MadeWith | undefined;
    if (m['madeWith'] !== undefined) {
      const w = m['madeWith'] as Record<string, unknown> | null;
      for (const k of ['script', 'scriptVersion'] as const) {
        if (typeof w?.[k] !== 'string' || w[k] === '') throw invalid(file, `${at}/madeWith/${k}`, 'is required (a string)');
      }
      const ms = w!['models'];
      if (typeof ms !== 'object' || ms === null || Array.isArray(ms)) throw invalid(file, `${at}/madeWith/models`, 'must map model names to their sha256');
      for (const [k, h] of Object.entries(ms)) {
        if (typeof h !== 'string' || !SHA256_RE.test(h)) throw invalid(file, `${at}/madeWith/models/${k}`, 'must be 64 lowercase hex digits');
      }
      madeWith = { script: w!['script'] as string, scriptVersion: w!['scriptVersion'] as string, models: { ...(ms as Record<string, string>) } };
    }
    const data = DATA_KINDS.includes(m['kind'] as ModelKind);
    return {
      name: m['name'],
      kind: m['kind'] as ModelKind,
      file: typeof m['file'] === 'string' ? m['file'] : path.basename(source.path),
      source,
      sha256: m['sha256'],
      ...(typeof m['bytes'] === 'number' ? { bytes: m['bytes'] } : {}),
      licence: m['licence'],
      ...(typeof m['licenceNote'] === 'string' ? { licenceNote: m['licenceNote'] } : {}),
      ...(derivedFrom ? { derivedFrom } : {}),
      ...(madeWith ? { madeWith } : {}),
      inputs: checkTensors(file, `${at}/inputs`, m['inputs'], data),
      outputs: checkTensors(file, `${at}/outputs`, m['outputs'], data),
    };
  });
  // A derived model's provenance must point at a pinned source with the same hash: otherwise the pin of the
  // derived file would vouch for bytes made from something else.
  models.forEach((m, i) => {
    if (!m.derivedFrom) return;
    const src = models.find((x) => x.name === m.derivedFrom!.model);
    if (!src || src.derivedFrom) throw invalid(file, `/models/${i}/derivedFrom/model`, `must name a pinned source model (got '${m.derivedFrom.model}')`);
    if (src.sha256 !== m.derivedFrom.sha256) throw invalid(file, `/models/${i}/derivedFrom/sha256`, `does not match the pinned sha256 of '${src.name}'`);
  });
  models.forEach((m, i) => {
    for (const [name, sha] of Object.entries(m.madeWith?.models ?? {})) {
      const src = models.find((x) => x.name === name);
      if (!src || src.sha256 !== sha) {
        throw invalid(file, `/models/${i}/madeWith/models/${name}`, src ? `does not match the pinned sha256 of '${name}': make ${m.file} again (${m.madeWith!.script})` : `names no pinned model`);
      }
    }
  });
  return { manifestVersion: 1, models, dir: path.dirname(file) };
}

export async function loadManifest(file: string = DEFAULT_MANIFEST): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new EarshotError('MODEL_MANIFEST_INVALID', `cannot read model manifest ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalid(file, '/', `not valid JSON (${errorMessage(e)})`);
  }
  return parseManifest(doc, file);
}

export function findModel(manifest: ModelManifest, name: string, kind?: ModelKind): ModelEntry {
  const m = manifest.models.find((x) => x.name === name && (kind === undefined || x.kind === kind));
  if (!m) {
    const known = manifest.models.filter((x) => kind === undefined || x.kind === kind).map((x) => x.name);
    throw new EarshotError('MODEL_MISSING', `no ${kind ?? ''} model named '${name}' in the manifest (known: ${known.join(', ')})`.replace('  ', ' '), {
      details: { name },
    });
  }
  return m;
}

/** The single model of a kind (mel, embedding, vad). */
export function modelOfKind(manifest: ModelManifest, kind: Exclude<ModelKind, 'wakeword' | 'wakeword-batched'>): ModelEntry {
  const m = manifest.models.find((x) => x.kind === kind);
  if (!m) throw new EarshotError('MODEL_MISSING', `the model manifest has no '${kind}' model`, { details: { kind } });
  return m;
}

/** Absolute path of a model's file. npm sources resolve through Node's package resolution from the project. */
export function resolveModelPath(manifest: ModelManifest, entry: ModelEntry): string {
  if (entry.source.type === 'local') return path.join(manifest.dir, entry.source.path);
  const req = createRequire(path.join(manifest.dir, 'package.json'));
  let pkgJson: string;
  try {
    pkgJson = req.resolve(`${entry.source.package}/package.json`, { paths: [manifest.dir, PROJECT_ROOT] });
  } catch (e) {
    throw new EarshotError('MODEL_MISSING', `model ${entry.file}: npm package ${entry.source.package} is not installed (run npm install)`, {
      cause: e,
      details: { file: entry.file },
    });
  }
  return path.join(path.dirname(pkgJson), entry.source.path);
}

export interface VerifiedModel {
  entry: ModelEntry;
  path: string;
  /** The verified bytes: sessions are created from these, never by re-reading the file. */
  bytes: Uint8Array;
}

/** Reads a model and checks its SHA-256 against the manifest. Missing → MODEL_MISSING; any difference → MODEL_HASH_MISMATCH. */
export async function readVerifiedModel(manifest: ModelManifest, entry: ModelEntry): Promise<VerifiedModel> {
  const file = resolveModelPath(manifest, entry);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new EarshotError('MODEL_MISSING', `model file ${file} (${entry.name}) cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: e,
      details: { file, model: entry.name },
    });
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== entry.sha256) {
    const size = entry.bytes !== undefined && entry.bytes !== bytes.length ? ` (${bytes.length} bytes, manifest says ${entry.bytes})` : '';
    throw new EarshotError(
      'MODEL_HASH_MISMATCH',
      `model file ${file} (${entry.name}) does not match the manifest${size}: expected sha256 ${entry.sha256}, got ${actual}`,
      { details: { file, model: entry.name, expected: entry.sha256, actual } },
    );
  }
  return { entry, path: file, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

export interface VerifyResult {
  name: string;
  kind: ModelKind;
  file: string;
  ok: boolean;
  /** For a derived model: regenerating it from its pinned source gave the pinned hash. */
  regenerated?: boolean;
  code?: string;
  message?: string;
}

/**
 * Checks every entry (for `earshot models verify`); never throws for a single bad model. A derived model is
 * also regenerated from its verified source, and must give its pinned hash again.
 */
export async function verifyAll(
  manifest: ModelManifest,
  opts: {
    /** Regenerates a derived model from its verified source and checks the pinned hash (the wake-word side's generator). */
    verifyDerived?: (manifest: ModelManifest, entry: ModelEntry) => Promise<void>;
    /** Checks a verified file's content beyond its hash (the mel model must be the pipeline its FFT form computes). */
    verifyContent?: (model: VerifiedModel) => void;
  } = {},
): Promise<VerifyResult[]> {
  const out: VerifyResult[] = [];
  for (const entry of manifest.models) {
    try {
      const v = await readVerifiedModel(manifest, entry);
      opts.verifyContent?.(v);
      if (entry.derivedFrom) {
        if (!opts.verifyDerived) throw new EarshotError('INTERNAL', `${entry.name} is derived, and no generator was given to check it`);
        await opts.verifyDerived(manifest, entry);
        out.push({ name: entry.name, kind: entry.kind, file: v.path, ok: true, regenerated: true });
        continue;
      }
      out.push({ name: entry.name, kind: entry.kind, file: v.path, ok: true });
    } catch (e) {
      const err = e as EarshotError;
      out.push({ name: entry.name, kind: entry.kind, file: entry.file, ok: false, code: err.code, message: err.message });
    }
  }
  return out;
}
