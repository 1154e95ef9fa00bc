/**
 * A composition root beside daemon.ts: opens the encrypted store and puts the application layer on it, with the
 * one PrivacyPolicy every caller shares. The CLI and the owner page open it per call or per server; the daemon
 * passes its live fleet receiver as the fleet's privacy source.
 */
import { EarshotApp, type AppDeps } from './app/index.js';
import type { DeviceConfig } from './config/index.js';
import { systemClock, type Clock } from './core/index.js';
import type { Logger } from './core/index.js';
import { readAppliedFleetState } from './fleet/index.js';
import { mergeFleetPrivacy, PrivacyPolicy, type FleetPrivacySource } from './privacy/index.js';
import { ExportStaging, RecordingStore, type StoreOptions } from './store/index.js';

export interface OpenAppOptions {
  config: DeviceConfig;
  deviceId: string;
  logger: Logger;
  clock?: Clock;
  /** Where applied fleet privacy comes from. Default: the documents persisted by the daemon, re-verified. */
  fleetPrivacy?: FleetPrivacySource;
  onConsentWithdrawn?: AppDeps['onConsentWithdrawn'];
  /** The generic negatives verifiers train against (default: the set shipped with the default models). */
  genericNegatives?: AppDeps['genericNegatives'];
  store?: Pick<StoreOptions, 'synchronous' | 'busyTimeoutMs' | 'keyStore'>;
}

export interface OpenedApp {
  app: EarshotApp;
  store: RecordingStore;
  close(): Promise<void>;
}

export async function openApp(opts: OpenAppOptions): Promise<OpenedApp> {
  const clock = opts.clock ?? systemClock;
  const { config, deviceId } = opts;
  const store = await RecordingStore.open({ dataDir: config.dataDir, deviceId, clock, logger: opts.logger, ...opts.store });
  const staging = ExportStaging.in(config.dataDir);
  const fleetPrivacy: FleetPrivacySource =
    opts.fleetPrivacy ??
    (async () => {
      const state = await readAppliedFleetState(store.settings, deviceId, config.device.groups, config.fleet.publicKeys);
      return mergeFleetPrivacy(state.documents.map((d) => d.config.privacy));
    });
  const app = new EarshotApp({
    uow: store.uow,
    maintenance: store,
    audit: store.audit,
    exportStaging: staging,
    policy: new PrivacyPolicy(() => config.privacy, fleetPrivacy),
    clock,
    logger: opts.logger,
    deviceId,
    defaults: { retentionDays: config.privacy.retentionDays, localOnly: config.privacy.localOnly },
    ...(opts.onConsentWithdrawn ? { onConsentWithdrawn: opts.onConsentWithdrawn } : {}),
    ...(opts.genericNegatives ? { genericNegatives: opts.genericNegatives } : {}),
  });
  return { app, store, close: () => store.close() };
}
