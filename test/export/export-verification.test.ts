/**
 * An export holds the requester's data only — verified: what a housemate with write access re-points from
 * another owner to the requester (audit entries, consent rows) makes the export abort instead of carrying it.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/store/sqlite.js';
import { freshApp, makeCapture, tempDir, TEST, type TestApp } from '../store/helpers.js';

async function raw(dir: string, fn: (db: SqliteDb) => Promise<unknown>): Promise<void> {
  const db = await SqliteDb.open(path.join(dir, 'earshot.db'));
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

describe('export verification', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp;
  let alice: string;
  let bob: string;
  beforeEach(async () => {
    t = tempDir();
    h = await freshApp(t.dir);
    alice = await h.app.addOwner({ name: 'Alice', ...TEST });
    bob = await h.app.addOwner({ name: 'Bob', ...TEST });
    await h.app.storeCapture(alice, makeCapture({ seed: 1 }), { uplink: false });
    await h.app.storeCapture(bob, makeCapture({ seed: 2 }), { uplink: false });
    await h.app.grantConsent(bob, 'cloud-processing', TEST);
    await h.close();
  });
  afterEach(async () => {
    await h.close();
    t.cleanup();
  });

  it("audit entries re-pointed from Bob to Alice abort Alice's export (the chain is verified first)", async () => {
    await raw(t.dir, (db) => db.run("UPDATE audit SET owner_id = ? WHERE owner_id = ? AND type = 'consent.changed'", [alice, bob]));
    h = await freshApp(t.dir, { init: false });
    const out = path.join(t.dir, 'alice.tar');
    await expect(h.app.exportOwner({ ownerId: alice, out, ...TEST })).rejects.toMatchObject({
      code: 'EXPORT_ABORTED',
      message: expect.stringContaining('the audit log does not verify'),
    });
    expect(existsSync(out)).toBe(false);
    const log = await h.app.auditLog({ ownerId: alice });
    expect(log.filter((e) => e.type === 'incident' && e.detail?.['kind'] === 'export-aborted').map((e) => e.detail?.['reason'])).toEqual(['INTEGRITY']);
    expect(log.some((e) => e.type === 'export.created')).toBe(false);
  });

  it('an untouched store exports', async () => {
    h = await freshApp(t.dir, { init: false });
    expect((await h.app.exportOwner({ ownerId: alice, out: path.join(t.dir, 'a.tar'), ...TEST })).recordings).toBe(1);
  });
});
