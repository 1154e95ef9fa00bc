/**
 * The application layer on either store: every app-level suite runs against the in-memory store and the SQLite
 * store alike, so a behaviour (an audit written twice, a rule applied in one path only) cannot hide in either.
 */
import { describe } from 'vitest';
import { EarshotApp } from '../../src/app/index.js';
import { defaultConfig, type DeviceConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import type { FleetPrivacy } from '../../src/core/privacy-types.js';
import type { Tx } from '../../src/core/ports.js';
import { openApp } from '../../src/open-app.js';
import { PrivacyPolicy } from '../../src/privacy/index.js';
import { ExportStaging, initDataDir } from '../../src/store/index.js';
import { FakeClock } from '../privacy/fakes.js';
import { DEVICE, tamper, tempDir } from '../store/helpers.js';
import { MemoryStore } from '../support/memory-store.js';
import { GENERIC_NEGATIVES } from '../support/verifier-features.js';

export type StoreKind = 'memory' | 'sqlite';
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'sqlite'];

export interface AppHarness {
  kind: StoreKind;
  app: EarshotApp;
  clock: FakeClock;
  /** What applied fleet documents impose (the policy reads it at every decision). */
  fleet: { privacy: FleetPrivacy };
  /** The device config's privacy section (mutable, as a reloaded config would be). */
  device: DeviceConfig['privacy'];
  /** Reads inside the store, for checks only. */
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** A housemate with write access but not the key modifies the owner's sealed profile (it no longer opens). */
  tamperProfile(ownerId: string): Promise<void>;
  close(): Promise<void>;
}

/** `genericNegatives`: what verifiers train against (default the small synthetic set); a test can hook training with it. */
export async function appHarness(kind: StoreKind, opts: { genericNegatives?: () => Promise<Float32Array[]> } = {}): Promise<AppHarness> {
  const negatives = opts.genericNegatives ?? (async () => GENERIC_NEGATIVES);
  const clock = new FakeClock();
  const fleet = { privacy: {} as FleetPrivacy };
  const device = { ...defaultConfig().privacy };
  const defaults = { retentionDays: device.retentionDays, localOnly: device.localOnly };
  if (kind === 'memory') {
    const store = new MemoryStore(DEVICE, () => clock.now());
    const { dir, cleanup } = tempDir('earshot-app-staging-');
    const app = new EarshotApp({
      uow: store,
      maintenance: store,
      audit: store,
      exportStaging: ExportStaging.in(dir),
      policy: new PrivacyPolicy(() => device, () => fleet.privacy),
      clock,
      logger: silentLogger,
      deviceId: DEVICE,
      defaults,
      genericNegatives: negatives,
    });
    return {
      kind,
      app,
      clock,
      fleet,
      device,
      read: (fn) => store.read(fn),
      tamperProfile: async (ownerId) => store.tamperProfile(ownerId),
      close: async () => cleanup(),
    };
  }
  const { dir, cleanup } = tempDir('earshot-app-');
  await initDataDir(dir, { deviceId: DEVICE });
  const base = defaultConfig();
  const config: DeviceConfig = { ...base, dataDir: dir };
  Object.defineProperty(config, 'privacy', { get: () => device });
  const opened = await openApp({ config, deviceId: DEVICE, logger: silentLogger, clock, fleetPrivacy: () => fleet.privacy, genericNegatives: negatives });
  return {
    kind,
    app: opened.app,
    clock,
    fleet,
    device,
    read: (fn) => opened.store.uow.read(fn),
    tamperProfile: (ownerId) =>
      tamper(dir, async (db) => {
        const row = await db.get<{ sealed_profile: Buffer }>('SELECT sealed_profile FROM owners WHERE id = ?', [ownerId]);
        if (!row) throw new Error(`no owner ${ownerId}`);
        const blob = Buffer.from(row.sealed_profile);
        blob[blob.length - 1]! ^= 0x01;
        await db.run('UPDATE owners SET sealed_profile = ? WHERE id = ?', [blob, ownerId]);
      }),
    close: async () => {
      await opened.close();
      cleanup();
    },
  };
}

/** Declares `suite` once per store kind. */
export function onEveryStore(name: string, suite: (kind: StoreKind) => void): void {
  for (const kind of STORE_KINDS) describe(`${name} (${kind} store)`, () => suite(kind));
}
