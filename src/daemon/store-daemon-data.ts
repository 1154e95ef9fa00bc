/**
 * DaemonData on today's encrypted store, consent gate and fleet rules: the one place where the daemon reaches
 * the data half of the tree. (To be replaced by the application layer's operations.)
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { effectivePrivacy, privacyBaseline } from '../fleet/index.js';
import { ConsentGate, consentActiveAt } from '../privacy/consent/index.js';
import { sweepRetention, type RetentionTarget } from '../privacy/retention/sweeper.js';
import { RecordingStore } from '../store/index.js';
import type { DaemonData, DaemonDataOptions } from './daemon-data.js';

export async function openStoreDaemonData(opts: DaemonDataOptions & { clock: Clock; logger: Logger }): Promise<DaemonData> {
  const { config, deviceId, clock, logger, fleetPrivacy } = opts;
  const store = await RecordingStore.open({ dataDir: config.dataDir, deviceId, defaults: config.privacy, clock, logger });
  const activeOwnerPrivacy = async () => {
    const ownerId = await store.owners.activeOwnerId();
    return ownerId ? store.owners.getPrivacy(ownerId) : undefined;
  };
  const gate = new ConsentGate({
    consent: store.consent,
    owners: store.owners,
    devicePrivacy: () => config.privacy,
    fleetPrivacy,
  });
  // The owner's retention capped by the fleet's.
  const retention: RetentionTarget = {
    retentionPolicies: async () => {
      const cap = fleetPrivacy().maxRetentionDays;
      return (await store.owners.retentionPolicies()).map((p) => ({
        ownerId: p.ownerId,
        retentionDays: typeof cap === 'number' ? Math.min(cap, p.retentionDays) : p.retentionDays,
      }));
    },
    deleteExpired: (ownerId, rule) => store.recordings.deleteExpired(ownerId, rule),
  };
  return {
    ownerAtWake: () => store.owners.activeOwnerId(),
    async storeCapture(ownerId, capture, { uplink }) {
      const decision = uplink ? await gate.check({ ownerId, capturedAt: capture.startedAt }, clock.now()) : { allowed: false as const };
      await store.saveCapture(ownerId, capture, { enqueue: decision.allowed });
      return { queued: decision.allowed };
    },
    async sweepRetention() {
      const res = await sweepRetention(retention, clock.now());
      const deleted = res.reduce((s, r) => s + r.deleted, 0);
      if (deleted > 0) logger.info('retention sweep deleted recordings', { deleted });
    },
    activePrivacy: async () => effectivePrivacy(await activeOwnerPrivacy(), config.privacy, fleetPrivacy()),
    async consentedOwners() {
      const now = clock.now();
      const out = new Set<string>();
      for (const { ownerId } of await store.owners.retentionPolicies()) {
        if (consentActiveAt(await store.consent.history(ownerId, 'cloud-processing'), now)) out.add(ownerId);
      }
      return out;
    },
    releaseErasedFiles: () => store.releaseErasedFiles(),
    settings: store.settings,
    uplinkPorts: { outbox: store.outbox, recordings: store.recordings, gate, audit: store.audit, settings: store.settings },
    fleetPorts: {
      settings: store.settings,
      audit: store.audit,
      baseline: async () => privacyBaseline(await activeOwnerPrivacy(), config.privacy),
    },
    close: () => store.close(),
  };
}

