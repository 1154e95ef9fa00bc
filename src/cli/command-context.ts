/**
 * What most commands start with: the device config (--config / EARSHOT_CONFIG, --data-dir / EARSHOT_DATA_DIR)
 * and, for those that touch data, the encrypted store, opened for the call and always closed again.
 */
import { resolveDeviceId } from '../config/device-id.js';
import { loadConfig } from '../config/load.js';
import type { DeviceConfig } from '../config/types.js';
import { createLogger } from '../core/logger.js';
import { RecordingStore } from '../store/recording-store.js';
import { globalPaths, type CommandIO, type ParsedArgs } from './command.js';

export async function commandConfig(args: ParsedArgs, io: CommandIO): Promise<DeviceConfig> {
  const { configFile, dataDir } = globalPaths(args, io.env);
  return loadConfig(configFile, dataDir !== undefined ? { dataDir } : {});
}

export async function withStore<T>(
  args: ParsedArgs,
  io: CommandIO,
  fn: (store: RecordingStore, config: DeviceConfig, deviceId: string) => Promise<T>,
): Promise<T> {
  const config = await commandConfig(args, io);
  const deviceId = await resolveDeviceId(config);
  const store = await RecordingStore.open({
    dataDir: config.dataDir,
    deviceId,
    logger: createLogger({ level: config.log.level, out: io.stderr }),
    defaults: { retentionDays: config.privacy.retentionDays, localOnly: config.privacy.localOnly },
  });
  try {
    return await fn(store, config, deviceId);
  } finally {
    await store.close();
  }
}
