import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Recording } from '../../src/core/recording.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { TEST, freshApp, makeCapture, openRecording, samePcm, tempDir, type TestApp, tamper } from './helpers.js';

describe('tampering is detected with a typed error, the rest keeps working, and an incident is recorded', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp | undefined;
  let a: string;
  let b: string;
  const ca = makeCapture({ seed: 11 });
  const ca2 = makeCapture({ seed: 12 });
  const cb = makeCapture({ seed: 13 });

  beforeEach(async () => {
    t = tempDir();
    const setup = await freshApp(t.dir);
    a = await setup.app.addOwner({ name: 'Alice', ...TEST });
    b = await setup.app.addOwner({ name: 'Bob', ...TEST });
    await setup.app.storeCapture(a, ca, { uplink: false });
    await setup.app.storeCapture(a, ca2, { uplink: false });
    await setup.app.storeCapture(b, cb, { uplink: false });
    await setup.close();
    h = undefined;
  });
  afterEach(async () => {
    await shut();
    t.cleanup();
  });

  async function reopen(): Promise<TestApp> {
    await shut();
    h = await freshApp(t.dir, { init: false });
    return h;
  }

  /** Closes the open app (if any) before the files are tampered with. */
  async function shut(): Promise<void> {
    await h?.close();
    h = undefined;
  }

  async function incidentKinds(s: TestApp): Promise<unknown[]> {
    return (await s.app.auditLog()).filter((e) => e.type === 'incident').map((e) => e.detail?.['kind']);
  }

  async function incidents(s: TestApp): Promise<number> {
    return (await s.app.auditLog()).filter((e) => e.type === 'incident').length;
  }

  /** Opens a recording with the key of the owner it is filed under, as the uplink does (an INTEGRITY failure is an incident). */
  function open(s: TestApp, id: string): Promise<Recording> {
    return s.app.uplinkPorts().recordings.open(id);
  }

  /** Opens one of `ownerId`'s recordings as that owner (their key, associated data naming them), as playback does. */
  function openAs(s: TestApp, id: string, ownerId: string): Promise<Recording> {
    return s.app.playRecording(ownerId, id, TEST, async () => undefined);
  }

  it('a recording row moved to another owner does not open for either owner', async () => {
    await tamper(t.dir, (db) => db.run('UPDATE recordings SET owner_id = ? WHERE id = ?', [b, ca.id]).then(() => undefined));
    const s = await reopen();
    // Bob's key (the row now names him) does not open it, nor does Alice's (associated data naming her, the row does not).
    await expect(open(s, ca.id)).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(openAs(s, ca.id, b)).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(openRecording(s.store, ca.id, a)).rejects.toMatchObject({ code: 'INTEGRITY' });
    // Through the app Alice is told it is not hers (it is not filed under her), and nothing is opened.
    await expect(openAs(s, ca.id, a)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect(samePcm((await open(s, ca2.id)).pcm, ca2.pcm)).toBe(true);
    expect(samePcm((await open(s, cb.id)).pcm, cb.pcm)).toBe(true);
    // Two failed opens, and the start-up repair quarantined (did not delete) Alice's audio found without her row.
    expect(await incidentKinds(s)).toEqual(['quarantined', 'integrity', 'integrity']);
    // An export of Bob now aborts instead of handing over Alice's recording under Bob's name.
    const out = path.join(t.dir, 'bob-export');
    await expect(s.app.exportOwner({ ownerId: b, out, ...TEST })).rejects.toMatchObject({ code: 'EXPORT_ABORTED' });
    const { existsSync } = await import('node:fs');
    expect(existsSync(out)).toBe(false);
  });

  it("Bob's row moved onto Alice cannot be deleted from Alice's side: deleting needs the recording to open with her key", async () => {
    await tamper(t.dir, (db) => db.run('UPDATE recordings SET owner_id = ? WHERE id = ?', [a, cb.id]));
    const s = await reopen();
    await expect(s.app.deleteRecordings(a, [cb.id, ca.id], TEST)).rejects.toMatchObject({ code: 'INTEGRITY' });
    // Nothing was deleted (not even Alice's own recording in the same request), and the attempt is an incident.
    expect(await s.store.uow.read((tx) => tx.recordings.filedUnder(cb.id))).toBe(a);
    expect(samePcm((await openRecording(s.store, ca.id, a)).pcm, ca.pcm)).toBe(true);
    expect((await s.app.auditLog()).filter((e) => e.type === 'recording.deleted')).toEqual([]);
    expect(await incidentKinds(s)).toContain('integrity');
  });

  it('swapped wrapped keys: both owners fail with INTEGRITY, other operations still work', async () => {
    await tamper(t.dir, async (db) => {
      const ka = await db.get<{ wrapped_key: Buffer }>('SELECT wrapped_key FROM owners WHERE id = ?', [a]);
      const kb = await db.get<{ wrapped_key: Buffer }>('SELECT wrapped_key FROM owners WHERE id = ?', [b]);
      await db.run('UPDATE owners SET wrapped_key = ? WHERE id = ?', [kb!.wrapped_key, a]);
      await db.run('UPDATE owners SET wrapped_key = ? WHERE id = ?', [ka!.wrapped_key, b]);
    });
    const s = await reopen();
    await expect(open(s, ca.id)).rejects.toMatchObject({ code: 'INTEGRITY', message: expect.stringMatching(/data key of owner/) });
    await expect(open(s, cb.id)).rejects.toMatchObject({ code: 'INTEGRITY' });
    const c = await s.app.addOwner({ name: 'Carol', ...TEST });
    const cc = makeCapture({ seed: 14 });
    await s.app.storeCapture(c, cc, { uplink: false });
    expect(samePcm((await open(s, cc.id)).pcm, cc.pcm)).toBe(true);
    expect(await incidents(s)).toBe(2);
  });

  it('one flipped byte in a sealed audio blob fails that recording only', async () => {
    await tamper(t.dir, async (db) => {
      const r = await db.get<{ sealed: Buffer }>('SELECT sealed FROM audio WHERE recording_id = ?', [ca.id]);
      const blob = Buffer.from(r!.sealed);
      blob[200] = blob[200]! ^ 0x01;
      await db.run('UPDATE audio SET sealed = ? WHERE recording_id = ?', [blob, ca.id]);
    }, `audio/${a}.db`);
    const s = await reopen();
    await expect(open(s, ca.id)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(samePcm((await open(s, ca2.id)).pcm, ca2.pcm)).toBe(true);
    expect(await incidents(s)).toBe(1);
    expect((await s.app.verifyAudit()).ok).toBe(true);
  });

  it("an audio blob copied into another owner's file, under that owner's recording, does not open", async () => {
    let alices: Buffer | undefined;
    await tamper(t.dir, async (db) => {
      alices = (await db.get<{ sealed: Buffer }>('SELECT sealed FROM audio WHERE recording_id = ?', [ca.id]))!.sealed;
    }, `audio/${a}.db`);
    await tamper(t.dir, (db) => db.run('UPDATE audio SET sealed = ? WHERE recording_id = ?', [alices!, cb.id]).then(() => undefined), `audio/${b}.db`);
    const s = await reopen();
    await expect(open(s, cb.id)).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(openAs(s, cb.id, b)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(samePcm((await open(s, ca.id)).pcm, ca.pcm)).toBe(true);
    expect(await incidents(s)).toBe(2);
  });

  it("one owner's audio file replaced by another's: that owner's recordings fail, the others open", async () => {
    const { copyFileSync } = await import('node:fs');
    copyFileSync(path.join(t.dir, 'audio', `${a}.db`), path.join(t.dir, 'audio', `${b}.db`));
    const s = await reopen();
    // Bob's row points at audio his file no longer has; Alice's blobs in his file are not asked for.
    await expect(open(s, cb.id)).rejects.toMatchObject({ code: 'INTEGRITY', message: expect.stringMatching(/no audio/) });
    expect(samePcm((await open(s, ca.id)).pcm, ca.pcm)).toBe(true);
    expect(samePcm((await open(s, ca2.id)).pcm, ca2.pcm)).toBe(true);
    // Alice's two blobs in Bob's file are quarantined at start (still sealed), and Bob's failed open is reported.
    expect(await incidentKinds(s)).toEqual(['quarantined', 'quarantined', 'integrity']);
    expect((await s.app.listQuarantine()).map((q) => q.recordingId).sort()).toEqual([ca.id, ca2.id].sort());
  });

  it('a truncated audit table: incident at open, AUDIT_BROKEN from verify, store keeps working, gap stays visible', async () => {
    let before = 0;
    await tamper(t.dir, async (db) => {
      before = (await db.get<{ n: number }>('SELECT max(seq) AS n FROM audit'))!.n;
      await db.run('DELETE FROM audit WHERE seq > ?', [before - 2]);
    });
    const s = await reopen();
    const entries = await s.app.auditLog();
    expect(entries.filter((e) => e.type === 'incident').map((e) => e.detail?.['kind'])).toEqual(['audit-tail-mismatch']);
    await expect(s.store.audit.verifyOrThrow()).rejects.toMatchObject({ code: 'AUDIT_BROKEN' });
    // Read without recording anything (the app's verifyAudit would add an audit-verify-failed incident).
    const r = await s.store.audit.verify();
    // The incident chained from the sealed head, so the removed entries show as a hole.
    expect(r.problems.map((p) => [p.kind, p.seq])).toEqual([['missing', before - 1]]);
    const cc = makeCapture({ seed: 15 });
    await s.app.storeCapture(a, cc, { uplink: false });
    expect(samePcm((await open(s, cc.id)).pcm, cc.pcm)).toBe(true);
    // Recorded once, not at every start.
    const s2 = await reopen();
    expect(await incidents(s2)).toBe(1);
  });

  it('verify reports truncation when nothing was appended after it', async () => {
    const { verifyChain } = await import('../../src/audit/chain.js');
    const s = await reopen();
    const head = await s.app.auditHead();
    const rows = (await s.app.auditLog()).length;
    expect(rows).toBe(head.seq);
    await shut();
    await tamper(t.dir, (db) => db.run('DELETE FROM audit WHERE seq = ?', [head.seq]).then(() => undefined));
    // Inspect with the pure verifier (opening the store would append an incident first).
    const db = await SqliteDb.open(path.join(t.dir, 'earshot.db'));
    const raws = await db.all<Record<string, never>>('SELECT * FROM audit ORDER BY seq');
    await db.close();
    const report = verifyChain(
      raws.map((r) => ({ seq: r['seq'], at: r['at'], type: r['type'], ownerId: r['owner_id'], recordingId: r['recording_id'], detail: r['detail'], personal: r['personal'], keyVersion: r['key_version'], prevHash: r['prev_hash'], hash: r['hash'] })),
      head,
    );
    expect(report.problems.map((p) => p.kind)).toEqual(['truncated']);
  });

  it('audit verify names edits, deletions and reordering', async () => {
    const s0 = await reopen();
    expect((await s0.app.verifyAudit()).ok).toBe(true);
    await shut();

    await tamper(t.dir, (db) => db.run(`UPDATE audit SET detail = '{"durationMs":1}' WHERE seq = 4`).then(() => undefined));
    let r = await (await reopen()).app.verifyAudit();
    expect(r.problems.map((p) => [p.kind, p.seq])).toEqual([['edited', 4]]);
    await shut();

    await tamper(t.dir, (db) => db.run(`UPDATE audit SET detail = NULL WHERE seq = 4`).then(() => undefined));
    await tamper(t.dir, (db) => db.run('DELETE FROM audit WHERE seq = 2').then(() => undefined));
    r = await (await reopen()).app.verifyAudit();
    expect(r.problems.map((p) => p.kind)).toContain('missing');
  });

  it('audit verify detects entries swapped in order', async () => {
    await tamper(t.dir, async (db) => {
      // Swap the contents of #3 and #4 but keep their seq numbers (what "reordering" means for a table).
      const r3 = await db.get<Record<string, unknown>>('SELECT * FROM audit WHERE seq = 3');
      const r4 = await db.get<Record<string, unknown>>('SELECT * FROM audit WHERE seq = 4');
      const cols = ['at', 'type', 'owner_id', 'recording_id', 'detail', 'personal', 'key_version', 'prev_hash', 'hash'];
      const set = cols.map((c) => `${c} = ?`).join(', ');
      await db.run(`UPDATE audit SET ${set} WHERE seq = 3`, cols.map((c) => r4![c] as never));
      await db.run(`UPDATE audit SET ${set} WHERE seq = 4`, cols.map((c) => r3![c] as never));
    });
    const r = await (await reopen()).app.verifyAudit();
    expect(r.ok).toBe(false);
    expect(r.problems.some((p) => p.kind === 'edited' || p.kind === 'reordered')).toBe(true);
  });
});
