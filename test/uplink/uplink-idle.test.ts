/**
 * Issue 10 §2: an idle uplink costs nothing. Connected to a healthy broker with an empty outbox, the uplink as
 * the daemon builds it (createUplink, no poll interval given) runs no outbox queries; it used to run ~750 a
 * second because `pollMs: undefined` overrode the default and the poll timer fired after 1 ms.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboxRepo } from '../../src/core/ports.js';
import { createUplink } from '../../src/uplink/uplink.js';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, MemorySettings, ScriptedGate, makeRecording, queueRecording, waitFor } from './fakes.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Every OutboxRepo call counted, whatever its name. */
function counted(inner: OutboxRepo): { repo: OutboxRepo; calls: () => number } {
  let n = 0;
  const repo = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { repo, calls: () => n };
}

describe('idle uplink', () => {
  it('connected, empty outbox: no outbox queries over an idle interval; a notify still uploads at once', async () => {
    const aedes = await Aedes.createBroker();
    const server: Server = createServer(aedes.handle as unknown as (s: import('node:net').Socket) => void);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => aedes.close(() => server.close(() => r()))));
    const port = (server.address() as { port: number }).port;

    const memory = new MemoryOutbox();
    const { repo: outbox, calls } = counted(memory);
    const audit = new MemoryAudit();
    const recordings = new MemoryRecordings(memory, audit);
    const gate = new ScriptedGate();
    gate.grant('o1', 0);
    const uplink = createUplink({
      config: {
        device: { id: 'spk-idle', groups: [] },
        uplink: { brokerUrl: `mqtt://127.0.0.1:${port}`, caFile: '', certFile: '', keyFile: '', sessionExpirySec: 60, keepaliveSec: 30, maxInFlight: 4, reconnectMinMs: 50, reconnectMaxMs: 200 },
      },
      outbox,
      recordings,
      gate,
      audit,
      settings: new MemorySettings(),
      protocolVersion: 4,
    })!;
    cleanups.push(() => uplink.stop());
    uplink.start();
    await waitFor(() => uplink.connection.ready, 3000, 'connected');
    // Start-up: one look at the outbox, the status document, and the snapshot writes of the first save interval.
    await new Promise((r) => setTimeout(r, 1200));
    const before = calls();
    await new Promise((r) => setTimeout(r, 1500));
    expect(calls() - before, 'outbox queries during 1.5 s idle').toBe(0);

    const rec = makeRecording('o1', 1000, 200, 'spk-idle');
    await queueRecording(memory, recordings, rec);
    uplink.notify();
    await waitFor(() => recordings.uploaded.has(rec.id), 2000, 'upload after notify');
    expect(audit.ofType('recording.uploaded')).toHaveLength(1);
  });
});
