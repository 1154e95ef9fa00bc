/** Public API of the device configuration. */
export type { DeviceConfig, WakeWordConfig } from './types.js';
export { CURRENT_CONFIG_VERSION, DEFAULT_CONFIG, DEFAULT_DATA_DIR, defaultConfig } from './defaults.js';
export { loadConfig, loadConfigDetailed, parseConfigText, resolvePath, type LoadConfigOptions, type LoadedConfig } from './load.js';
export { migrateConfig, MIGRATIONS, type Migration, type MigrationResult } from './migrations.js';
export { assertValidDeviceConfig, describeSchemaErrors, semanticProblems } from './validate.js';
export { deepMerge, findForbiddenKey, FORBIDDEN_KEYS, parseJson } from './safe-json.js';
export {
  DEVICE_ID_FILE,
  DEVICE_ID_PATTERN,
  deviceIdPath,
  ensureStoredDeviceId,
  generateDeviceId,
  readStoredDeviceId,
  resolveDeviceId,
} from './device-id.js';
export { isPlainObject, formatPath } from './safe-json.js';
export { createAjv, readShippedSchema } from './validate.js';
