/**
 * Issue 9 §2: the audit log cannot be rolled back. The attacker has write access to the data directory but
 * not the key: copying an older earshot.db back, or splicing an old audit table and its old sealed head into
 * the current database (the sealed head's key survives rotation), must fail `audit verify` — because the key
 * file keeps the head (seq + hash), written with the head on every append.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/store/index.js';
import { SqliteDb } from '../../src/store/sqlite.js';
import { runEarshot } from '../helpers/cli.js';
import { TEST, freshApp, makeCapture, tempDir, tamper } from '../store/helpers.js';

/** A copy of the database files as they are now (the store must be closed: the WAL is checkpointed). */
function snapshotDb(dir: string, to: string): void {
  for (const f of ['earshot.db', 'earshot.db-wal', 'earshot.db-shm']) {
    rmSync(path.join(to, f), { force: true });
    if (existsSync(path.join(dir, f))) copyFileSync(path.join(dir, f), path.join(to, f));
  }
}
function putBack(from: string, dir: string): void {
  snapshotDb(from, dir);
}

describe('audit rollback', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => {
    while (dirs.length) dirs.pop()!.cleanup();
  });
  function dir() {
    const t = tempDir('earshot-rollback-');
    dirs.push(t);
    return t.dir;
  }
  const open = (d: string) => freshApp(d, { init: false });
  /** The anchor's own head (it also carries the head it extends, for a crash before COMMIT). */
  const headOf = (a: { seq: number; head: string } | null | undefined) => (a ? { seq: a.seq, head: a.head } : a);

  it('the key file holds the head and the head it extends (sequence numbers and hashes only) and follows every append', async () => {
    const d = dir();
    const s = await freshApp(d);
    const a = await s.app.addOwner({ name: 'Alice Example', ...TEST });
    const before = await s.store.audit.head();
    await s.app.storeCapture(a, makeCapture({ seed: 1 }), { uplink: false });
    const head = await s.store.audit.head();
    await s.close();
    const keyDoc = JSON.parse(readFileSync(path.join(d, 'device.key'), 'utf8')) as Record<string, unknown>;
    expect(keyDoc['auditAnchor']).toEqual({ seq: head.seq, head: head.head, base: { seq: before.seq, head: before.head } });
    expect(JSON.stringify(keyDoc)).not.toContain('Alice');
    expect(head.seq).toBeGreaterThan(1);
  });

  it('an older earshot.db copied back: verify fails (rolled-back), an incident is recorded at open, and later appends do not erase the evidence', async () => {
    const d = dir();
    const old = dir();
    const s = await freshApp(d);
    const a = await s.app.addOwner({ name: 'Alice', ...TEST });
    await s.close();
    snapshotDb(d, old);
    const s1 = await open(d);
    for (let i = 0; i < 3; i++) await s1.app.storeCapture(a, makeCapture({ seed: 10 + i }), { uplink: false });
    await s1.app.addOwner({ name: 'Bob', ...TEST });
    const real = await s1.store.audit.head();
    await s1.close();

    putBack(old, d);
    const s2 = await open(d);
    const r = await s2.store.audit.verify();
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.kind)).toContain('rolled-back');
    expect(headOf(r.externalAnchor)).toEqual(real);
    expect((await s2.store.audit.list()).filter((e) => e.type === 'incident').map((e) => e.detail?.['kind'])).toContain('audit-rolled-back');
    // The device keeps working, and even once the old history grows past the anchor's seq, it never verifies.
    for (let i = 0; i < real.seq + 2; i++) await s2.app.storeCapture(a, makeCapture({ seed: 100 + i }), { uplink: false });
    const r2 = await s2.store.audit.verify();
    expect(r2.lastSeq).toBeGreaterThan(real.seq);
    expect(r2.ok).toBe(false);
    expect(r2.problems.map((p) => p.kind)).toContain('rolled-back');
    await s2.close();
    const keyStore = new FileKeyStore(path.join(d, 'device.key'));
    expect(headOf(await keyStore.state.readAuditAnchor())).toEqual(real);
    // Recorded once, not at every start.
    const s3 = await open(d);
    expect((await s3.store.audit.list()).filter((e) => e.type === 'incident' && e.detail?.['kind'] === 'audit-rolled-back')).toHaveLength(1);
    expect((await s3.store.audit.verify()).ok).toBe(false);
    await s3.close();
  });

  it('splicing an old audit table and old sealed head into the current database after a rotation and an erasure fails verify', async () => {
    const d = dir();
    const s = await freshApp(d);
    const a = await s.app.addOwner({ name: 'Alice', ...TEST });
    const b = await s.app.addOwner({ name: 'Bob', ...TEST });
    await s.app.storeCapture(b, makeCapture({ seed: 2 }), { uplink: false });
    await s.close();
    let oldAudit: Record<string, unknown>[] = [];
    let oldAnchor: Buffer | undefined;
    await tamper(d, async (db) => {
      oldAudit = await db.all<Record<string, unknown>>('SELECT * FROM audit ORDER BY seq');
      oldAnchor = (await db.get<{ value: Buffer }>("SELECT value FROM meta WHERE key = 'audit_anchor'"))!.value;
    });
    const s1 = await open(d);
    await s1.app.rotateKeys(TEST);
    await s1.app.eraseOwner(b, TEST);
    expect((await s1.store.audit.verify()).ok).toBe(true);
    await s1.close();

    // The attacker replaces the audit table and the sealed head with the old ones: owner.erased and key.rotated vanish.
    await tamper(d, async (db) => {
      await db.run('DELETE FROM audit');
      for (const r of oldAudit) {
        const cols = Object.keys(r);
        await db.run(`INSERT INTO audit (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`, cols.map((c) => r[c] as never));
      }
      await db.run("UPDATE meta SET value = ? WHERE key = 'audit_anchor'", [oldAnchor!]);
    });
    const s2 = await open(d);
    const r = await s2.store.audit.verify();
    // Without the key store's anchor this would be a consistent chain ending at its (authentic, old) sealed head.
    expect(r.problems.filter((p) => p.kind !== 'rolled-back')).toEqual([]);
    expect(r.ok).toBe(false);
    expect(r.problems[0]!.message).toMatch(/older copy of the database was put back|another history/);
    await expect(s2.store.audit.verifyOrThrow()).rejects.toMatchObject({ code: 'AUDIT_BROKEN' });
    expect(a).toBeTruthy();
    await s2.close();
  });

  it('a transaction that rolls back (in its body, or when its COMMIT fails) leaves the external anchor at the committed head', async () => {
    const { AuditLog } = await import('../../src/audit/index.js');
    const { GENESIS_HASH } = await import('../../src/audit/index.js');
    const db = await SqliteDb.open(':memory:', { create: true });
    await db.exec(`CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, type TEXT NOT NULL, owner_id TEXT, recording_id TEXT,
      detail TEXT, personal BLOB, key_version INTEGER, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`);
    let sealedHead = { seq: 0, head: GENESIS_HASH };
    let externalHead: { seq: number; head: string } | undefined;
    const writes: number[] = [];
    const log = new AuditLog(
      db,
      { sealPersonal: async () => undefined, openPersonal: async () => undefined },
      { load: async () => sealedHead, save: async (_sql, a) => void (sealedHead = a) },
      { now: () => 1 },
      { read: async () => externalHead, write: async (a) => void (writes.push(a.seq), (externalHead = a)) },
    );
    await log.append({ type: 'one' });
    expect(externalHead?.seq).toBe(1);
    // A body that fails after appending: nothing reaches the external anchor. (The in-memory sealed head is not
    // transactional in this fake, so it is put back by hand, as SQLite's ROLLBACK does for the real one.)
    const committed = { ...sealedHead };
    await expect(db.transaction(async (sql) => {
      await log.appendIn(sql, { type: 'two' });
      throw new Error('boom');
    })).rejects.toThrow('boom');
    sealedHead = committed;
    expect(headOf(externalHead)).toEqual(committed);
    // The COMMIT fails after the anchor was written (a later hook stands in for SQLite's COMMIT error): restored.
    let failCommit = true;
    db.addTransactionHooks({ beforeCommit: async () => { if (failCommit) throw new Error('disk I/O error at COMMIT'); }, afterCommit: () => undefined, afterRollback: async () => undefined });
    await expect(log.append({ type: 'three' })).rejects.toThrow('disk I/O error');
    sealedHead = committed;
    expect(writes).toEqual([1, 2, 1]);
    expect(headOf(externalHead)).toEqual(committed);
    failCommit = false;
    await log.append({ type: 'four' });
    expect(externalHead?.seq).toBe(2);
    expect((await log.verify()).ok).toBe(true);
    await db.close();
  });

  it('a key file from before this change adopts the database head on open (first use), then guards it', async () => {
    const d = dir();
    const s = await freshApp(d);
    await s.app.addOwner({ name: 'Alice', ...TEST });
    const head = await s.store.audit.head();
    await s.close();
    const file = path.join(d, 'device.key');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete doc['auditAnchor'];
    rmSync(file);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
    const s2 = await open(d);
    expect(await new FileKeyStore(file).state.readAuditAnchor()).toEqual(head);
    expect((await s2.store.audit.verify()).ok).toBe(true);
    await s2.close();
  });
});

describe('earshot audit verify --head HASH[:SEQ]', () => {
  const t = tempDir('earshot-verify-head-');
  const env = { EARSHOT_DATA_DIR: t.dir, EARSHOT_CONFIG: path.join(t.dir, 'config.json') };
  afterEach(() => undefined);

  it('passes for a published head the log contains, fails (exit 1) for one it does not, BAD_ARGUMENT for a malformed one', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(env.EARSHOT_CONFIG, JSON.stringify({ configVersion: 1, log: { level: 'silent' } }));
    expect((await runEarshot(['init'], env)).code).toBe(0);
    expect((await runEarshot(['owners', 'add', '--name', 'Alice'], env)).code).toBe(0);
    const h = JSON.parse((await runEarshot(['audit', 'head', '--json'], env)).out) as { seq: number; head: string };
    expect((await runEarshot(['owners', 'add', '--name', 'Bob'], env)).code).toBe(0);

    const ok = await runEarshot(['audit', 'verify', '--head', `${h.head}:${h.seq}`], env);
    expect(ok.code).toBe(0);
    expect((await runEarshot(['audit', 'verify', '--head', h.head], env)).code).toBe(0);

    const wrongSeq = await runEarshot(['audit', 'verify', '--head', `${h.head}:${h.seq + 1}`, '--json'], env);
    expect(wrongSeq.code).toBe(1);
    expect((JSON.parse(wrongSeq.out) as { problems: { kind: string }[] }).problems.map((p) => p.kind)).toContain('behind-published-head');
    const unknown = await runEarshot(['audit', 'verify', '--head', 'ab'.repeat(32)], env);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('behind-published-head');
    const beyond = await runEarshot(['audit', 'verify', '--head', `${'cd'.repeat(32)}:9999`], env);
    expect(beyond.code).toBe(1);
    expect(beyond.out).toContain('beyond the end of this log');

    for (const bad of ['', 'xyz', `${h.head}:`, `${h.head}:-1`, h.head.slice(1)]) {
      const r = await runEarshot(['audit', 'verify', '--head', bad], env);
      expect(r.code).toBe(2);
      expect(r.err).toContain('BAD_ARGUMENT');
    }
    t.cleanup();
  });
});
