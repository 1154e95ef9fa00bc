/**
 * The audit anchor in the key file is written just before each COMMIT. A process killed between the two leaves
 * the key file one transaction ahead of the database: that must read as "the transaction never happened"
 * (the anchor carries the head it extends), not as a rolled-back database — otherwise every later `audit verify`
 * would fail after an ordinary crash. A database put back further than that is still a rollback.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/crypto/index.js';
import { freshApp, tempDir, TEST } from '../store/helpers.js';

describe('the audit anchor across a crash between its write and the commit', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  async function setUp(): Promise<{ seq: number; head: string; older: { seq: number; head: string } }> {
    const h = await freshApp(t.dir);
    const alice = await h.app.addOwner({ name: 'Alice', ...TEST });
    const older = await h.app.auditHead();
    await h.app.setRetention(alice, 7, TEST);
    const head = await h.app.auditHead();
    await h.close();
    return { ...head, older };
  }

  it('one transaction ahead, extending the database head: recovered, and the log verifies', async () => {
    const { seq, head } = await setUp();
    // What writeExternal left when the process died before COMMIT.
    await FileKeyStore.inDataDir(t.dir).state.writeAuditAnchor({ seq: seq + 1, head: 'ab'.repeat(32), base: { seq, head } });
    const h = await freshApp(t.dir, { init: false });
    const r = await h.store.audit.verify();
    expect(r.ok, JSON.stringify(r.problems)).toBe(true);
    expect((await h.app.auditLog()).some((e) => e.type === 'incident')).toBe(false);
    expect(await FileKeyStore.inDataDir(t.dir).state.readAuditAnchor()).toEqual({ seq, head });
    await h.close();
  });

  it('ahead of the database by more than the transaction in flight: still a rollback', async () => {
    const { seq, older } = await setUp();
    // The anchor extends an older head than the database's: the database is not where a crash would leave it.
    await FileKeyStore.inDataDir(t.dir).state.writeAuditAnchor({ seq: seq + 1, head: 'ab'.repeat(32), base: older });
    const h = await freshApp(t.dir, { init: false });
    const r = await h.store.audit.verify();
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.kind)).toContain('rolled-back');
    await h.close();
  });
});
