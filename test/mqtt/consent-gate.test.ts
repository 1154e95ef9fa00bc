/**
 * The consent and local-only gate as a cloud subscriber on '#' sees it: real Mosquitto (TLS, shipped ACL),
 * the SQLite store, the application layer (consent, local-only, the upload gate), and the uplink.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, type DeviceConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir } from '../../src/store/index.js';
import { statusTopic } from '../../src/core/topics.js';
import { createUplink } from '../../src/uplink/uplink.js';
import { shippedAclPath, startTestBroker, type TestBroker } from '../helpers/mosquitto.js';
import { makeRecording, waitFor } from '../uplink/fakes.js';
import { aclWithObserver, startObserver, type Observer } from './support/observer.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await (await brokerP)?.dispose();
});

const DEVICE_PRIVACY: DeviceConfig['privacy'] = { localOnly: false, retentionDays: 30, uploadsEnabled: true, humanReview: false };

let brokerP: Promise<TestBroker> | undefined;
async function broker(): Promise<TestBroker> {
  // One broker for this file; each test uses its own device id.
  brokerP ??= startTestBroker({ tls: true, aclText: aclWithObserver(readFileSync(shippedAclPath(), 'utf8')) });
  return brokerP;
}

let deviceSeq = 0;
async function device(opts: { maxInFlight?: number } = {}) {
  const b = await broker();
  const deviceId = `spk-gate-${++deviceSeq}`;
  const obs: Observer = await startObserver(b, { topic: '#' });
  cleanups.push(() => obs.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-gate-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  await initDataDir(dataDir, { deviceId });
  // The daemon's wiring: a withdrawal purges the owner from the uplink before it returns.
  let purge: (ownerId: string) => Promise<void> = async () => undefined;
  const { app, store, close } = await openApp({
    config: { ...defaultConfig(), dataDir, privacy: DEVICE_PRIVACY },
    deviceId,
    logger: silentLogger,
    fleetPrivacy: () => ({}),
    onConsentWithdrawn: (ownerId, purpose) => (purpose === 'cloud-processing' ? purge(ownerId) : undefined),
  });
  const origin = { source: 'owner-cli' };
  const owner = await app.addOwner({ name: 'gate test owner', ...origin });
  const cert = b.clientCert(deviceId);
  const uplink = createUplink({
    config: {
      device: { id: deviceId, groups: [] },
      uplink: { brokerUrl: b.url, caFile: b.caFile!, certFile: cert.certFile, keyFile: cert.keyFile, sessionExpirySec: 300, keepaliveSec: 10, maxInFlight: opts.maxInFlight ?? 8, reconnectMinMs: 50, reconnectMaxMs: 400 },
    },
    outbox: store.outbox,
    ...app.uplinkPorts(),
    audit: store.audit,
    settings: store.settings,
    statusFields: async () => ({ localOnly: (await app.localOnlyStatus(owner)).effective, uploadsEnabled: true }),
  })!;
  purge = (ownerId) => uplink.purgeOwner(ownerId);
  cleanups.push(async () => {
    await uplink.stop();
    await close();
  });
  /** A stored and queued recording (queued whatever the gate said at capture: the gate at send time is under test). */
  const capture = async (startedAt: number): Promise<string> => {
    const r = makeRecording(owner, startedAt, 400, deviceId);
    await store.uow.run(async (tx) => {
      await tx.recordings.insert(owner, r);
      await tx.outbox.enqueue({ recordingId: r.id, ownerId: owner, capturedAt: startedAt, enqueuedAt: Date.now() });
    });
    uplink.notify();
    return r.id;
  };
  const ledger = {
    grant: async (o: string, purpose: string) => (await app.grantConsent(o, purpose, origin)).event,
    revoke: async (o: string, purpose: string) => (await app.withdrawConsent(o, purpose, origin)).event,
  };
  const localOnly = { set: (o: string, on: boolean) => app.setLocalOnly(o, on, origin) };
  const recordingsSeen = () => obs.ids.size;
  return { b, deviceId, obs, store, owner, ledger, localOnly, uplink, capture, recordingsSeen };
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

describe('consent and local-only gate seen by a subscriber on # (real Mosquitto + SQLite store)', () => {
  it('no consent: 0 recordings published, and they leave the outbox', async () => {
    const d = await device();
    for (let i = 0; i < 5; i++) await d.capture(Date.now() - 5000 + i);
    d.uplink.start();
    await waitFor(() => d.uplink.connection.ready, 5000, 'connected');
    await waitFor(async () => (await d.store.outbox.count()) === 0, 5000, 'outbox emptied by the gate');
    await settle();
    expect(d.recordingsSeen()).toBe(0);
    expect(d.uplink.progress().published).toBe(0);
  });

  it('grant: only recordings captured after the grant are published', async () => {
    const d = await device();
    const before: string[] = [];
    for (let i = 0; i < 3; i++) before.push(await d.capture(Date.now() - 10_000 + i));
    const grant = await d.ledger.grant(d.owner, 'cloud-processing');
    const after: string[] = [];
    for (let i = 0; i < 4; i++) after.push(await d.capture(grant.at + 1 + i));
    d.uplink.start();
    await waitFor(async () => (await d.store.outbox.count()) === 0, 8000, 'outbox drained');
    await waitFor(() => d.obs.ids.size === 4, 5000, 'four recordings at the subscriber');
    await settle();
    expect([...d.obs.ids].sort()).toEqual([...after].sort());
    for (const id of before) expect(d.obs.ids.has(id)).toBe(false);
    expect(d.obs.malformed).toEqual([]);
  });

  it('revoke with 100 queued: 0 further publishes, and the owner leaves the outbox', async () => {
    const d = await device();
    const grant = await d.ledger.grant(d.owner, 'cloud-processing');
    for (let i = 0; i < 100; i++) await d.capture(grant.at + 1 + i);
    expect(await d.store.outbox.count()).toBe(100);
    await d.ledger.revoke(d.owner, 'cloud-processing');
    expect(await d.store.outbox.count()).toBe(0);
    d.uplink.start();
    await waitFor(() => d.uplink.connection.ready, 5000, 'connected');
    await settle(500);
    expect(d.recordingsSeen()).toBe(0);
    expect(d.uplink.progress().published).toBe(0);
  });

  it('revoke mid-drain: nothing is handed to the client after the withdrawal returns', async () => {
    const d = await device({ maxInFlight: 2 });
    const grant = await d.ledger.grant(d.owner, 'cloud-processing');
    for (let i = 0; i < 100; i++) await d.capture(grant.at + 1 + i);
    d.uplink.start();
    await waitFor(() => d.recordingsSeen() >= 5, 8000, 'five delivered');
    await d.ledger.revoke(d.owner, 'cloud-processing');
    const publishedAtRevoke = d.uplink.progress().published;
    expect(await d.store.outbox.count()).toBe(0);
    await settle(600);
    // No publish after the withdrawal; at most what was already on the wire (the window of 2) arrives.
    expect(d.uplink.progress().published).toBe(publishedAtRevoke);
    expect(d.recordingsSeen()).toBeLessThanOrEqual(publishedAtRevoke);
    expect(d.recordingsSeen()).toBeLessThan(100);
  });

  it('local-only on: 0 published and the status topic shows it; off: uploads resume', async () => {
    const d = await device();
    const grant = await d.ledger.grant(d.owner, 'cloud-processing');
    await d.localOnly.set(d.owner, true);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await d.capture(grant.at + 1 + i));
    d.uplink.start();
    await waitFor(() => d.uplink.connection.ready, 5000, 'connected');
    const status = () => d.obs.others.filter(([t]) => t === statusTopic(d.deviceId)).map(([, p]) => JSON.parse(p) as Record<string, unknown>);
    await waitFor(() => status().some((s) => s['online'] === true && s['localOnly'] === true), 3000, 'status shows local-only');
    await settle(400);
    expect(d.recordingsSeen()).toBe(0);
    expect(await d.store.outbox.count()).toBe(10);
    await d.localOnly.set(d.owner, false);
    await d.uplink.publishStatus();
    d.uplink.notify();
    await waitFor(() => d.obs.ids.size === 10, 8000, 'uploads resumed');
    expect([...d.obs.ids].sort()).toEqual([...ids].sort());
    await waitFor(() => status().at(-1)?.['localOnly'] === false, 3000, 'status shows local-only off');
    // Status documents are non-personal.
    expect(JSON.stringify(status())).not.toContain(d.owner);
  });
});
