import { describe, expect, it } from 'vitest';
import {
  FleetConfigReceiver,
  targetsForDevice,
  topicForTarget,
  type FleetReceiveResult,
  type FleetState,
  type PrivacyBaseline,
} from '../../src/fleet/index.js';
import { FakeClock, MemoryAuditSink, MemorySettingsRepo } from '../privacy/fakes.js';
import { configTopicsFor } from '../../src/core/topics.js';
import { DEVICE_ID, GROUPS, deviceConfigPinning, makeKeys, signed } from './helpers.js';

const keys = makeKeys();
const FLEET_TOPIC = 'earshot/v1/fleet/all/config';
const DEVICE_TOPIC = `earshot/v1/devices/${DEVICE_ID}/config`;

function setup(settings = new MemorySettingsRepo(), baseline?: PrivacyBaseline) {
  const audit = new MemoryAuditSink();
  const reports: FleetReceiveResult[] = [];
  const changes: FleetState[] = [];
  const clock = new FakeClock(Date.UTC(2026, 0, 2));
  const receiver = new FleetConfigReceiver({
    deviceId: DEVICE_ID,
    deviceConfig: deviceConfigPinning(keys.publicKeyPem),
    settings,
    audit,
    clock,
    report: (r) => {
      reports.push(r);
    },
    ...(baseline ? { baseline: async () => baseline } : {}),
  });
  receiver.onChange((s) => changes.push(s));
  return { receiver, settings, audit, reports, changes, clock };
}

describe('FleetConfigReceiver', () => {
  it('subscribes to the fleet-wide, group and device topics', () => {
    const { receiver } = setup();
    // The uplink subscribes to exactly the topics of the targets the receiver accepts documents for.
    expect(configTopicsFor({ id: DEVICE_ID, groups: GROUPS }).sort()).toEqual([FLEET_TOPIC, 'earshot/v1/fleet/eu/config', 'earshot/v1/fleet/beta/config', DEVICE_TOPIC].sort());
    expect(targetsForDevice(DEVICE_ID, GROUPS).map(topicForTarget).sort()).toEqual(configTopicsFor({ id: DEVICE_ID, groups: GROUPS }).sort());
    void receiver;
    expect(topicForTarget('group:eu')).toBe('earshot/v1/fleet/eu/config');
  });

  it('applies a document live: listeners get the new wake/capture/log settings; audited and reported', async () => {
    const { receiver, audit, reports, changes } = setup();
    const doc = signed(keys.privateKey, { wake: { threshold: 0.7, words: [{ name: 'hey_jarvis', threshold: 0.8 }] }, capture: { endSilenceMs: 500 }, log: { level: 'debug' } }, { version: 2 });
    const r = await receiver.receive(FLEET_TOPIC, Buffer.from(doc));
    expect(r).toMatchObject({ status: 'applied', target: 'fleet', version: 2 });
    const live = changes.at(-1)!.config;
    expect(live.wake.threshold).toBe(0.7);
    expect(live.wake.words).toEqual([{ name: 'hey_jarvis', threshold: 0.8 }]);
    expect(live.capture.endSilenceMs).toBe(500);
    expect(live.capture.maxMs).toBe(10_000);
    expect(live.log.level).toBe('debug');
    expect(audit.ofType('config.applied')).toEqual([{ type: 'config.applied', detail: expect.objectContaining({ target: 'fleet', version: 2, keyId: keys.keyId }) }]);
    expect(reports).toEqual([r]);
  });

  it('a refused document leaves the running config untouched, and is audited and reported with its reason', async () => {
    const { receiver, audit, reports, changes } = setup();
    await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { wake: { threshold: 0.7 } }, { version: 2 }));
    const before = receiver.state();
    const changesBefore = changes.length;
    const forged = signed(makeKeys().privateKey, { wake: { threshold: 0.1 }, privacy: { maxRetentionDays: 1 } }, { version: 3 });
    const r = await receiver.receive(FLEET_TOPIC, forged);
    expect(r).toMatchObject({ status: 'refused', reason: 'unknown-key', target: 'fleet', version: 3 });
    expect(receiver.state()).toEqual(before);
    expect(changes.length).toBe(changesBefore);
    expect(audit.ofType('config.refused')[0]!.detail).toMatchObject({ reason: 'unknown-key', version: 3 });
    expect(reports.at(-1)).toEqual(r);
    // Garbage is refused without an exception.
    expect(await receiver.receive(FLEET_TOPIC, Buffer.from([0, 1, 2]))).toMatchObject({ status: 'refused', reason: 'malformed-json' });
  });

  it('the same refused document delivered again is reported and audited once; a different one again', async () => {
    const { receiver, audit, reports } = setup();
    const forged = signed(makeKeys().privateKey, { wake: { threshold: 0.1 } }, { version: 3 });
    expect(await receiver.receive(FLEET_TOPIC, forged)).toMatchObject({ status: 'refused', reason: 'unknown-key' });
    expect(await receiver.receive(FLEET_TOPIC, forged)).toMatchObject({ status: 'unchanged', detail: 'already refused' });
    expect(audit.ofType('config.refused')).toHaveLength(1);
    expect(reports).toHaveLength(1);
    const other = signed(makeKeys().privateKey, { wake: { threshold: 0.2 } }, { version: 4 });
    expect(await receiver.receive(FLEET_TOPIC, other)).toMatchObject({ status: 'refused' });
    expect(audit.ofType('config.refused')).toHaveLength(2);
  });

  it('privacy merges to the strictest across fleet, group and device documents', async () => {
    const { receiver } = setup();
    await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { privacy: { maxRetentionDays: 14 }, wake: { threshold: 0.6 } }, { version: 1 }));
    await receiver.receive('earshot/v1/fleet/eu/config', signed(keys.privateKey, { privacy: { maxRetentionDays: 20, forceLocalOnly: true }, wake: { threshold: 0.65 } }, { version: 1, target: 'group:eu' }));
    await receiver.receive(DEVICE_TOPIC, signed(keys.privateKey, { privacy: { uploadsEnabled: false }, wake: { threshold: 0.8 } }, { version: 1, target: `device:${DEVICE_ID}` }));
    const s = receiver.state();
    expect(s.privacy).toEqual({ maxRetentionDays: 14, forceLocalOnly: true, uploadsEnabled: false });
    expect(s.config.privacy).toEqual({ localOnly: true, retentionDays: 14, uploadsEnabled: false, humanReview: false });
    // The most specific document wins for non-privacy settings.
    expect(s.config.wake.threshold).toBe(0.8);
    expect(s.versions).toEqual({ fleet: 1, 'group:eu': 1, [`device:${DEVICE_ID}`]: 1 });
  });

  it('a newer document for a target replaces the previous one for that target', async () => {
    const { receiver } = setup();
    await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { privacy: { forceLocalOnly: true } }, { version: 1 }));
    expect(receiver.state().privacy.forceLocalOnly).toBe(true);
    await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { privacy: { maxRetentionDays: 10 } }, { version: 2 }));
    expect(receiver.state().privacy).toEqual({ maxRetentionDays: 10 });
  });

  it('accepts a retention cap above the active owner\'s retention: it is a cap, the effective retention is the minimum', async () => {
    const { receiver } = setup(new MemorySettingsRepo(), { localOnly: false, retentionDays: 7, uploadsEnabled: true, humanReview: false });
    const r = await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { privacy: { maxRetentionDays: 90 } }, { version: 1 }));
    expect(r).toMatchObject({ status: 'applied' });
    expect(receiver.state().privacy.maxRetentionDays).toBe(90);
    expect(receiver.state().config.privacy.retentionDays).toBe(30); // the device default (30) stays below the cap
  });

  it('refuses settings that contradict this device\'s config (end of speech after the maximum length)', async () => {
    const { receiver } = setup();
    // A shorter cap is stricter, but the device's own no-speech timeout (3000 ms) no longer fits in it.
    const r = await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { capture: { maxMs: 2000 } }, { version: 1 }));
    expect(r).toMatchObject({ status: 'refused', reason: 'bad-schema' });
    expect(r.detail).toContain('capture.noSpeechTimeoutMs: must be <= capture.maxMs');
    expect(receiver.state().versions).toEqual({});
  });

  it('the counter survives a restart: applied settings come back, older and equal versions stay refused', async () => {
    const settings = new MemorySettingsRepo();
    const first = setup(settings);
    const v3 = signed(keys.privateKey, { privacy: { forceLocalOnly: true }, wake: { threshold: 0.75 } }, { version: 3 });
    expect((await first.receiver.receive(FLEET_TOPIC, v3)).status).toBe('applied');

    // "Restart": a new receiver over the same settings.
    const second = setup(settings);
    const restored = await second.receiver.restore();
    expect(restored.privacy.forceLocalOnly).toBe(true);
    expect(restored.config.wake.threshold).toBe(0.75);
    expect(second.changes.at(-1)).toEqual(restored);

    // The broker redelivers the retained v3 on subscribe: unchanged, not audited as a refusal.
    expect((await second.receiver.receive(FLEET_TOPIC, v3)).status).toBe('unchanged');
    expect(second.audit.events).toEqual([]);
    // A different document with an equal or older version is a replay.
    const otherV3 = signed(keys.privateKey, { wake: { threshold: 0.8 } }, { version: 3 });
    expect(await second.receiver.receive(FLEET_TOPIC, otherV3)).toMatchObject({ status: 'refused', reason: 'not-newer' });
    expect(await second.receiver.receive(FLEET_TOPIC, signed(keys.privateKey, {}, { version: 2 }))).toMatchObject({ status: 'refused', reason: 'not-newer' });
    expect(second.receiver.state().config.wake.threshold).toBe(0.75);
    expect((await second.receiver.receive(FLEET_TOPIC, signed(keys.privateKey, {}, { version: 4 }))).status).toBe('applied');
  });

  it('a document whose counter cannot be persisted is not applied', async () => {
    const settings = new MemorySettingsRepo();
    const { receiver } = setup(settings);
    settings.failNextSet = new Error('disk full');
    await expect(receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { wake: { threshold: 0.9 } }, { version: 1 }))).rejects.toThrow('disk full');
    expect(receiver.state().config.wake.threshold).toBe(0.5);
    // The receiver keeps working afterwards.
    expect((await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { wake: { threshold: 0.9 } }, { version: 1 }))).status).toBe('applied');
  });

  it('a document on a topic that is not its target\'s, or on a non-config topic, is refused', async () => {
    const { receiver } = setup();
    const groupDoc = signed(keys.privateKey, {}, { version: 1, target: 'group:eu' });
    expect(await receiver.receive(FLEET_TOPIC, groupDoc)).toMatchObject({ status: 'refused', reason: 'topic-mismatch' });
    expect(await receiver.receive('earshot/v1/devices/x/status', groupDoc)).toMatchObject({ status: 'refused', reason: 'topic-mismatch' });
    // An empty retained message (cleared by an operator) changes nothing.
    expect((await receiver.receive(FLEET_TOPIC, Buffer.alloc(0))).status).toBe('unchanged');
  });

  it('a stored document signed by a key that is no longer pinned is not re-applied, but its counter still holds', async () => {
    const settings = new MemorySettingsRepo();
    const { receiver } = setup(settings);
    await receiver.receive(FLEET_TOPIC, signed(keys.privateKey, { wake: { threshold: 0.9 } }, { version: 5 }));
    const newKeys = makeKeys();
    const rotated = new FleetConfigReceiver({ deviceId: DEVICE_ID, deviceConfig: deviceConfigPinning(newKeys.publicKeyPem), settings, audit: new MemoryAuditSink() });
    const s = await rotated.restore();
    expect(s.documents).toEqual([]);
    expect(s.versions.fleet).toBe(5);
    expect(await rotated.receive(FLEET_TOPIC, signed(newKeys.privateKey, {}, { version: 5 }))).toMatchObject({ status: 'refused', reason: 'not-newer' });
  });
});
