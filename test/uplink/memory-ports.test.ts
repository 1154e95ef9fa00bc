/** The uplink's in-memory ports behave like the store where the uplink depends on it. */
import { describe, expect, it } from 'vitest';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, makeRecording, queueRecording } from './fakes.js';

describe('MemoryOutbox.nextAttemptAfter (like the SQLite outbox; the store contract checks that one)', () => {
  it('is the earliest retry time later than now, undefined when none', async () => {
    const o = new MemoryOutbox();
    expect(await o.nextAttemptAfter(0)).toBeUndefined();
    await o.enqueue({ recordingId: 'a', ownerId: 'o', capturedAt: 1, enqueuedAt: 10 });
    await o.enqueue({ recordingId: 'b', ownerId: 'o', capturedAt: 2, enqueuedAt: 10 });
    expect(await o.nextAttemptAfter(10)).toBeUndefined();
    expect(await o.nextAttemptAfter(5)).toBe(10);
    await o.recordFailure('a', 'x', 9000);
    await o.recordFailure('b', 'x', 7000);
    expect(await o.nextAttemptAfter(10)).toBe(7000);
    expect(await o.nextAttemptAfter(7000)).toBe(9000);
    expect(await o.nextAttemptAfter(9000)).toBeUndefined();
  });
});

describe('MemoryRecordings.markUploaded (like RecordingRepo.markUploaded)', () => {
  it('removes the outbox entry and writes exactly one recording.uploaded audit entry', async () => {
    const outbox = new MemoryOutbox();
    const audit = new MemoryAudit();
    const recs = new MemoryRecordings(outbox, audit);
    const r = makeRecording('o1', 1000);
    await queueRecording(outbox, recs, r);
    await recs.markUploaded(r.id, 2000);
    expect(await outbox.count()).toBe(0);
    expect(audit.ofType('recording.uploaded')).toEqual([{ type: 'recording.uploaded', ownerId: 'o1', recordingId: r.id }]);
    expect(recs.uploaded.get(r.id)).toBe(2000);
  });

  it('at retention 0 deletes the recording and audits the deletion', async () => {
    const outbox = new MemoryOutbox();
    const audit = new MemoryAudit();
    const recs = new MemoryRecordings(outbox, audit);
    recs.deleteOnUpload = true;
    const r = makeRecording('o1', 1000);
    await queueRecording(outbox, recs, r);
    await recs.markUploaded(r.id, 2000);
    await expect(recs.open(r.id)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect(audit.events.map((e) => e.type)).toEqual(['recording.uploaded', 'recording.deleted']);
  });

  it('an unknown recording is UNKNOWN_RECORDING', async () => {
    const recs = new MemoryRecordings(new MemoryOutbox(), new MemoryAudit());
    await expect(recs.markUploaded('nope', 1)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
  });
});
