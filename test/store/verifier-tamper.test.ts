/**
 * The verifiers and wake features as an attacker with write access to the data directory (not the key) meets them:
 * nothing is readable in clear, a row moved to another owner or word does not open, features moved between
 * recordings or emptied are refused, and after erasure rows put back from a copy open nothing.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENERIC_NEGATIVES, centreOf, enrolmentOf, VOICE, windowsAround } from '../support/verifier-features.js';
import { TEST, freshApp, makeCapture, storeFiles, tamper, tempDir, type TestApp } from './helpers.js';

describe('verifiers and wake features under tampering', () => {
  let t: ReturnType<typeof tempDir>;
  let h: TestApp | undefined;
  let a: string;
  let b: string;
  const open = (opts: { init?: boolean } = {}) => freshApp(t.dir, { ...opts, genericNegatives: async () => GENERIC_NEGATIVES });
  const enrol = (app: TestApp['app'], ownerId: string, wakeword: string) =>
    app.enrolVerifier({ ownerId, wakeword, clips: enrolmentOf(VOICE), background: windowsAround(centreOf(50), 4, 9), ...TEST });

  beforeEach(async () => {
    t = tempDir();
    const setup = await open();
    a = await setup.app.addOwner({ name: 'Alice', ...TEST });
    b = await setup.app.addOwner({ name: 'Bob', ...TEST });
    await enrol(setup.app, a, 'hey_jarvis');
    await enrol(setup.app, a, 'alexa');
    await enrol(setup.app, b, 'hey_jarvis');
    await setup.close();
    h = undefined;
  });
  afterEach(async () => {
    await h?.close();
    t.cleanup();
  });
  async function reopen(): Promise<TestApp> {
    await h?.close();
    h = await open({ init: false });
    return h;
  }
  async function incidents(s: TestApp): Promise<unknown[]> {
    return (await s.app.auditLog()).filter((e) => e.type === 'incident').map((e) => e.detail?.['what']);
  }

  it('the wake word is not in any file in clear: the row holds a keyed tag, different per owner', async () => {
    const s = await reopen();
    await s.store.compact();
    for (const f of storeFiles(t.dir)) {
      const bytes = readFileSync(f);
      expect(bytes.includes(Buffer.from('hey_jarvis')), f).toBe(false);
      expect(bytes.includes(Buffer.from('alexa')), f).toBe(false);
    }
    await s.close();
    h = undefined;
    let tags: { owner_id: string; word_tag: string }[] = [];
    await tamper(t.dir, async (db) => (tags = await db.all('SELECT owner_id, word_tag FROM verifiers')));
    expect(tags).toHaveLength(3);
    expect(new Set(tags.map((r) => r.word_tag)).size).toBe(3); // hey_jarvis tags differ between Alice and Bob
  });

  it("a verifier row moved to another owner does not open for them; the status is an INTEGRITY incident, the rest works", async () => {
    await tamper(t.dir, (db) => db.run("DELETE FROM verifiers WHERE owner_id = ?", [b]).then(() => db.run('UPDATE verifiers SET owner_id = ? WHERE owner_id = ?', [b, a])));
    const s = await reopen();
    await expect(s.app.verifierStatus(b)).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(s.app.verifiersFor(b)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(await s.app.verifierStatus(a)).toEqual([]);
    expect(await incidents(s)).toEqual(['verifier', 'verifier']);
  });

  it("one word's sealed parts copied onto another word's row of the same owner do not open (the word is bound)", async () => {
    await tamper(t.dir, async (db) => {
      const rows = await db.all<{ word_tag: string; sealed_model: Buffer; sealed_features: Buffer }>('SELECT word_tag, sealed_model, sealed_features FROM verifiers WHERE owner_id = ?', [a]);
      // Swap the two rows' word tags: each row now claims the other word.
      await db.run('UPDATE verifiers SET word_tag = ? WHERE owner_id = ? AND word_tag = ?', ['tmp', a, rows[0]!.word_tag]);
      await db.run('UPDATE verifiers SET word_tag = ? WHERE owner_id = ? AND word_tag = ?', [rows[0]!.word_tag, a, rows[1]!.word_tag]);
      await db.run('UPDATE verifiers SET word_tag = ? WHERE owner_id = ? AND word_tag = ?', [rows[1]!.word_tag, a, 'tmp']);
    });
    const s = await reopen();
    await expect(s.app.verifiersFor(a)).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(s.store.uow.read((tx) => tx.verifiers.enrolment(a, 'alexa'))).rejects.toMatchObject({ code: 'INTEGRITY' });
    // Bob's is untouched.
    expect(Object.keys(await s.app.verifiersFor(b))).toEqual(['hey_jarvis']);
  });

  it('wake features moved to another recording, or emptied, are refused; flagging such a recording retrains nothing', async () => {
    const s0 = await reopen();
    const c1 = { ...makeCapture({ seed: 1 }), wakeFeatures: windowsAround(VOICE, 1, 1)[0]! };
    const c2 = { ...makeCapture({ seed: 2, startedAt: 1_700_000_001_000 }), wakeFeatures: windowsAround(VOICE, 1, 2)[0]! };
    await s0.app.storeCapture(a, c1, { uplink: false });
    await s0.app.storeCapture(a, c2, { uplink: false });
    await s0.close();
    h = undefined;
    await tamper(t.dir, async (db) => {
      const f = await db.get<{ sealed_features: Buffer }>('SELECT sealed_features FROM recordings WHERE id = ?', [c1.id]);
      await db.run('UPDATE recordings SET sealed_features = ? WHERE id = ?', [f!.sealed_features, c2.id]);
      await db.run('UPDATE recordings SET sealed_features = NULL WHERE id = ?', [c1.id]);
    });
    const s = await reopen();
    const before = (await s.app.verifierStatus(a)).find((v) => v.wakeword === 'hey_jarvis');
    await expect(s.store.uow.read((tx) => tx.recordings.wakeFeatures(a, c2.id))).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(s.store.uow.read((tx) => tx.recordings.wakeFeatures(a, c1.id))).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(s.app.flagRecording(a, c1.id, true, TEST)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect((await s.app.verifierStatus(a)).find((v) => v.wakeword === 'hey_jarvis')).toEqual(before);
    expect((await s.app.listRecordings(a)).every((r) => !r.falseWake)).toBe(true);
  });

  it("after erasure, the owner's verifier rows put back from a copy (with their wrapped key) open nothing", async () => {
    let saved: { owner: Record<string, unknown>; verifiers: Record<string, unknown>[] } | undefined;
    await tamper(t.dir, async (db) => {
      saved = {
        owner: (await db.get<Record<string, unknown>>('SELECT * FROM owners WHERE id = ?', [a]))!,
        verifiers: await db.all<Record<string, unknown>>('SELECT * FROM verifiers WHERE owner_id = ?', [a]),
      };
    });
    const s0 = await reopen();
    expect((await s0.app.eraseOwner(a, TEST)).verifiers).toBe(2);
    await s0.close();
    h = undefined;
    await tamper(t.dir, async (db) => {
      expect(await db.all('SELECT 1 FROM verifiers WHERE owner_id = ?', [a])).toEqual([]);
      const put = async (table: string, row: Record<string, unknown>) => {
        const cols = Object.keys(row);
        await db.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, cols.map((c) => row[c]) as never[]);
      };
      await put('owners', saved!.owner);
      for (const v of saved!.verifiers) await put('verifiers', v);
    });
    const s = await reopen();
    // The device key was rotated by the erasure: the restored wrapped key no longer unwraps, so nothing opens.
    await expect(s.app.verifiersFor(a)).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(s.store.uow.read((tx) => tx.verifiers.enrolment(a, 'hey_jarvis'))).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(Object.keys(await s.app.verifiersFor(b))).toEqual(['hey_jarvis']);
  });
});
