/** The in-memory ports behave like the SQLite store where the uplink depends on it. */
import { describe, expect, it } from 'vitest';
import { outboxContract } from '../store/contracts.js';
import { MemoryAudit, MemoryOutbox, MemoryRecordings, makeRecording, queueRecording } from './fakes.js';

let n = 0;
outboxContract('in-memory (uplink tests)', async () => ({
  repo: new MemoryOutbox(),
  addOwner: async () => `owner-${++n}`,
  addRecording: async () => `rec-${++n}`,
  cleanup: async () => {},
}));

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
