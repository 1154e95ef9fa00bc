/**
 * Issue 10 §3: a broker that accepts the connection but never acknowledges. Recordings still go out (the status
 * PUBACK does not gate them), status says "connected, broker not acknowledging" (not "not connected"), stop()
 * is bounded and destroys the connection, and nothing unacknowledged is marked sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeDrain, readDrainProgress } from '../../src/uplink/drain-progress.js';
import { STOP_BUDGET_MS, createUplink } from '../../src/uplink/uplink.js';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, MemorySettings, ScriptedGate, makeRecording, queueRecording, waitFor } from './fakes.js';
import { startSilentBroker, type SilentBroker } from './support/silent-broker.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function silent(opts: { holdOpen?: boolean } = {}): Promise<SilentBroker> {
  const b = await startSilentBroker(opts);
  cleanups.push(() => b.close());
  return b;
}

function device(b: SilentBroker) {
  const outbox = new MemoryOutbox();
  const audit = new MemoryAudit();
  const recordings = new MemoryRecordings(outbox, audit);
  const settings = new MemorySettings();
  const gate = new ScriptedGate();
  gate.grant('o1', 0);
  const uplink = createUplink({
    config: {
      device: { id: 'spk-silent', groups: [] },
      uplink: { brokerUrl: b.url, caFile: '', certFile: '', keyFile: '', sessionExpirySec: 60, keepaliveSec: 60, maxInFlight: 4, reconnectMinMs: 50, reconnectMaxMs: 200 },
    },
    outbox,
    recordings,
    gate,
    audit,
    settings,
    ackTimeoutMs: 300,
    onConfigMessage: () => undefined, // subscribes too: the SUBACK never comes either
  })!;
  return { outbox, audit, recordings, settings, uplink };
}

describe('a broker that accepts but never acknowledges', () => {
  it('recordings are published, status says "not acknowledging", stop is bounded and closes the socket, nothing is marked sent', async () => {
    const b = await silent();
    const d = device(b);
    for (let i = 0; i < 3; i++) await queueRecording(d.outbox, d.recordings, makeRecording('o1', 1000 + i, 200, 'spk-silent'));
    d.uplink.start();
    // Neither the missing SUBACK nor the missing status PUBACK holds the uploads back for long.
    await waitFor(() => b.recordingPublishes.length === 3, 5000, `three recording publishes (got ${b.received.join(' ')})`);
    await waitFor(() => d.uplink.connection.link === 'not-acknowledging', 3000, 'link not-acknowledging');
    expect(d.uplink.progress()).toMatchObject({ link: 'not-acknowledging', connected: true, inFlight: 3, sent: 0 });
    // What `earshot status` reads from another process.
    await waitFor(async () => (await readDrainProgress(d.settings, d.outbox)).link === 'not-acknowledging', 3000, 'saved snapshot');
    expect(describeDrain(await readDrainProgress(d.settings, d.outbox))).toContain('broker connected but not acknowledging');

    const t0 = performance.now();
    await d.uplink.stop();
    const stopMs = performance.now() - t0;
    expect(stopMs).toBeLessThan(STOP_BUDGET_MS + 500);
    // The connection is gone (destroyed if need be): nothing keeps the process alive.
    await waitFor(() => b.open() === 0, 2000, 'socket closed by the device');
    expect(d.recordings.uploaded.size).toBe(0);
    expect(d.audit.ofType('recording.uploaded')).toHaveLength(0);
    expect(await d.outbox.count()).toBe(3);
    const after = await readDrainProgress(d.settings, d.outbox);
    expect(after).toMatchObject({ running: false, inFlight: 0, sent: 0, queued: 3, link: 'not-connected' });
  }, 20_000);

  it('a broker that never lets the connection close either: stop returns within its budget and destroys the socket', async () => {
    const b = await silent({ holdOpen: true });
    // TCP socket handles of this process: the device's own socket must be gone after stop (a half-closed socket
    // waiting for the broker's FIN would keep a daemon alive); the broker's side stays open on purpose.
    const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = tcpSockets();
    const d = device(b);
    d.uplink.start();
    await waitFor(() => b.received.includes('CONNECT') && tcpSockets() - before === 2, 3000, 'connected (device side + broker side)');
    await new Promise((r) => setTimeout(r, 100)); // the CONNACK is in
    const t0 = performance.now();
    await d.uplink.stop();
    expect(performance.now() - t0).toBeLessThan(STOP_BUDGET_MS + 500);
    expect(b.received).toContain('DISCONNECT'); // it did try to leave gracefully first
    await waitFor(() => tcpSockets() - before === 1, 2000, "only the broker's side of the socket left");
  }, 20_000);
});
