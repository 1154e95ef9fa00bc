/**
 * Config file migrations (zigbee2mqtt style): every file carries `configVersion`; a file without it is
 * version 0, the flat layout of early Earshot prototypes. Each step moves one version forward and says
 * what it changed, so `earshot` can tell the user their file was upgraded in memory.
 */
import { EarshotError } from '../core/index.js';
import { CURRENT_CONFIG_VERSION } from './defaults.js';
import { isPlainObject } from './safe-json.js';

export interface Migration {
  from: number;
  to: number;
  describe: string;
  /** Pure: returns a new document; throws EarshotError CONFIG_INVALID on an unresolvable conflict. */
  migrate(doc: Record<string, unknown>, source: string): Record<string, unknown>;
}

/** Version 0 flat keys and where they live from version 1 on. */
const V0_FLAT_KEYS: ReadonlyArray<readonly [flat: string, section: string, key: string, convert?: (v: unknown) => unknown]> = [
  ['deviceId', 'device', 'id'],
  ['groups', 'device', 'groups'],
  ['recorder', 'audio', 'recorder'],
  ['micDevice', 'audio', 'device'],
  // v0 allowed one word as a string, or a list of names.
  ['wakeword', 'wake', 'words', (v) => (Array.isArray(v) ? v : [v]).map((name) => ({ name }))],
  ['threshold', 'wake', 'threshold'],
  ['silenceMs', 'capture', 'endSilenceMs'],
  ['maxRecordingMs', 'capture', 'maxMs'],
  ['localOnly', 'privacy', 'localOnly'],
  ['retentionDays', 'privacy', 'retentionDays'],
  ['mqttUrl', 'uplink', 'brokerUrl'],
  ['tlsCa', 'uplink', 'caFile'],
  ['tlsCert', 'uplink', 'certFile'],
  ['tlsKey', 'uplink', 'keyFile'],
  ['fleetPublicKey', 'fleet', 'publicKeys', (v) => [v]],
  ['logLevel', 'log', 'level'],
];

export const MIGRATIONS: readonly Migration[] = [
  {
    from: 0,
    to: 1,
    describe: 'moved flat keys (deviceId, wakeword, mqttUrl, …) into sections (device.id, wake.words, uplink.brokerUrl, …)',
    migrate(doc, source) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(doc)) out[k] = v;
      for (const [flat, section, key, convert] of V0_FLAT_KEYS) {
        if (!(flat in out)) continue;
        const value = out[flat];
        delete out[flat];
        const existing = out[section];
        if (existing !== undefined && !isPlainObject(existing)) {
          throw new EarshotError('CONFIG_INVALID', `${source}: ${section}: must be object`);
        }
        const sec: Record<string, unknown> = { ...(existing ?? {}) };
        if (key in sec) {
          throw new EarshotError('CONFIG_INVALID', `${source}: ${flat}: conflicts with ${section}.${key}; keep only ${section}.${key}`);
        }
        sec[key] = convert ? convert(value) : value;
        out[section] = sec;
      }
      out['configVersion'] = 1;
      return out;
    },
  },
];

export interface MigrationResult {
  doc: Record<string, unknown>;
  fromVersion: number;
  /** One line per applied step. */
  applied: string[];
}

/** Bring a parsed config file up to CURRENT_CONFIG_VERSION. */
export function migrateConfig(doc: Record<string, unknown>, source: string): MigrationResult {
  const raw = doc['configVersion'];
  let version: number;
  if (raw === undefined) version = 0;
  else if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) version = raw;
  else throw new EarshotError('CONFIG_INVALID', `${source}: configVersion: must be a non-negative integer`);
  if (version > CURRENT_CONFIG_VERSION) {
    throw new EarshotError(
      'CONFIG_INVALID',
      `${source}: configVersion: ${version} is newer than this earshot supports (${CURRENT_CONFIG_VERSION}); upgrade earshot`,
    );
  }
  const fromVersion = version;
  const applied: string[] = [];
  let current = doc;
  while (version < CURRENT_CONFIG_VERSION) {
    const step = MIGRATIONS.find((m) => m.from === version);
    if (!step) throw new EarshotError('INTERNAL', `no config migration from version ${version}`);
    current = step.migrate(current, source);
    applied.push(`v${step.from} → v${step.to}: ${step.describe}`);
    version = step.to;
  }
  return { doc: current, fromVersion, applied };
}
