/** The child process asks the real application layer (its upload gate and upload confirmation) over the parent's SQLite store. */
import { defaultConfig } from '../../../src/config/index.js';
import { silentLogger } from '../../../src/core/logger.js';
import { openApp, type OpenedApp } from '../../../src/open-app.js';

export function childApp(dataDir: string, deviceId: string): Promise<OpenedApp> {
  return openApp({
    config: { ...defaultConfig(), dataDir, privacy: { localOnly: false, retentionDays: 30, uploadsEnabled: true, humanReview: false } },
    deviceId,
    logger: silentLogger,
    fleetPrivacy: () => ({}),
  });
}
