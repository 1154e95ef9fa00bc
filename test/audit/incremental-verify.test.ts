/**
 * `verify` hashes the whole chain once per connection, then only what this connection appended — unless another
 * connection wrote in between (SQLite's data_version), when it verifies everything again. So an edit made behind
 * a long-running process's back (the owner page, the daemon) is still found at its next verification.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/store/sqlite.js';
import { freshApp, tempDir, TEST, type TestApp } from '../store/helpers.js';

describe('incremental audit verification', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp;
  beforeEach(async () => {
    t = tempDir();
    h = await freshApp(t.dir);
  });
  afterEach(async () => {
    await h.close();
    t.cleanup();
  });

  it('counts every entry across incremental runs, and finds an edit another connection made meanwhile', async () => {
    const alice = await h.app.addOwner({ name: 'Alice', ...TEST });
    const first = await h.store.audit.verify();
    expect(first.ok).toBe(true);
    for (let i = 0; i < 5; i++) await h.app.setRetention(alice, 10 + i, TEST);
    const second = await h.store.audit.verify();
    expect(second).toMatchObject({ ok: true, entries: first.entries + 5, lastSeq: first.lastSeq + 5 });
    expect(second.head).toBe((await h.store.audit.head()).head);

    // A raw edit of an entry the first verification covered, through another connection, while the store is open.
    const db = await SqliteDb.open(path.join(t.dir, 'earshot.db'));
    await db.run("UPDATE audit SET detail = '{\"retentionDays\":9999}' WHERE type = 'owner.added'");
    await db.close();
    const third = await h.store.audit.verify();
    expect(third.ok).toBe(false);
    expect(third.problems.map((p) => p.kind)).toContain('edited');
  });
});
