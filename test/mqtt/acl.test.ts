/**
 * The shipped broker config against a real Mosquitto: TLS with client certificates (CN = device id) and the
 * ACL template from device-config/mosquitto/acl.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxPublisher } from '../../src/uplink/outbox-publisher.js';
import { MqttConnection } from '../../src/uplink/mqtt-connection.js';
import { deviceConfigTopic, recordingTopic, statusTopic } from '../../src/core/topics.js';
import { freePort, shippedAclPath, startTestBroker, type TestBroker } from '../helpers/mosquitto.js';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, ScriptedGate, makeRecording, queueRecording, waitFor } from '../uplink/fakes.js';

let broker: TestBroker;
const clients: MqttClient[] = [];

async function tlsClient(cn: string, extra: Record<string, unknown> = {}): Promise<MqttClient> {
  const cert = broker.clientCert(cn);
  const c = await connectAsync(broker.url, {
    protocolVersion: 5,
    clientId: `${cn}-${Math.random().toString(36).slice(2, 6)}`,
    ca: readFileSync(broker.caFile!),
    cert: readFileSync(cert.certFile),
    key: readFileSync(cert.keyFile),
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  broker = await startTestBroker({ tls: true, acl: true });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.dispose();
});

describe('shipped Mosquitto ACL (real broker, TLS client certificates)', () => {
  it('refuses a publish under another device id with PUBACK 0x87; the recording stays queued and is retried', async () => {
    const outbox = new MemoryOutbox();
    const audit = new MemoryAudit();
    const recs = new MemoryRecordings(outbox, audit);
    const gate = new ScriptedGate();
    gate.grant('owner-1', 0);
    const rec = makeRecording('owner-1', Date.now());
    await queueRecording(outbox, recs, rec);
    const cert = broker.clientCert('spk-a');
    // Device A's certificate, but configured with B's id: topics say spk-b, the broker's username is spk-a.
    const conn = new MqttConnection({
      brokerUrl: broker.url,
      deviceId: 'spk-b',
      caFile: broker.caFile,
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      sessionExpirySec: 60,
      keepaliveSec: 30,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
    });
    const pub = new OutboxPublisher({ deviceId: 'spk-b', outbox, recordings: recs, gate, audit, transport: conn, maxInFlight: 4, retry: { minMs: 150, maxMs: 300 } });
    conn.start();
    pub.start();
    try {
      await waitFor(() => (outbox.rows.get(rec.id)?.attempts ?? 0) >= 2, 8000, 'two refused attempts');
      const row = outbox.rows.get(rec.id)!;
      expect(row.lastError).toContain('0x87');
      expect(recs.uploaded.has(rec.id)).toBe(false);
      const refused = audit.ofType('recording.upload-refused').filter((e) => e.detail?.['by'] === 'broker');
      expect(refused.length).toBeGreaterThanOrEqual(2);
      expect(refused[0]!.detail?.['reasonCode']).toBe(0x87);
      expect(pub.progress().sent).toBe(0);
      expect(pub.progress().failed).toBeGreaterThanOrEqual(2);
    } finally {
      await pub.stop(100);
      await conn.stop();
    }
    // Still queued after stopping: never dropped, never marked sent.
    expect(outbox.rows.has(rec.id)).toBe(true);
  });

  it('lets a device publish its own recordings and status', async () => {
    const a = await tlsClient('spk-a');
    const ack = (await a.publishAsync(recordingTopic('spk-a', 'r1'), Buffer.from('x'), { qos: 1 })) as { reasonCode?: number } | undefined;
    expect(ack?.reasonCode ?? 0).toBeLessThan(0x80);
    const st = (await a.publishAsync(statusTopic('spk-a'), '{"online":true}', { qos: 1, retain: true })) as { reasonCode?: number } | undefined;
    expect(st?.reasonCode ?? 0).toBeLessThan(0x80);
  });

  it("denies subscribing to another device's config: no delivery of B's retained config to A", async () => {
    const manager = await tlsClient('fleet-manager');
    await manager.publishAsync(deviceConfigTopic('spk-b'), '{"doc":"for b"}', { qos: 1, retain: true });
    const a = await tlsClient('spk-a');
    const got: string[] = [];
    a.on('message', (t) => got.push(t));
    // Mosquitto 2.0.x grants the SUBACK for a filter the ACL denies and enforces read access per
    // message instead; either way A must never receive B's config.
    const granted = await a.subscribeAsync(deviceConfigTopic('spk-b'), { qos: 1 });
    const denied = granted[0]!.qos >= 0x80;
    const b = await tlsClient('spk-b');
    const gotB: string[] = [];
    b.on('message', (t) => gotB.push(t));
    await b.subscribeAsync(deviceConfigTopic('spk-b'), { qos: 1 });
    // B gets the retained document, and a live one published after both subscribed.
    await waitFor(() => gotB.length >= 1, 3000, 'retained config delivered to its device');
    await manager.publishAsync(deviceConfigTopic('spk-b'), '{"doc":"live"}', { qos: 1, retain: true });
    await waitFor(() => gotB.length >= 2, 3000, 'live config delivered to its device');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([]);
    expect(denied || got.length === 0).toBe(true);
  });

  it("denies a device writing config (only fleet managers may)", async () => {
    const a = await tlsClient('spk-a');
    const err = await a.publishAsync(deviceConfigTopic('spk-a'), '{}', { qos: 1, retain: true }).then(
      () => undefined,
      (e: { code?: number }) => e,
    );
    expect(err?.code).toBe(0x87);
  });

  it('refuses a client certificate from a foreign CA at the TLS handshake', async () => {
    const cert = broker.foreignClientCert('spk-a');
    const attempt = connectAsync(broker.url, {
      protocolVersion: 5,
      clientId: 'spk-a-foreign',
      ca: readFileSync(broker.caFile!),
      cert: readFileSync(cert.certFile),
      key: readFileSync(cert.keyFile),
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    await expect(attempt).rejects.toThrow();
  });

  it('refuses a client without any certificate', async () => {
    const attempt = connectAsync(broker.url, { protocolVersion: 5, clientId: 'anon', ca: readFileSync(broker.caFile!), reconnectPeriod: 0, connectTimeout: 3000 });
    await expect(attempt).rejects.toThrow();
  });

  it('uses the shipped ACL template', () => {
    expect(readFileSync(shippedAclPath(), 'utf8')).toContain('pattern write earshot/v1/devices/%u/recordings/#');
  });

  it('the shipped mosquitto.conf itself runs: TLS-only, certificate required, ACL applied', async () => {
    // Point the template's /etc and /var paths at this test's certificates and a temp persistence dir.
    const port = await freePort();
    const persist = mkdtempSync(join(tmpdir(), 'earshot-shipped-conf-'));
    const conf = readFileSync(join(dirname(shippedAclPath()), 'mosquitto.conf'), 'utf8')
      .replaceAll('/etc/mosquitto/earshot/', broker.dir + '/')
      .replaceAll('/var/lib/mosquitto/', persist + '/')
      .replace('listener 8883', `listener ${port} 127.0.0.1`);
    const confFile = join(persist, 'mosquitto.conf');
    writeFileSync(confFile, `user ${userInfo().username}\n` + conf);
    const proc = spawn('/usr/sbin/mosquitto', ['-c', confFile], { stdio: 'ignore' });
    try {
      const cert = broker.clientCert('spk-a');
      const opts = { protocolVersion: 5 as const, ca: readFileSync(broker.caFile!), cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile), reconnectPeriod: 0, connectTimeout: 3000 };
      let c: MqttClient | undefined;
      await waitFor(async () => {
        c = await connectAsync(`mqtts://localhost:${port}`, { ...opts, clientId: 'spk-a' }).catch(() => undefined);
        return c !== undefined;
      }, 5000, 'shipped config listening');
      clients.push(c!);
      const own = (await c!.publishAsync(statusTopic('spk-a'), '{"online":true}', { qos: 1, retain: true })) as { reasonCode?: number } | undefined;
      expect(own?.reasonCode ?? 0).toBeLessThan(0x80);
      const other = await c!.publishAsync(recordingTopic('spk-b', 'r1'), Buffer.from('x'), { qos: 1 }).then(() => 0, (e: { code?: number }) => e.code);
      expect(other).toBe(0x87);
      // Plain MQTT on the TLS port does not get in.
      await expect(connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId: 'plain', reconnectPeriod: 0, connectTimeout: 1500 })).rejects.toThrow();
    } finally {
      proc.kill('SIGTERM');
      rmSync(persist, { recursive: true, force: true });
    }
  });
});
