/**
 * DaemonData on the application layer (src/app through open-app.ts): the one place where the daemon reaches the
 * data half of the tree. Every operation here is an app operation, audited once by the app.
 */
import type { Clock } from '../core/index.js';
import { errorMessage, isEarshotError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { openApp } from '../open-app.js';
import { settingsOwnerFor } from '../privacy/index.js';
import { AppOwnerBackend, type OwnerBackend } from '../web/index.js';
import type { DaemonData, DaemonDataOptions, WakeOwnerChoice } from './daemon-data.js';

/** The origin the app records for what the daemon does. */
const SOURCE = 'daemon';

export async function openAppDaemonData(
  opts: DaemonDataOptions & {
    clock: Clock;
    logger: Logger;
    /** A withdrawal made in this process (the app tells us): drop what the MQTT client still holds. */
    onConsentWithdrawn?: (ownerId: string) => Promise<void>;
  },
): Promise<DaemonData & { /** The owners' page the daemon hosts (`web.enabled`): every page action an app operation. */ readonly ownerPage: OwnerBackend }> {
  const { config, deviceId, clock, logger, fleetPrivacy } = opts;
  const { app, store, close } = await openApp({
    config,
    deviceId,
    logger,
    clock,
    fleetPrivacy,
    onConsentWithdrawn: async (ownerId, purpose) => {
      if (purpose === 'cloud-processing') await opts.onConsentWithdrawn?.(ownerId);
    },
  });
  const reportedVerifierFailures = new Set<string>();
  return {
    ownerPage: new AppOwnerBackend(app),
    routeWake: (word) => app.routeWake(word),
    async wakeOwners(words) {
      const view = await app.wakeClaimsView();
      const out: Record<string, WakeOwnerChoice> = {};
      for (const w of words) {
        const o = settingsOwnerFor(w, view);
        if (o === undefined) continue;
        const threshold = o.settings.thresholds[w];
        const verifierGate = o.settings.verifierGates[w];
        out[w] = { ownerId: o.ownerId, ...(threshold !== undefined ? { threshold } : {}), ...(verifierGate !== undefined ? { verifierGate } : {}) };
      }
      return out;
    },
    storeCapture: (ownerId, capture, { uplink }) => app.storeCapture(ownerId, capture, { uplink }),
    async verifiersFor(ownerId) {
      try {
        return await app.verifiersFor(ownerId, { incident: false });
      } catch (e) {
        // The daemon asks again whenever the audit log moves, and an incident moves it: each failure is recorded
        // once per run, or the log would fill with the same incident at every look.
        const key = `${ownerId} ${errorMessage(e)}`;
        if (isEarshotError(e, 'INTEGRITY') && !reportedVerifierFailures.has(key)) {
          reportedVerifierFailures.add(key);
          await app.recordIncident({ kind: 'integrity', what: 'verifier', reason: e.message }, ownerId);
        }
        throw e;
      }
    },
    async sweepRetention() {
      const res = await app.sweepRetention({ source: SOURCE });
      const deleted = res.reduce((n, r) => n + r.deleted, 0);
      if (deleted > 0) logger.info('retention sweep deleted recordings', { deleted });
    },
    activePrivacy: async () => (await app.privacyInEffect()).privacy,
    async consentedOwners() {
      const out = new Set<string>();
      for (const owner of await app.listOwners()) {
        const { purposes } = await app.consentOf(owner.id);
        if (purposes.some((p) => p.purpose === 'cloud-processing' && p.active)) out.add(owner.id);
      }
      return out;
    },
    auditHead: () => store.audit.publicHead(),
    releaseErasedFiles: () => store.releaseErasedFiles(),
    settings: store.settings,
    uplinkPorts: { outbox: store.outbox, ...app.uplinkPorts(), audit: store.audit, settings: store.settings },
    fleetPorts: { settings: store.settings, audit: store.audit, baseline: () => app.privacyBaseline() },
    close,
  };
}
