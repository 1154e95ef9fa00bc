/**
 * The wiring the daemon uses, over a real broker: the device subscribes to its config topics and feeds every
 * message to FleetConfigReceiver; a fleet manager pushes documents with pushFleetDocument.
 */
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { configTopicsFor } from '../../src/core/topics.js';
import { FleetConfigReceiver, type FleetReceiveResult } from '../../src/fleet/index.js';
import { pushFleetDocument } from '../../src/fleet/push.js';
import { MemoryAuditSink, MemorySettingsRepo } from '../privacy/fakes.js';
import { DEVICE_ID, deviceConfigPinning, makeKeys, signed } from './helpers.js';
import { startTestBroker, type TestBroker } from '../helpers/mosquitto.js';

const brokers: TestBroker[] = [];
afterAll(async () => {
  for (const b of brokers) await b.dispose();
});

async function deviceSession(url: string, settings: MemorySettingsRepo, publicKeyPem: string) {
  const results: FleetReceiveResult[] = [];
  const receiver = new FleetConfigReceiver({
    deviceId: DEVICE_ID,
    deviceConfig: deviceConfigPinning(publicKeyPem),
    settings,
    audit: new MemoryAuditSink(),
    report: (r) => {
      results.push(r);
    },
  });
  await receiver.restore();
  const client = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, clientId: `dev-${Math.random().toString(36).slice(2)}` });
  const handled: Promise<unknown>[] = [];
  client.on('message', (topic, payload) => handled.push(receiver.receive(topic, payload)));
  const device = deviceConfigPinning(publicKeyPem).device;
  await client.subscribeAsync(configTopicsFor(device), { qos: 1 });
  const settle = async (n: number) => {
    for (let i = 0; i < 100 && handled.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(handled);
  };
  return { receiver, client, results, handled, settle };
}

describe('fleet config over MQTT', () => {
  it('applies a pushed document, refuses a forged one while running, and survives a restart', async () => {
    const broker = await startTestBroker({ tls: false });
    brokers.push(broker);
    const keys = makeKeys();
    const settings = new MemorySettingsRepo();

    const device = await deviceSession(broker.url, settings, keys.publicKeyPem);
    const v1 = Buffer.from(signed(keys.privateKey, { privacy: { maxRetentionDays: 7 }, wake: { threshold: 0.7 } }, { version: 1, target: 'group:eu' }));
    expect((await pushFleetDocument(v1, { brokerUrl: broker.url })).topic).toBe('earshot/v1/fleet/eu/config');
    await device.settle(1);
    expect(device.results.at(-1)).toMatchObject({ status: 'applied', target: 'group:eu', version: 1 });
    expect(device.receiver.state().config.privacy.retentionDays).toBe(7);

    const forged = Buffer.from(signed(makeKeys().privateKey, { privacy: { maxRetentionDays: 1 } }, { version: 2 }));
    await pushFleetDocument(forged, { brokerUrl: broker.url });
    await device.settle(2);
    expect(device.results.at(-1)).toMatchObject({ status: 'refused', reason: 'unknown-key', target: 'fleet', version: 2 });
    expect(device.receiver.state().config.privacy.retentionDays).toBe(7);
    expect(device.receiver.state().config.wake.threshold).toBe(0.7);
    await device.client.endAsync();

    // Restart: the retained v1 comes back and is recognised; the forged fleet-wide one is refused again.
    const again = await deviceSession(broker.url, settings, keys.publicKeyPem);
    expect(again.receiver.state().config.wake.threshold).toBe(0.7);
    await again.settle(2);
    const byTarget = Object.fromEntries(again.results.map((r) => [r.target, r.status]));
    expect(byTarget).toEqual({ fleet: 'refused' });
    expect(again.receiver.state().versions).toEqual({ 'group:eu': 1 });
    await again.client.endAsync();
  }, 20_000);
});
