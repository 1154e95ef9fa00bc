/**
 * The no-setup demo runs on the embedded aedes broker, which speaks MQTT 3.1.1 only: the uplink must work
 * there with protocolVersion 4 (no MQTT 5 properties; PUBACKs without reason codes).
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { createUplink } from '../../src/uplink/uplink.js';
import { recordingIdFromTopic } from '../../src/core/topics.js';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, ScriptedGate, makeRecording, queueRecording, waitFor } from './fakes.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('uplink on the embedded aedes broker (demo, MQTT 3.1.1)', () => {
  it('uploads consented recordings, holds the rest, and marks them uploaded after the PUBACK', async () => {
    const aedes = await Aedes.createBroker();
    const seen: string[] = [];
    aedes.on('publish', (packet) => {
      const id = recordingIdFromTopic(packet.topic);
      if (id) seen.push(id);
    });
    const server: Server = createServer(aedes.handle as unknown as (s: import('node:net').Socket) => void);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => aedes.close(() => server.close(() => r()))));
    const port = (server.address() as { port: number }).port;

    const outbox = new MemoryOutbox();
    const audit = new MemoryAudit();
    const recordings = new MemoryRecordings(outbox, audit);
    const gate = new ScriptedGate();
    const uplink = createUplink({
      config: {
        device: { id: 'spk-demo', groups: [] },
        uplink: { brokerUrl: `mqtt://127.0.0.1:${port}`, caFile: '', certFile: '', keyFile: '', sessionExpirySec: 60, keepaliveSec: 10, maxInFlight: 4, reconnectMinMs: 50, reconnectMaxMs: 200 },
      },
      outbox,
      recordings,
      gate,
      audit,
      protocolVersion: 4,
    })!;
    cleanups.push(() => uplink.stop());
    const early = makeRecording('o1', 1000, 200, 'spk-demo');
    await queueRecording(outbox, recordings, early);
    uplink.start();
    await waitFor(() => uplink.connection.ready, 3000, 'connected');
    await waitFor(async () => (await outbox.count()) === 0, 3000, 'no-consent recording withdrawn');
    expect(seen).toEqual([]);
    gate.grant('o1', 2000);
    const late = makeRecording('o1', 3000, 200, 'spk-demo');
    await queueRecording(outbox, recordings, late);
    uplink.notify();
    await waitFor(() => recordings.uploaded.has(late.id), 3000, 'uploaded');
    expect(seen).toEqual([late.id]);
  });

  it('createUplink returns undefined when no broker URL is configured (uplink disabled)', () => {
    const u = createUplink({
      config: { device: { id: 'x', groups: [] }, uplink: { brokerUrl: '', caFile: '', certFile: '', keyFile: '', sessionExpirySec: 1, keepaliveSec: 1, maxInFlight: 1, reconnectMinMs: 1, reconnectMaxMs: 1 } },
      outbox: new MemoryOutbox(),
      recordings: new MemoryRecordings(new MemoryOutbox(), new MemoryAudit()),
      gate: new ScriptedGate(),
      audit: new MemoryAudit(),
    });
    expect(u).toBeUndefined();
  });
});
