/**
 * Uploads rest on authenticated facts only. A housemate with write access to the data directory, but without the
 * key, edits the consent ledger or the upload queue: nothing of it is acted on, each attempt is an incident, and
 * `audit verify` is not what catches it (it would have stayed OK).
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/store/sqlite.js';
import { freshApp, makeCapture, tempDir, TEST, type TestApp } from './helpers.js';

async function raw(dir: string, fn: (db: SqliteDb) => Promise<unknown>): Promise<void> {
  const db = await SqliteDb.open(path.join(dir, 'earshot.db'));
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

describe('tampering with consent and the upload queue', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp;
  let alice: string;
  let bob: string;
  const t0 = Date.now() - 60_000;
  const bobRec = makeCapture({ seed: 2, startedAt: t0 + 10_000 });

  beforeEach(async () => {
    t = tempDir();
    h = await freshApp(t.dir);
    alice = await h.app.addOwner({ name: 'Alice', ...TEST });
    bob = await h.app.addOwner({ name: 'Bob', ...TEST });
    await h.app.grantConsent(alice, 'cloud-processing', TEST);
    await h.app.storeCapture(bob, bobRec, { uplink: true });
    await h.close();
  });
  afterEach(async () => {
    await h.close();
    t.cleanup();
  });

  const reopen = async () => (h = await freshApp(t.dir, { init: false }));
  const incidents = async (ownerId: string) => (await h.app.auditLog({ ownerId })).filter((e) => e.type === 'incident').map((e) => e.detail);
  const gate = (ownerId: string, capturedAt: number) => h.app.checkUpload({ ownerId, capturedAt }, Date.now());

  it('a grant row inserted for Bob grants nothing, and is reported', async () => {
    await raw(t.dir, (db) =>
      db.run("INSERT INTO consent (owner_id, purpose, action, at, source, text_version) VALUES (?, 'cloud-processing', 'grant', ?, 'owner-cli', '1')", [bob, t0]),
    );
    await reopen();
    expect(await gate(bob, bobRec.startedAt)).toEqual({ allowed: false, reason: 'no-consent' });
    expect(await incidents(bob)).toEqual([expect.objectContaining({ kind: 'integrity', what: 'consent-ledger' })]);
    await expect(h.app.consentOf(bob)).rejects.toMatchObject({ code: 'INTEGRITY', message: expect.stringContaining(`consent ledger of owner ${bob}`) });
    // A capture while the ledger is broken is kept but not queued.
    expect((await h.app.storeCapture(bob, makeCapture({ seed: 9, startedAt: Date.now() }), { uplink: true })).queued).toBe(false);
    // Alice's own ledger is untouched.
    expect(await gate(alice, Date.now())).toEqual({ allowed: true });
  });

  it("Alice's grant re-pointed to Bob, an edited row, or a removed withdrawal: each refused", async () => {
    await h.close();
    h = await freshApp(t.dir, { init: false });
    await h.app.withdrawConsent(alice, 'cloud-processing', TEST);
    await h.close();
    const cases: [string, (db: SqliteDb) => Promise<unknown>, string][] = [
      ['re-pointed', (db) => db.run("UPDATE consent SET owner_id = ? WHERE owner_id = ? AND action = 'grant'", [bob, alice]), bob],
      ['edited', (db) => db.run("UPDATE consent SET action = 'grant' WHERE owner_id = ? AND action = 'revoke'", [alice]), alice],
      ['withdrawal removed', (db) => db.run("DELETE FROM consent WHERE owner_id = ? AND action = 'revoke'", [alice]), alice],
    ];
    const clean = path.join(t.dir, 'clean.db');
    await raw(t.dir, (db) => db.exec(`VACUUM INTO '${clean}'`));
    const { copyFileSync, rmSync } = await import('node:fs');
    for (const [what, edit, victim] of cases) {
      rmSync(path.join(t.dir, 'earshot.db-wal'), { force: true });
      rmSync(path.join(t.dir, 'earshot.db-shm'), { force: true });
      copyFileSync(clean, path.join(t.dir, 'earshot.db'));
      await raw(t.dir, (db) => db.exec('DROP TRIGGER consent_append_only').then(() => edit(db)));
      await reopen();
      expect(await gate(victim, Date.now()), what).toEqual({ allowed: false, reason: 'no-consent' });
      expect((await incidents(victim)).some((d) => d?.['what'] === 'consent-ledger'), what).toBe(true);
      await h.close();
    }
  });

  it("a queue entry naming Alice (who consented) for Bob's recording uploads nothing and is removed", async () => {
    await raw(t.dir, (db) => db.run('INSERT INTO outbox (recording_id, owner_id, captured_at, enqueued_at, attempts, next_attempt_at) VALUES (?,?,?,?,0,?)', [bobRec.id, alice, bobRec.startedAt, t0, t0]));
    await reopen();
    const { recordings, gate: uplinkGate } = h.app.uplinkPorts();
    // As the publisher does: open the queued recording, then ask the gate.
    await expect(recordings.open(bobRec.id)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(await h.store.uow.read((tx) => tx.outbox.entry(bobRec.id))).toBeUndefined();
    expect(await incidents(bob)).toEqual([expect.objectContaining({ kind: 'forged-upload-entry' })]);
    // Bob never consented: whatever the queue says, the gate asked about Bob refuses.
    expect(await uplinkGate.check({ ownerId: bob, capturedAt: bobRec.startedAt }, Date.now())).toEqual({ allowed: false, reason: 'no-consent' });
  });
});
