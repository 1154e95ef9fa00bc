/** The publisher's decisions, against in-memory ports and an in-memory transport (no broker). */
import { afterEach, describe, expect, it } from 'vitest';
import { DRAIN_PROGRESS_KEY, readDrainProgress } from '../../src/uplink/drain-progress.js';
import { OutboxPublisher, type OutboxPublisherOptions } from '../../src/uplink/outbox-publisher.js';
import { FakeTransport } from './fake-transport.js';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, MemorySettings, ScriptedGate, makeRecording, queueRecording, waitFor } from './fakes.js';

const publishers: OutboxPublisher[] = [];
afterEach(async () => {
  for (const p of publishers.splice(0)) await p.stop(10);
});

function setup(over: Partial<OutboxPublisherOptions> = {}) {
  const outbox = new MemoryOutbox();
  const audit = new MemoryAudit();
  const recordings = new MemoryRecordings(outbox, audit);
  const gate = new ScriptedGate();
  const transport = new FakeTransport();
  const settings = new MemorySettings();
  const pub = new OutboxPublisher({
    deviceId: 'spk-1',
    outbox,
    recordings,
    gate,
    audit,
    transport,
    settings,
    maxInFlight: 4,
    heldRecheckMs: 20,
    progressSaveMs: 0,
    retry: { minMs: 50, maxMs: 100 },
    ...over,
  });
  publishers.push(pub);
  return { outbox, recordings, gate, audit, transport, settings, pub };
}

async function queueMany(s: ReturnType<typeof setup>, owner: string, n: number, at = 1000) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = makeRecording(owner, at + i);
    await queueRecording(s.outbox, s.recordings, r);
    ids.push(r.id);
  }
  return ids;
}

describe('OutboxPublisher', () => {
  it('publishes consented recordings, marks them uploaded only after the PUBACK, then removes them', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    s.transport.autoAck = undefined; // hold the PUBACKs
    const ids = await queueMany(s, 'o1', 3);
    s.pub.start();
    await waitFor(() => s.transport.published.length === 3, 2000, 'publishes');
    expect(s.recordings.uploaded.size).toBe(0);
    expect(await s.outbox.count()).toBe(3);
    s.transport.published[0]!.answer({ kind: 'acked', reasonCode: 0 });
    s.transport.published[1]!.answer({ kind: 'acked', reasonCode: 0x10 }); // "no matching subscribers" is a success
    await waitFor(() => s.recordings.uploaded.size === 2, 2000, 'uploads marked');
    expect([...s.recordings.uploaded.keys()].sort()).toEqual([ids[0], ids[1]].sort());
    expect(await s.outbox.count()).toBe(1);
    expect(s.audit.ofType('recording.uploaded')).toHaveLength(2);
    expect(s.pub.progress()).toMatchObject({ sent: 2, inFlight: 1 });
  });

  it('never has more than maxInFlight unacknowledged publishes', async () => {
    const s = setup({ maxInFlight: 3 });
    s.gate.grant('o1', 0);
    s.transport.autoAck = undefined;
    await queueMany(s, 'o1', 10);
    s.pub.start();
    await waitFor(() => s.transport.published.length === 3, 2000, 'window filled');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.transport.published).toHaveLength(3);
    // Each acknowledgement frees exactly one slot.
    for (let k = 0; k < 7; k++) {
      s.transport.pending()[0]!.answer({ kind: 'acked', reasonCode: 0 });
      await waitFor(() => s.transport.published.length === Math.min(10, 4 + k), 2000, 'next publish');
      expect(s.transport.pending().length).toBeLessThanOrEqual(3);
    }
  });

  it("narrows the window to the broker's Receive Maximum", async () => {
    const s = setup({ maxInFlight: 10 });
    s.transport.receiveMaximum = 2;
    s.transport.autoAck = undefined;
    s.gate.grant('o1', 0);
    await queueMany(s, 'o1', 5);
    s.pub.start();
    await waitFor(() => s.transport.published.length === 2, 2000, 'window');
    await new Promise((r) => setTimeout(r, 60));
    expect(s.transport.published).toHaveLength(2);
  });

  it('keeps a broker-refused recording queued, audits it and retries it with backoff; never marks it sent', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    s.transport.autoAck = 0x87;
    const [id] = await queueMany(s, 'o1', 1);
    s.pub.start();
    await waitFor(() => (s.outbox.rows.get(id!)?.attempts ?? 0) >= 3, 3000, 'three attempts');
    const row = s.outbox.rows.get(id!)!;
    expect(row.lastError).toMatch(/0x87/);
    expect(s.recordings.uploaded.size).toBe(0);
    expect(s.audit.ofType('recording.upload-refused').every((e) => e.detail?.['reasonCode'] === 0x87)).toBe(true);
    // Retries are spaced by the backoff, not hammered.
    expect(s.transport.published.length).toBeLessThan(10);
    // The broker starts accepting: it goes through.
    s.transport.autoAck = 0;
    await waitFor(() => s.recordings.uploaded.has(id!), 3000, 'eventual upload');
    expect(await s.outbox.count()).toBe(0);
  });

  it('with no consent publishes nothing and takes the owner out of the outbox; other owners are unaffected', async () => {
    const s = setup();
    s.gate.grant('o2', 0);
    await queueMany(s, 'o1', 5);
    const o2 = await queueMany(s, 'o2', 2, 5000);
    s.pub.start();
    await waitFor(() => s.recordings.uploaded.size === 2, 2000, 'o2 uploads');
    expect(s.transport.ids().sort()).toEqual([...o2].sort());
    expect(await s.outbox.count()).toBe(0);
    expect(s.pub.progress().withdrawn).toBe(5);
  });

  it('uploads only recordings captured while consent was active (a later grant does not cover older ones)', async () => {
    const s = setup();
    const before = await queueMany(s, 'o1', 3, 1000);
    s.gate.grant('o1', 2000);
    const after = await queueMany(s, 'o1', 2, 3000);
    s.pub.start();
    await waitFor(() => s.recordings.uploaded.size === 2 && s.outbox.rows.size === 0, 2000, 'drain');
    expect(s.transport.ids().sort()).toEqual([...after].sort());
    for (const id of before) expect(s.recordings.uploaded.has(id)).toBe(false);
  });

  it('holds everything while local-only is on and resumes when it is switched off', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    s.gate.localOnly = true;
    await queueMany(s, 'o1', 4);
    s.pub.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(s.transport.published).toHaveLength(0);
    expect(await s.outbox.count()).toBe(4);
    expect(s.pub.progress().held).toBe(4);
    s.gate.localOnly = false;
    s.pub.notify();
    await waitFor(() => s.recordings.uploaded.size === 4, 2000, 'resume');
  });

  it("one owner's held backlog costs one gate check per re-check and does not block another owner behind it", async () => {
    const s = setup({ maxInFlight: 4, heldRecheckMs: 20 });
    s.gate.grant('a', 0);
    s.gate.grant('b', 0);
    s.gate.localOnlyOwners.add('a');
    await queueMany(s, 'a', 400, 1000);
    const b = await queueMany(s, 'b', 6, 100_000);
    s.pub.start();
    await waitFor(() => s.recordings.uploaded.size === 6, 3000, "b's uploads");
    expect(s.transport.ids().sort()).toEqual([...b].sort());
    const c1 = s.gate.checks;
    await new Promise((r) => setTimeout(r, 200)); // ~10 polls
    const perPoll = (s.gate.checks - c1) / 10;
    expect(perPoll).toBeLessThan(3);
    expect(s.pub.progress().held).toBe(400);
    expect(await s.outbox.count()).toBe(400);
    s.gate.localOnlyOwners.delete('a');
    s.pub.notify();
    await waitFor(() => s.recordings.uploaded.size === 406, 5000, "a's backlog after local-only off");
  });

  it('holds while uploads are disabled by the fleet', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    s.gate.uploadsEnabled = false;
    await queueMany(s, 'o1', 2);
    s.pub.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(s.transport.published).toHaveLength(0);
    expect(await s.outbox.count()).toBe(2);
  });

  it('asks the gate after reading the recording, right before the hand-over: a change made meanwhile wins', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    await queueMany(s, 'o1', 1);
    // The owner switches local-only on while the recording is being read and decrypted.
    const open = s.recordings.open.bind(s.recordings);
    s.recordings.open = async (id: string) => {
      const r = await open(id);
      s.gate.localOnly = true;
      return r;
    };
    s.pub.start();
    await waitFor(() => s.pub.progress().held === 1, 2000, 'held');
    expect(s.transport.published).toHaveLength(0);
    expect(await s.outbox.count()).toBe(1);
  });

  it('asks the gate again for every publish (no cached answer)', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    await queueMany(s, 'o1', 6);
    s.pub.start();
    await waitFor(() => s.recordings.uploaded.size === 6, 2000, 'drain');
    expect(s.gate.checks).toBeGreaterThanOrEqual(6);
  });

  it('purgeOwner withdraws queued and unacknowledged publishes of that owner only', async () => {
    const s = setup({ maxInFlight: 4 });
    s.gate.grant('o1', 0);
    s.gate.grant('o2', 0);
    s.transport.autoAck = undefined;
    const o1 = new Set(await queueMany(s, 'o1', 20, 1000));
    await queueMany(s, 'o2', 2, 100_000);
    s.pub.start();
    await waitFor(() => s.transport.published.length === 4, 2000, 'window');
    s.gate.revoke('o1', 10);
    const removed = await s.pub.purgeOwner('o1');
    expect(removed).toBe(20);
    // The four unacknowledged o1 publishes were withdrawn from the transport.
    expect(s.transport.published.slice(0, 4).every((p) => p.cancelled)).toBe(true);
    s.transport.autoAck = 0;
    await waitFor(() => s.recordings.uploaded.size === 2, 2000, 'o2 drains');
    // Nothing of o1 was handed over after the purge.
    expect(s.transport.published.slice(4).filter((p) => o1.has(p.msg.properties.userProperties['recordingId']!))).toHaveLength(0);
    expect(s.transport.published).toHaveLength(6);
    expect(await s.outbox.count()).toBe(0);
  });

  it('keeps recordings queued across a lost connection and re-asks the gate before re-publishing', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    s.transport.autoAck = undefined;
    await queueMany(s, 'o1', 3);
    s.pub.start();
    await waitFor(() => s.transport.published.length === 3, 2000, 'publishes');
    const checksBefore = s.gate.checks;
    s.transport.setReady(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(await s.outbox.count()).toBe(3);
    expect(s.pub.progress().inFlight).toBe(0);
    // While offline local-only was switched on: nothing may go out after the reconnect.
    s.gate.localOnly = true;
    s.transport.autoAck = 0;
    s.transport.setReady(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.transport.published).toHaveLength(3);
    expect(s.gate.checks).toBeGreaterThan(checksBefore);
    s.gate.localOnly = false;
    s.pub.notify();
    await waitFor(() => s.recordings.uploaded.size === 3, 2000, 'after reconnect');
  });

  it('drops an entry whose recording was deleted meanwhile', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    const [id] = await queueMany(s, 'o1', 1);
    s.recordings.recs.delete(id!);
    s.pub.start();
    await waitFor(async () => (await s.outbox.count()) === 0, 2000, 'removal');
    expect(s.transport.published).toHaveLength(0);
  });

  it('saves drain progress where `earshot status` reads it', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    await queueMany(s, 'o1', 3);
    s.transport.autoAck = 0x87;
    await queueMany(s, 'o1', 0);
    s.pub.start();
    await waitFor(() => s.pub.progress().failed >= 3, 2000, 'failures');
    await s.pub.stop(10);
    expect(s.settings.values.has(DRAIN_PROGRESS_KEY)).toBe(true);
    const p = await readDrainProgress(s.settings, s.outbox);
    expect(p.queued).toBe(3);
    expect(p.failed).toBeGreaterThanOrEqual(3);
    expect(p.sent).toBe(0);
    expect(p.lastError).toMatch(/0x87/);
  });
});

describe('OutboxPublisher: publish once, audit once (issue 10 §1)', () => {
  it('publishes each recording exactly once while acknowledgements are being stored slowly', async () => {
    const s = setup({ maxInFlight: 4 });
    s.gate.grant('o1', 0);
    // The store takes a while to record each upload, as SQLite does under load: acknowledgements of other
    // publishes arrive meanwhile and start new pumps, which must not take the row being recorded again.
    const mark = s.recordings.markUploaded.bind(s.recordings);
    s.recordings.markUploaded = async (id: string, at: number) => {
      await new Promise((r) => setTimeout(r, 5));
      await mark(id, at);
    };
    const ids = await queueMany(s, 'o1', 20);
    s.pub.start();
    await waitFor(async () => (await s.outbox.count()) === 0 && s.pub.progress().inFlight === 0, 5000, 'drain');
    const published = s.transport.ids();
    expect(published.length, `published ${published.length} times for 20 recordings`).toBe(20);
    expect(new Set(published).size).toBe(20);
    expect(s.audit.ofType('recording.uploaded')).toHaveLength(20);
    expect(new Set(s.audit.ofType('recording.uploaded').map((e) => e.recordingId))).toEqual(new Set(ids));
    expect(s.pub.progress().sent).toBe(20);
  });

  it('writes no upload audit entry of its own: markUploaded is the one place an upload is recorded', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    const [id] = await queueMany(s, 'o1', 1);
    s.pub.start();
    await waitFor(() => s.recordings.uploaded.has(id!), 2000, 'upload');
    await new Promise((r) => setTimeout(r, 50));
    expect(s.audit.ofType('recording.uploaded').map((e) => e.recordingId)).toEqual([id]);
  });
});

/** Counts the outbox queries the publisher makes. */
function countingOutbox(inner: MemoryOutbox): MemoryOutbox & { queries: number } {
  const c = inner as MemoryOutbox & { queries: number };
  c.queries = 0;
  for (const m of ['due', 'count', 'nextAttemptAfter'] as const) {
    const f = inner[m].bind(inner) as (...a: never[]) => Promise<unknown>;
    (c as unknown as Record<string, unknown>)[m] = (...a: never[]) => {
      c.queries++;
      return f(...a);
    };
  }
  return c;
}

describe('OutboxPublisher: driven by events, not polling (issue 10 §2)', () => {
  it('an idle publisher with an empty outbox makes no outbox queries', async () => {
    const s = setup();
    const outbox = countingOutbox(s.outbox);
    s.pub.start();
    await new Promise((r) => setTimeout(r, 100)); // start-up: one look at the outbox
    const before = outbox.queries;
    await new Promise((r) => setTimeout(r, 1000));
    expect(outbox.queries - before).toBe(0);
    // An event still drains at once.
    s.gate.grant('o1', 0);
    const [id] = await queueMany(s, 'o1', 1);
    s.pub.notify();
    await waitFor(() => s.recordings.uploaded.has(id!), 1000, 'upload after notify');
  });

  it('a refused entry is retried when its retry falls due, with no queries in between', async () => {
    const s = setup({ retry: { minMs: 300, maxMs: 300, jitter: 0 } });
    const outbox = countingOutbox(s.outbox);
    s.gate.grant('o1', 0);
    s.transport.autoAck = 0x87;
    const [id] = await queueMany(s, 'o1', 1);
    s.pub.start();
    await waitFor(() => (s.outbox.rows.get(id!)?.attempts ?? 0) === 1, 1000, 'first refusal');
    const q1 = outbox.queries;
    await new Promise((r) => setTimeout(r, 150)); // half-way to the retry
    expect(outbox.queries, 'no polling while waiting for the retry').toBe(q1);
    // On its timer: at 300 ms, not at some later poll.
    await waitFor(() => (s.outbox.rows.get(id!)?.attempts ?? 0) === 2, 650, 'the retry, on its timer');
    s.transport.autoAck = 0;
    await waitFor(() => s.recordings.uploaded.has(id!), 1500, 'upload once the broker accepts');
  });

  it('entries left waiting by an earlier run are sent when their time comes (the outbox says when)', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    const r = makeRecording('o1', 1000);
    await queueRecording(s.outbox, s.recordings, r);
    await s.outbox.recordFailure(r.id, 'earlier run', Date.now() + 300);
    s.pub.start();
    await new Promise((res) => setTimeout(res, 100));
    expect(s.transport.published).toHaveLength(0);
    await waitFor(() => s.recordings.uploaded.has(r.id), 650, 'sent when due (300 ms), not at a later poll');
  });
});

describe('OutboxPublisher: the status snapshot never goes stale (issue 10 §7)', () => {
  it('saves the last change even when it falls inside the save interval, and marks itself stopped on close', async () => {
    const s = setup({ progressSaveMs: 300 });
    s.gate.grant('o1', 0);
    await queueMany(s, 'o1', 13);
    s.pub.start();
    await waitFor(() => s.recordings.uploaded.size === 13, 2000, 'all sent');
    // No further event happens: the trailing save must still write the final state.
    await waitFor(async () => {
      const p = await readDrainProgress(s.settings, s.outbox);
      return p.sent === 13 && p.inFlight === 0;
    }, 1500, 'snapshot with all 13 sent');
    const live = await readDrainProgress(s.settings, s.outbox);
    expect(live).toMatchObject({ running: true, sent: 13, inFlight: 0, queued: 0, link: 'connected' });
    await s.pub.stop(10);
    await s.pub.close();
    expect(await readDrainProgress(s.settings, s.outbox)).toMatchObject({ running: false, stale: true, sent: 13, inFlight: 0 });
    expect(JSON.parse(s.settings.values.get(DRAIN_PROGRESS_KEY)!)).toMatchObject({ running: false, inFlight: 0 });
  });

  it('after close nothing stays "in flight" in the snapshot, even if the broker never answered', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    s.transport.autoAck = undefined; // never acknowledged
    await queueMany(s, 'o1', 5);
    s.pub.start();
    await waitFor(() => s.transport.published.length === 4, 2000, 'window full');
    await s.pub.stop(20);
    s.transport.setReady(false); // the connection closes: the publishes are withdrawn
    await s.pub.close(20);
    const saved = JSON.parse(s.settings.values.get(DRAIN_PROGRESS_KEY)!) as Record<string, unknown>;
    expect(saved).toMatchObject({ running: false, inFlight: 0, sent: 0, queued: 5 });
    expect(s.recordings.uploaded.size).toBe(0);
  });
});

describe('OutboxPublisher: one clock', () => {
  it('waitForDrain times out by the injected clock, not the wall clock', async () => {
    let now = 1_000_000;
    const s = setup({ clock: { now: () => now } });
    s.gate.grant('o1', 0);
    s.gate.localOnly = true; // held: the outbox never drains
    await queueMany(s, 'o1', 1);
    s.pub.start();
    let result: boolean | undefined;
    void s.pub.waitForDrain(50).then((r) => (result = r));
    await new Promise((r) => setTimeout(r, 200)); // 200 ms of wall time, 0 ms of device time
    expect(result).toBeUndefined();
    now += 100;
    await waitFor(() => result !== undefined, 1000, 'timeout by the clock');
    expect(result).toBe(false);
  });
});

describe('OutboxPublisher: gate change events', () => {
  it("releases held uploads when the gate reports a change, without anyone calling notify()", async () => {
    const s = setup({ heldRecheckMs: 60_000 });
    s.gate.grant('o1', 0);
    s.gate.localOnly = true;
    await queueMany(s, 'o1', 3);
    s.pub.start();
    await waitFor(() => s.pub.progress().held === 3, 2000, 'held');
    s.gate.localOnly = false;
    s.gate.changed();
    await waitFor(() => s.recordings.uploaded.size === 3, 2000, 'released by the gate event');
  });
});

describe('OutboxPublisher: a store error does not stall the uplink', () => {
  it('a failing outbox query is retried on the timer, without any new event', async () => {
    const s = setup();
    s.gate.grant('o1', 0);
    const [id] = await queueMany(s, 'o1', 1);
    const due = s.outbox.due.bind(s.outbox);
    let failOnce = true;
    s.outbox.due = async (now: number, limit: number) => {
      if (failOnce) {
        failOnce = false;
        throw new Error('SQLITE_BUSY: database is locked');
      }
      return due(now, limit);
    };
    s.pub.start();
    await waitFor(() => s.pub.progress().lastError !== null, 1000, 'the failure');
    expect(s.pub.progress().lastError).toMatch(/SQLITE_BUSY/);
    await waitFor(() => s.recordings.uploaded.has(id!), 8000, 'upload after the retry');
  }, 12_000);
});

describe('OutboxPublisher: a refused publish is retried once per retry, not twice', () => {
  it('each refusal is recorded before the row can be taken again (slow store)', async () => {
    const s = setup({ maxInFlight: 4, retry: { minMs: 5000, maxMs: 5000, jitter: 0 } });
    s.gate.grant('o1', 0);
    s.transport.autoAck = 0x87; // a denying ACL
    const record = s.outbox.recordFailure.bind(s.outbox);
    s.outbox.recordFailure = async (id: string, error: string, next: number) => {
      await new Promise((r) => setTimeout(r, 5));
      await record(id, error, next);
    };
    const ids = await queueMany(s, 'o1', 8);
    s.pub.start();
    await waitFor(() => ids.every((id) => (s.outbox.rows.get(id)?.attempts ?? 0) >= 1), 3000, 'one refusal each');
    await new Promise((r) => setTimeout(r, 200)); // well before the 5-s retry
    const counts = ids.map((id) => s.transport.ids().filter((x) => x === id).length);
    expect(counts, 'publishes per recording before its retry is due').toEqual(ids.map(() => 1));
    expect(ids.map((id) => s.outbox.rows.get(id)!.attempts)).toEqual(ids.map(() => 1));
  });
});
