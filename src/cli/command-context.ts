/**
 * What most commands start with: the device config (--config / EARSHOT_CONFIG, --data-dir / EARSHOT_DATA_DIR)
 * and, for those that touch data, the application layer on the encrypted store, opened for the call and always
 * closed again. Commands call the application layer and nothing below it.
 */
import type { EarshotApp } from '../app/index.js';
import { loadConfig, resolveDeviceId, type DeviceConfig } from '../config/index.js';
import { createLogger } from '../core/index.js';
import { openApp, type OpenAppOptions } from '../open-app.js';
import type { RecordingStore } from '../store/index.js';
import { globalPaths, type CommandIO, type ParsedArgs } from './command.js';

/** Recorded as the source of every change a CLI command makes. */
export const CLI_SOURCE = 'owner-cli';

export async function commandConfig(args: ParsedArgs, io: CommandIO): Promise<DeviceConfig> {
  const { configFile, dataDir } = globalPaths(args, io.env);
  return loadConfig(configFile, dataDir !== undefined ? { dataDir } : {});
}

export interface AppContext {
  config: DeviceConfig;
  deviceId: string;
  /** For the device's own non-personal state only (settings, outbox depth, audit head). */
  store: RecordingStore;
}

/** What a command may add to how the application layer is opened. */
export type AppExtras = Pick<OpenAppOptions, 'genericNegatives'>;

export async function withApp<T>(args: ParsedArgs, io: CommandIO, fn: (app: EarshotApp, ctx: AppContext) => Promise<T>, extras: AppExtras = {}): Promise<T> {
  const config = await commandConfig(args, io);
  const deviceId = await resolveDeviceId(config);
  const opened = await openApp({ config, deviceId, logger: createLogger({ level: config.log.level, out: io.stderr }), ...extras });
  try {
    return await fn(opened.app, { config, deviceId, store: opened.store });
  } finally {
    await opened.close();
  }
}
