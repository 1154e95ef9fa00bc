/**
 * Loading the device config: built-in defaults, or a JSON file deep-merged over them after migration to the
 * current configVersion, then validated. Every refusal is an EarshotError naming the file and the field.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { EarshotError, errorMessage } from '../core/index.js';
import { defaultConfig } from './defaults.js';
import { migrateConfig } from './migrations.js';
import { deepMerge, findForbiddenKey, isPlainObject, parseJson } from './safe-json.js';
import type { DeviceConfig } from './types.js';
import { assertValidDeviceConfig } from './validate.js';

export interface LoadConfigOptions {
  /** Overrides `dataDir` from the file (the CLI passes --data-dir / EARSHOT_DATA_DIR here). */
  dataDir?: string;
}

export interface LoadedConfig {
  config: DeviceConfig;
  /** The file read, or 'built-in defaults'. */
  source: string;
  /** configVersion found in the file (0 = no configVersion key); undefined without a file. */
  fileVersion: number | undefined;
  /** Migration steps applied in memory (the file itself is never rewritten). */
  migrations: string[];
}

/** Config files are small; anything bigger is a mistake (or an attack on the parser). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadConfig(file?: string, opts: LoadConfigOptions = {}): Promise<DeviceConfig> {
  return (await loadConfigDetailed(file, opts)).config;
}

export async function loadConfigDetailed(file?: string, opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  if (file === undefined || file === '') {
    const config = defaultConfig();
    config.dataDir = resolvePath(opts.dataDir ?? config.dataDir, process.cwd());
    return { config, source: 'built-in defaults', fileVersion: undefined, migrations: [] };
  }
  const source = resolve(file);
  let text: string;
  try {
    const buf = await readFile(source);
    if (buf.length > MAX_CONFIG_BYTES) throw new EarshotError('CONFIG_INVALID', `${source}: larger than ${MAX_CONFIG_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof EarshotError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EarshotError('CONFIG_NOT_FOUND', `config file not found: ${source}`, { cause: e });
    throw new EarshotError('CONFIG_INVALID', `cannot read config file ${source}: ${code ?? errorMessage(e)}`, { cause: e });
  }
  const parsed = parseConfigText(text, source);
  const baseDir = dirname(source);
  const config = parsed.config;
  config.dataDir = resolvePath(opts.dataDir ?? config.dataDir, opts.dataDir !== undefined ? process.cwd() : baseDir);
  for (const k of ['caFile', 'certFile', 'keyFile'] as const) {
    if (config.uplink[k] !== '') config.uplink[k] = resolvePath(config.uplink[k], baseDir);
  }
  for (const k of ['certFile', 'keyFile'] as const) {
    if (config.web[k] !== '') config.web[k] = resolvePath(config.web[k], baseDir);
  }
  config.fleet.publicKeys = await Promise.all(config.fleet.publicKeys.map((k, i) => readPublicKey(k, i, baseDir, source)));
  return { config, source, fileVersion: parsed.fileVersion, migrations: parsed.migrations };
}

/**
 * Pure part of loading: parse, refuse prototype keys, migrate, merge over defaults, validate.
 * Paths stay as written; fleet keys are checked by loadConfig once files are read.
 */
export function parseConfigText(text: string, source: string): { config: DeviceConfig; fileVersion: number; migrations: string[] } {
  const result = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!result.ok) {
    throw new EarshotError('CONFIG_INVALID', `${source}:${result.line}:${result.column}: invalid JSON: ${result.message}`, {
      details: { source, line: result.line, column: result.column },
    });
  }
  const doc = result.value;
  if (!isPlainObject(doc)) throw new EarshotError('CONFIG_INVALID', `${source}: (root): must be a JSON object`);
  const forbidden = findForbiddenKey(doc);
  if (forbidden !== undefined) {
    throw new EarshotError('CONFIG_INVALID', `${source}: ${forbidden}: forbidden key`, { details: { source } });
  }
  const migrated = migrateConfig(doc, source);
  const merged = deepMerge(defaultConfig(), migrated.doc) as DeviceConfig & { $schema?: unknown };
  assertValidDeviceConfig(merged, source);
  delete merged.$schema;
  return { config: merged, fileVersion: migrated.fromVersion, migrations: migrated.applied };
}

/** `~/x` → home, relative → against `base`. */
export function resolvePath(p: string, base: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
}

async function readPublicKey(entry: string, index: number, baseDir: string, source: string): Promise<string> {
  const field = `fleet.publicKeys[${index}]`;
  let pem = entry;
  if (!entry.trimStart().startsWith('-----BEGIN')) {
    const path = resolvePath(entry, baseDir);
    try {
      pem = await readFile(path, 'utf8');
    } catch (e) {
      throw new EarshotError('CONFIG_INVALID', `${source}: ${field}: cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
        cause: e,
      });
    }
  }
  // A private key would "work" (node derives the public half) but must never sit in a device config.
  if (/PRIVATE KEY/.test(pem)) throw new EarshotError('CONFIG_INVALID', `${source}: ${field}: is a private key; pin the public key only`);
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${key.asymmetricKeyType ?? 'unknown'} key`);
  } catch {
    throw new EarshotError('CONFIG_INVALID', `${source}: ${field}: not an Ed25519 public key in PEM (SPKI) form`);
  }
  return pem.trim() + '\n';
}
