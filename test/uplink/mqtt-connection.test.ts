/** MqttConnection against a real Mosquitto (plain TCP here for speed; TLS is covered in test/mqtt). */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttConnection, WithdrawingStore, type MqttConnectionOptions } from '../../src/uplink/mqtt-connection.js';
import { recordingMessage } from '../../src/uplink/recording-message.js';
import { statusTopic } from '../../src/core/topics.js';
import { freePort, startTestBroker, type TestBroker } from '../helpers/mosquitto.js';
import { makeRecording, waitFor } from './fakes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(): Promise<TestBroker> {
  const b = await startTestBroker({ tls: false });
  cleanups.push(() => b.dispose());
  return b;
}

function connection(url: string, over: Partial<MqttConnectionOptions> = {}): MqttConnection {
  const c = new MqttConnection({ brokerUrl: url, deviceId: 'spk-1', sessionExpirySec: 60, keepaliveSec: 5, reconnectMinMs: 50, reconnectMaxMs: 400, connectTimeoutMs: 2000, ...over });
  cleanups.push(() => c.stop());
  return c;
}

async function watcher(url: string, topic: string): Promise<{ client: MqttClient; messages: { topic: string; payload: string; retain: boolean }[] }> {
  const client = await connectAsync(url, { protocolVersion: 5, clientId: 'watcher-' + Math.random().toString(36).slice(2, 8), reconnectPeriod: 0 });
  cleanups.push(() => void client.end(true));
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (t, p, pkt) => messages.push({ topic: t, payload: p.toString(), retain: pkt.retain }));
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, messages };
}

describe('MqttConnection', () => {
  it('keeps retrying with backoff while the broker is down, then connects and publishes a retained online status', async () => {
    const port = await freePort();
    const conn = connection(`mqtt://127.0.0.1:${port}`, { statusFields: () => ({ localOnly: true, outboxDepth: 7 }) });
    conn.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(conn.ready).toBe(false);
    expect(conn.stats.errors).toBeGreaterThan(0);
    // Start a broker on that port now.
    const real = await startOnPort(port);
    await waitFor(() => conn.ready, 5000, 'connected after broker came up');
    const w = await watcher(real.url, statusTopic('spk-1'));
    await waitFor(() => w.messages.length > 0, 2000, 'retained status');
    const st = JSON.parse(w.messages[0]!.payload) as Record<string, unknown>;
    expect(w.messages[0]!.retain).toBe(true);
    expect(st).toMatchObject({ online: true, localOnly: true, outboxDepth: 7 });
  });

  it('leaves a retained "offline" last will when the connection dies, and reconnects by itself', async () => {
    const b = await broker();
    const conn = connection(b.url);
    conn.start();
    await waitFor(() => conn.ready, 3000, 'connected');
    const w = await watcher(b.url, statusTopic('spk-1'));
    await waitFor(() => w.messages.some((m) => JSON.parse(m.payload).online === true), 2000, 'online');
    // Take over the device's session with the same client id: the broker drops the device's connection
    // without a DISCONNECT from it, so its will is published.
    const thief = await connectAsync(b.url, { protocolVersion: 5, clientId: 'spk-1', clean: true, reconnectPeriod: 0 });
    thief.end(true);
    await waitFor(() => w.messages.some((m) => JSON.parse(m.payload).online === false), 3000, 'will');
    await waitFor(() => conn.ready && conn.stats.connects >= 2, 5000, 'reconnected');
    await waitFor(() => JSON.parse(w.messages.at(-1)!.payload).online === true, 3000, 'online again');
  });

  it('publishes a retained offline status on a graceful stop', async () => {
    const b = await broker();
    const conn = connection(b.url);
    conn.start();
    await waitFor(() => conn.ready, 3000, 'connected');
    await conn.stop();
    const w = await watcher(b.url, statusTopic('spk-1'));
    await waitFor(() => w.messages.length > 0, 2000, 'retained');
    expect(JSON.parse(w.messages.at(-1)!.payload).online).toBe(false);
  });

  it('withdraws a purged publish from the client outgoing store before the broker acknowledged it', async () => {
    const b = await broker();
    const conn = connection(b.url, { keepaliveSec: 30 });
    conn.start();
    await waitFor(() => conn.ready, 3000, 'connected');
    // Readiness does not wait for the online status' PUBACK any more (a silent broker must not block uploads).
    await waitFor(() => conn.outgoingMessageIds().length === 0, 3000, 'online status acknowledged');
    b.pause(); // the broker answers nothing: PUBACKs are withheld
    try {
      const h1 = conn.publishRecording(recordingMessage('spk-1', makeRecording('o1', 1)));
      const h2 = conn.publishRecording(recordingMessage('spk-1', makeRecording('o1', 2)));
      expect(conn.outgoingMessageIds()).toHaveLength(2);
      h1.cancel();
      expect(await h1.result).toEqual({ kind: 'cancelled', why: 'purged' });
      expect(conn.outgoingMessageIds()).toHaveLength(1);
      b.resume();
      expect(await h2.result).toMatchObject({ kind: 'acked' });
      expect(conn.outgoingMessageIds()).toHaveLength(0);
      expect(conn.inFlightCount).toBe(0);
    } finally {
      b.resume();
    }
  });

  it('never hands a recording to mqtt.js while offline (it would be replayed later without a gate check)', async () => {
    const port = await freePort();
    const conn = connection(`mqtt://127.0.0.1:${port}`);
    conn.start();
    const h = conn.publishRecording(recordingMessage('spk-1', makeRecording('o1', 1)));
    expect(await h.result).toEqual({ kind: 'failed', message: 'not connected' });
    expect(conn.outgoingMessageIds()).toHaveLength(0);
  });
});

/** A plain broker on a specific port (the first test needs the port before the broker exists). */
async function startOnPort(port: number): Promise<TestBroker> {
  const b = await startTestBroker({ tls: false, extraConfig: [`listener ${port} 127.0.0.1`] });
  cleanups.push(() => b.dispose());
  return { ...b, url: `mqtt://127.0.0.1:${port}` };
}

describe('WithdrawingStore (the outgoing store MqttConnection gives mqtt.js)', () => {
  it('a publish on a withdrawn topic is refused by the store, so mqtt.js never writes it; others go out', { timeout: 10_000 }, async () => {
    const b = await broker();
    const w = await watcher(b.url, 't/#');
    let client: MqttClient | undefined;
    const store = new WithdrawingStore((id) => client?.removeOutgoingMessage(id));
    client = await connectAsync(b.url, { protocolVersion: 5, clientId: 'withdraw-test', reconnectPeriod: 0, outgoingStore: store });
    const c = client;
    cleanups.push(() => void c.end(true));
    store.withdraw('t/withdrawn');
    const refused = await c.publishAsync('t/withdrawn', 'audio', { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Refused by the store; mqtt.js released its message id and ended the publish ("Message removed").
    expect(String(refused)).toMatch(/Message removed/);
    expect(Object.keys(c.outgoing)).toEqual([]);
    await c.publishAsync('t/kept', 'audio', { qos: 1 });
    await waitFor(() => w.messages.some((m) => m.topic === 't/kept'), 2000, 't/kept at the watcher');
    expect(w.messages.map((m) => m.topic)).toEqual(['t/kept']);
    // The refusal is used up: a later publish on that topic (after a new gate check) goes out.
    await c.publishAsync('t/withdrawn', 'audio', { qos: 1 });
    await waitFor(() => w.messages.some((m) => m.topic === 't/withdrawn'), 2000, 're-published topic at the watcher');
  });
});
