/**
 * One contract suite for the persistence ports (src/core/ports.ts). Every implementation — the SQLite store and
 * the in-memory store — runs it (contracts.test.ts), so a test of the application layer that passes on one store
 * says something about the other.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditQueries, Tx, UnitOfWork } from '../../src/core/ports.js';
import { makeCapture } from './helpers.js';

/** A recognisable feature window (seeded). */
function window(n: number, seed: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = Math.sin(seed * 7.13 + i * 0.37) * (1 + seed / 10);
  return w;
}

export interface StoreUnderTest {
  uow: UnitOfWork;
  audit: AuditQueries;
  cleanup(): Promise<void>;
}

export function storeContract(name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`persistence contract: ${name}`, () => {
    let s: StoreUnderTest;
    beforeEach(async () => {
      s = await factory();
    });
    afterEach(() => s.cleanup());
    const run = <T>(fn: (tx: Tx) => Promise<T>) => s.uow.run(fn);
    let n = 0;
    const addOwner = (extra: { localOnly?: boolean; retentionDays?: number } = {}) =>
      run((tx) => tx.owners.create({ name: `Owner ${++n}`, createdAt: 1000 + n, retentionDays: extra.retentionDays ?? 30, localOnly: extra.localOnly ?? false }));
    const addRecording = async (ownerId: string, capturedAt: number) => {
      const c = makeCapture({ id: randomUUID(), startedAt: capturedAt, samples: 160, seed: capturedAt });
      await run((tx) => tx.recordings.insert(ownerId, c));
      return c.id;
    };

    describe('owners', () => {
      it('create, get and list open the sealed name; privacy choices persist per owner', async () => {
        const a = await addOwner();
        const b = await addOwner({ localOnly: true, retentionDays: 7 });
        const list = await run((tx) => tx.owners.list());
        expect(list.map((o) => o.id)).toEqual([a, b]);
        expect(list[1]).toMatchObject({ id: b, name: `Owner ${n}`, localOnly: true, retentionDays: 7, recordings: 0, active: false });
        await run((tx) => tx.owners.setLocalOnly(a, true));
        await run((tx) => tx.owners.setRetentionDays(a, 0));
        expect(await run((tx) => tx.owners.privacy(a))).toEqual({ ownerId: a, localOnly: true, retentionDays: 0 });
        expect((await run((tx) => tx.owners.privacyAll())).map((p) => p.ownerId).sort()).toEqual([a, b].sort());
        expect(await run((tx) => tx.owners.get('own-0000000000000000'))).toBeUndefined();
        expect(await run((tx) => tx.owners.privacy('own-0000000000000000'))).toBeUndefined();
      });
      it('the active owner is set, cleared and refused for an unknown owner; setters refuse unknown owners', async () => {
        const a = await addOwner();
        expect(await run((tx) => tx.owners.activeOwnerId())).toBeUndefined();
        await run((tx) => tx.owners.setActive(a));
        expect(await run((tx) => tx.owners.activeOwnerId())).toBe(a);
        expect((await run((tx) => tx.owners.get(a)))?.active).toBe(true);
        await expect(run((tx) => tx.owners.setActive('own-0000000000000000'))).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
        await expect(run((tx) => tx.owners.setLocalOnly('own-0000000000000000', true))).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
        await expect(run((tx) => tx.owners.setRetentionDays('own-0000000000000000', 1))).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
        await run((tx) => tx.owners.setActive(undefined));
        expect(await run((tx) => tx.owners.activeOwnerId())).toBeUndefined();
      });
      it('wake settings: empty for a new owner, persisted per owner in canonical form, listed for every owner, gone with the owner', async () => {
        const a = await addOwner();
        const b = await addOwner();
        expect(await run((tx) => tx.owners.wakeSettings(a))).toEqual({ claims: [], thresholds: {}, verifierGates: {} });
        await run((tx) => tx.owners.setWakeSettings(a, { claims: ['hey_jarvis', 'alexa', 'alexa'], thresholds: { alexa: 0.6 }, verifierGates: { alexa: 0.2 } }));
        expect(await run((tx) => tx.owners.wakeSettings(a))).toEqual({ claims: ['alexa', 'hey_jarvis'], thresholds: { alexa: 0.6 }, verifierGates: { alexa: 0.2 } });
        // The name is sealed in the same profile and survives the re-seal.
        expect((await run((tx) => tx.owners.get(a)))?.name).toMatch(/^Owner \d+$/);
        expect(await run((tx) => tx.owners.wakeSettingsAll())).toEqual([
          { ownerId: a, settings: { claims: ['alexa', 'hey_jarvis'], thresholds: { alexa: 0.6 }, verifierGates: { alexa: 0.2 } } },
          { ownerId: b, settings: { claims: [], thresholds: {}, verifierGates: {} } },
        ]);
        await expect(run((tx) => tx.owners.wakeSettings('own-0000000000000000'))).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
        await expect(run((tx) => tx.owners.setWakeSettings('own-0000000000000000', { claims: [], thresholds: {}, verifierGates: {} }))).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
        // A unit of work that fails leaves the settings as they were.
        await expect(
          run(async (tx) => {
            await tx.owners.setWakeSettings(b, { claims: ['alexa'], thresholds: {}, verifierGates: {} });
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        expect((await run((tx) => tx.owners.wakeSettings(b))).claims).toEqual([]);
        await run((tx) => tx.owners.remove(a));
        expect((await run((tx) => tx.owners.wakeSettingsAll())).map((o) => o.ownerId)).toEqual([b]);
      });
      it('remove deletes the owner and clears them as active', async () => {
        const a = await addOwner();
        await run((tx) => tx.owners.setActive(a));
        await run((tx) => tx.owners.remove(a));
        expect(await run((tx) => tx.owners.get(a))).toBeUndefined();
        expect(await run((tx) => tx.owners.activeOwnerId())).toBeUndefined();
        await expect(run((tx) => tx.owners.remove(a))).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
      });
    });

    describe('recordings', () => {
      it('insert then open returns exactly the capture, tagged with its owner; unknown ids are UNKNOWN_RECORDING', async () => {
        const o = await addOwner();
        const c = makeCapture({ seed: 7, startedAt: 1234, samples: 320 });
        const summary = await run((tx) => tx.recordings.insert(o, c));
        expect(summary).toEqual({ id: c.id, ownerId: o, createdAt: 1234, durationMs: c.durationMs, uploadedAt: null, wakeword: c.wakeword, score: c.score, falseWake: false });
        const rec = await run((tx) => tx.recordings.open(c.id));
        expect(rec).toMatchObject({ id: c.id, ownerId: o, startedAt: 1234, wakeword: c.wakeword, score: c.score, endReason: c.endReason, wakeAtMs: c.wakeAtMs });
        expect(Array.from(rec.pcm)).toEqual(Array.from(c.pcm));
        expect(await run((tx) => tx.recordings.open(c.id, o))).toMatchObject({ id: c.id });
        await expect(run((tx) => tx.recordings.open('no-such-recording'))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        await expect(run((tx) => tx.recordings.insert(o, c))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
      });
      it("opening as another owner fails (INTEGRITY); listing, ids and filedUnder are per owner, oldest first", async () => {
        const a = await addOwner();
        const b = await addOwner();
        const r2 = await addRecording(a, 200);
        const r1 = await addRecording(a, 100);
        const rb = await addRecording(b, 150);
        await expect(run((tx) => tx.recordings.open(rb, a))).rejects.toMatchObject({ code: 'INTEGRITY' });
        expect(await run((tx) => tx.recordings.ids(a))).toEqual([r1, r2]);
        expect((await run((tx) => tx.recordings.summaries(a))).map((r) => [r.id, r.createdAt])).toEqual([[r1, 100], [r2, 200]]);
        expect(await run((tx) => tx.recordings.filedUnder(rb))).toBe(b);
        expect(await run((tx) => tx.recordings.filedUnder('nope'))).toBeUndefined();
        expect((await run((tx) => tx.owners.get(a)))?.recordings).toBe(2);
      });
      it("delete removes only the named owner's rows and says which", async () => {
        const a = await addOwner();
        const b = await addOwner();
        const ra = await addRecording(a, 1);
        const rb = await addRecording(b, 2);
        expect(await run((tx) => tx.recordings.delete(a, [ra, rb, 'nope']))).toEqual([ra]);
        await expect(run((tx) => tx.recordings.open(ra))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        expect((await run((tx) => tx.recordings.open(rb))).id).toBe(rb);
      });
      it('markUploaded records the time; deleteExpired applies either rule to one owner; deleteOwner counts', async () => {
        const a = await addOwner();
        const b = await addOwner();
        const old = await addRecording(a, 100);
        const recent = await addRecording(a, 5000);
        const other = await addRecording(b, 100);
        await run((tx) => tx.recordings.markUploaded(recent, 9000));
        await expect(run((tx) => tx.recordings.markUploaded('nope', 1))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        expect((await run((tx) => tx.recordings.summaries(a))).find((r) => r.id === recent)?.uploadedAt).toBe(9000);
        expect(await run((tx) => tx.recordings.deleteExpired(a, { createdBefore: 1000 }))).toEqual([old]);
        expect(await run((tx) => tx.recordings.deleteExpired(a, { uploadedOnly: true }))).toEqual([recent]);
        expect(await run((tx) => tx.recordings.ids(b))).toEqual([other]);
        expect(await run((tx) => tx.recordings.deleteOwner(b))).toBe(1);
        expect(await run((tx) => tx.recordings.ids(b))).toEqual([]);
      });
      it('setFalseWake marks and unmarks one recording of its owner; another owner or an unknown id is UNKNOWN_RECORDING', async () => {
        const a = await addOwner();
        const b = await addOwner();
        const ra = await addRecording(a, 1);
        const ra2 = await addRecording(a, 2);
        const rb = await addRecording(b, 3);
        await run((tx) => tx.recordings.setFalseWake(a, ra, true));
        const flags = async (o: string) => (await run((tx) => tx.recordings.summaries(o))).map((r) => [r.id, r.falseWake]);
        expect(await flags(a)).toEqual([[ra, true], [ra2, false]]);
        await expect(run((tx) => tx.recordings.setFalseWake(a, rb, true))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        await expect(run((tx) => tx.recordings.setFalseWake(a, 'nope', true))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        expect(await flags(b)).toEqual([[rb, false]]);
        // The recording itself is unchanged by the mark.
        expect((await run((tx) => tx.recordings.open(ra, a))).pcm.length).toBe(160);
        await run((tx) => tx.recordings.setFalseWake(a, ra, false));
        expect(await flags(a)).toEqual([[ra, false], [ra2, false]]);
      });
      it('wake features are stored with a recording, read back only for its owner, never returned by open, and go with the row', async () => {
        const a = await addOwner();
        const b = await addOwner();
        const features = window(1536, 5);
        const c = { ...makeCapture({ seed: 9, startedAt: 500, samples: 160 }), wakeFeatures: features };
        await run((tx) => tx.recordings.insert(a, c));
        const plain = await addRecording(a, 600);
        expect(Array.from((await run((tx) => tx.recordings.wakeFeatures(a, c.id)))!)).toEqual(Array.from(features));
        expect(await run((tx) => tx.recordings.wakeFeatures(a, plain))).toBeUndefined();
        await expect(run((tx) => tx.recordings.wakeFeatures(b, c.id))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        // What is opened to play or upload carries no features.
        expect('wakeFeatures' in (await run((tx) => tx.recordings.open(c.id, a)))).toBe(false);
        await expect(run((tx) => tx.recordings.insert(a, { ...makeCapture({ seed: 10 }), wakeFeatures: new Float32Array(0) }))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
        await run((tx) => tx.recordings.delete(a, [c.id]));
        await expect(run((tx) => tx.recordings.wakeFeatures(a, c.id))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
      });
    });

    describe('verifiers', () => {
      const enrolment = (seed: number) => ({
        clips: [0, 1, 2].map((i) => ({ peakScore: 0.5 + i / 10, windows: [window(1536, seed + i), window(1536, seed + i + 100)] })),
        background: [window(1536, seed + 7)],
      });
      const verifier = (wakeword: string, seed: number) => ({
        wakeword,
        model: new Uint8Array([seed, 1, 2, 3]),
        clips: 3,
        cvRecall: 0.9,
        trainedAt: 10_000 + seed,
        falseWakes: 0,
        enrolment: enrolment(seed),
      });
      it("put, list and enrolment round-trip per owner and word; put replaces a word's verifier", async () => {
        const a = await addOwner();
        const b = await addOwner();
        await run((tx) => tx.verifiers.put(a, verifier('hey_jarvis', 1)));
        await run((tx) => tx.verifiers.put(a, verifier('alexa', 2)));
        await run((tx) => tx.verifiers.put(b, verifier('hey_jarvis', 3)));
        const listA = await run((tx) => tx.verifiers.list(a));
        expect(listA.map((v) => v.wakeword)).toEqual(['alexa', 'hey_jarvis']);
        expect(listA[1]).toEqual({ ownerId: a, wakeword: 'hey_jarvis', model: new Uint8Array([1, 1, 2, 3]), clips: 3, cvRecall: 0.9, trainedAt: 10_001, peakScores: [0.5, 0.6, 0.7], backgroundWindows: 1, partialPhraseWindows: 0, falseWakes: 0 });
        const e = await run((tx) => tx.verifiers.enrolment(a, 'hey_jarvis'));
        expect(e!.clips.map((c) => c.windows.map((w) => Array.from(w)))).toEqual(enrolment(1).clips.map((c) => c.windows.map((w) => Array.from(w))));
        expect(Array.from(e!.background[0]!)).toEqual(Array.from(window(1536, 8)));
        expect(await run((tx) => tx.verifiers.enrolment(a, 'hey_mycroft'))).toBeUndefined();
        expect(await run((tx) => tx.verifiers.enrolment(b, 'alexa'))).toBeUndefined();
        await run((tx) => tx.verifiers.put(a, { ...verifier('hey_jarvis', 4), cvRecall: 1, falseWakes: 2 }));
        expect((await run((tx) => tx.verifiers.list(a))).find((v) => v.wakeword === 'hey_jarvis')).toMatchObject({ cvRecall: 1, falseWakes: 2, trainedAt: 10_004 });
        expect((await run((tx) => tx.verifiers.list(b)))[0]).toMatchObject({ ownerId: b, trainedAt: 10_003 });
        expect(await run((tx) => tx.verifiers.list('own-0000000000000000'))).toEqual([]);
        await expect(run((tx) => tx.verifiers.put('own-0000000000000000', verifier('alexa', 5)))).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
      });
      it("each clip's partial-phrase negatives round-trip with their clip, counted in the status; a clip without them has none", async () => {
        const a = await addOwner();
        const e = enrolment(1);
        const withPartial = { ...e, clips: [{ ...e.clips[0]!, partialPhrases: [window(1536, 40), window(1536, 41)] }, e.clips[1]!, { ...e.clips[2]!, partialPhrases: [window(1536, 42)] }] };
        await run((tx) => tx.verifiers.put(a, { ...verifier('hey_jarvis', 1), enrolment: withPartial }));
        expect((await run((tx) => tx.verifiers.list(a)))[0]).toMatchObject({ partialPhraseWindows: 3, backgroundWindows: 1, peakScores: [0.5, 0.6, 0.7] });
        const back = (await run((tx) => tx.verifiers.enrolment(a, 'hey_jarvis')))!;
        expect(back.clips.map((c) => (c.partialPhrases ?? []).map((w) => Array.from(w)))).toEqual([[Array.from(window(1536, 40)), Array.from(window(1536, 41))], [], [Array.from(window(1536, 42))]]);
        // The positives and the background are where they were.
        expect(back.clips.map((c) => c.windows.map((w) => Array.from(w)))).toEqual(e.clips.map((c) => c.windows.map((w) => Array.from(w))));
        expect(Array.from(back.background[0]!)).toEqual(Array.from(window(1536, 8)));
        const bad = { ...verifier('alexa', 1), enrolment: { ...e, clips: [{ ...e.clips[0]!, partialPhrases: [window(96, 2)] }, ...e.clips.slice(1)] } };
        await expect(run((tx) => tx.verifiers.put(a, bad))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
      });
      it('windows of mixed lengths or none at all are refused', async () => {
        const a = await addOwner();
        const bad = { ...verifier('alexa', 1), enrolment: { clips: [{ peakScore: 0.9, windows: [window(1536, 1), window(96, 2)] }], background: [] } };
        await expect(run((tx) => tx.verifiers.put(a, bad))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
        await expect(run((tx) => tx.verifiers.put(a, { ...verifier('alexa', 1), enrolment: { clips: [], background: [] } }))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
        expect(await run((tx) => tx.verifiers.list(a))).toEqual([]);
      });
      it("remove takes one word's verifier; removeOwner every one of that owner only, and says how many", async () => {
        const a = await addOwner();
        const b = await addOwner();
        await run((tx) => tx.verifiers.put(a, verifier('hey_jarvis', 1)));
        await run((tx) => tx.verifiers.put(a, verifier('alexa', 2)));
        await run((tx) => tx.verifiers.put(b, verifier('alexa', 3)));
        expect(await run((tx) => tx.verifiers.remove(a, 'alexa'))).toBe(true);
        expect(await run((tx) => tx.verifiers.remove(a, 'alexa'))).toBe(false);
        expect((await run((tx) => tx.verifiers.list(a))).map((v) => v.wakeword)).toEqual(['hey_jarvis']);
        expect(await run((tx) => tx.verifiers.removeOwner(a))).toBe(1);
        expect(await run((tx) => tx.verifiers.list(a))).toEqual([]);
        expect((await run((tx) => tx.verifiers.list(b))).map((v) => v.wakeword)).toEqual(['alexa']);
      });
      it('a unit of work that throws leaves no verifier behind', async () => {
        const a = await addOwner();
        await expect(
          run(async (tx) => {
            await tx.verifiers.put(a, verifier('alexa', 1));
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await run((tx) => tx.verifiers.list(a))).toEqual([]);
      });
    });

    describe('web sessions and pairing codes', () => {
      it('a pairing code is stored for an existing owner, read back, marked used once, and pruned after expiry', async () => {
        const a = await addOwner();
        await run((tx) => tx.webSessions.createPairing({ codeHash: 'h1', ownerId: a, createdAt: 10, expiresAt: 100 }));
        await run((tx) => tx.webSessions.createPairing({ codeHash: 'h2', ownerId: a, createdAt: 10, expiresAt: 500 }));
        await expect(run((tx) => tx.webSessions.createPairing({ codeHash: 'h3', ownerId: 'own-0000000000000000', createdAt: 1, expiresAt: 2 }))).rejects.toMatchObject({
          code: 'UNKNOWN_OWNER',
        });
        expect(await run((tx) => tx.webSessions.pairing('h1'))).toEqual({ ownerId: a, expiresAt: 100, usedAt: null });
        expect(await run((tx) => tx.webSessions.pairing('nope'))).toBeUndefined();
        await run((tx) => tx.webSessions.markPairingUsed('h1', 50));
        await run((tx) => tx.webSessions.markPairingUsed('h1', 60));
        expect(await run((tx) => tx.webSessions.pairing('h1'))).toEqual({ ownerId: a, expiresAt: 100, usedAt: 50 });
        await run((tx) => tx.webSessions.prunePairings(200));
        expect(await run((tx) => tx.webSessions.pairing('h1'))).toBeUndefined();
        expect(await run((tx) => tx.webSessions.pairing('h2'))).toMatchObject({ ownerId: a });
      });
      it('sessions: insert, find by id hash, touch forward only, list per owner with the browser, select and delete', async () => {
        const a = await addOwner();
        const b = await addOwner();
        await run(async (tx) => {
          await tx.webSessions.insertSession({ idHash: 'ia', ref: 'ses-a', ownerId: a, createdAt: 10, browser: 'Chrome on Android' });
          await tx.webSessions.insertSession({ idHash: 'ia2', ref: 'ses-a2', ownerId: a, createdAt: 20, browser: 'Firefox on Linux' });
          await tx.webSessions.insertSession({ idHash: 'ib', ref: 'ses-b', ownerId: b, createdAt: 15, browser: 'Safari on iOS' });
        });
        await expect(run((tx) => tx.webSessions.insertSession({ idHash: 'ix', ref: 'ses-x', ownerId: 'own-0000000000000000', createdAt: 1, browser: 'x' }))).rejects.toMatchObject({
          code: 'UNKNOWN_OWNER',
        });
        expect(await run((tx) => tx.webSessions.findSession('ia'))).toEqual({ ref: 'ses-a', ownerId: a, createdAt: 10, lastSeenAt: 10 });
        expect(await run((tx) => tx.webSessions.findSession('nope'))).toBeUndefined();
        await run((tx) => tx.webSessions.touchSession('ia', 40));
        await run((tx) => tx.webSessions.touchSession('ia', 30));
        expect(await run((tx) => tx.webSessions.findSession('ia'))).toMatchObject({ lastSeenAt: 40 });
        expect(await run((tx) => tx.webSessions.listSessions(a))).toEqual([
          { ref: 'ses-a', ownerId: a, createdAt: 10, lastSeenAt: 40, browser: 'Chrome on Android' },
          { ref: 'ses-a2', ownerId: a, createdAt: 20, lastSeenAt: 20, browser: 'Firefox on Linux' },
        ]);
        expect((await run((tx) => tx.webSessions.listSessions())).map((x) => x.ref)).toEqual(['ses-a', 'ses-b', 'ses-a2']);
        expect(await run((tx) => tx.webSessions.selectSessions({ ref: 'ses-b', ownerId: a }))).toEqual([]);
        expect(await run((tx) => tx.webSessions.selectSessions({ ref: 'ses-b' }))).toEqual([{ ref: 'ses-b', ownerId: b }]);
        expect(await run((tx) => tx.webSessions.selectSessions({ ownerId: a }))).toEqual([{ ref: 'ses-a', ownerId: a }, { ref: 'ses-a2', ownerId: a }]);
        expect(await run((tx) => tx.webSessions.selectSessions({ idleBefore: 21 }))).toEqual([{ ref: 'ses-b', ownerId: b }, { ref: 'ses-a2', ownerId: a }]);
        expect((await run((tx) => tx.webSessions.selectSessions({ all: true }))).map((x) => x.ref)).toEqual(['ses-a', 'ses-b', 'ses-a2']);
        await run((tx) => tx.webSessions.deleteSession('ses-a2'));
        expect(await run((tx) => tx.webSessions.findSession('ia2'))).toBeUndefined();
      });
      it("removeOwner takes only that owner's codes and sessions, and says how many sessions", async () => {
        const a = await addOwner();
        const b = await addOwner();
        await run(async (tx) => {
          await tx.webSessions.createPairing({ codeHash: 'ca', ownerId: a, createdAt: 1, expiresAt: 1000 });
          await tx.webSessions.createPairing({ codeHash: 'cb', ownerId: b, createdAt: 1, expiresAt: 1000 });
          await tx.webSessions.insertSession({ idHash: 'ia', ref: 'ses-a', ownerId: a, createdAt: 1, browser: 'x' });
          await tx.webSessions.insertSession({ idHash: 'ia2', ref: 'ses-a2', ownerId: a, createdAt: 2, browser: 'x' });
          await tx.webSessions.insertSession({ idHash: 'ib', ref: 'ses-b', ownerId: b, createdAt: 3, browser: 'y' });
        });
        expect(await run((tx) => tx.webSessions.removeOwner(a))).toBe(2);
        expect(await run((tx) => tx.webSessions.pairing('ca'))).toBeUndefined();
        expect(await run((tx) => tx.webSessions.listSessions(a))).toEqual([]);
        expect(await run((tx) => tx.webSessions.pairing('cb'))).toMatchObject({ ownerId: b });
        expect((await run((tx) => tx.webSessions.listSessions())).map((x) => x.ref)).toEqual(['ses-b']);
      });
      it('a unit of work that throws leaves no code or session behind', async () => {
        const a = await addOwner();
        await expect(
          run(async (tx) => {
            await tx.webSessions.createPairing({ codeHash: 'c', ownerId: a, createdAt: 1, expiresAt: 10 });
            await tx.webSessions.insertSession({ idHash: 'i', ref: 'ses-i', ownerId: a, createdAt: 1, browser: 'x' });
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await run((tx) => tx.webSessions.pairing('c'))).toBeUndefined();
        expect(await run((tx) => tx.webSessions.listSessions())).toEqual([]);
      });
    });

    describe('notices', () => {
      it("an owner's notices are their incidents and device-wide incidents and refused fleet documents, newest first; acknowledgements are per owner", async () => {
        const a = await addOwner();
        const b = await addOwner();
        await run(async (tx) => {
          await tx.audit.append({ type: 'incident', ownerId: a, detail: { kind: 'export-aborted' } });
          await tx.audit.append({ type: 'incident', ownerId: b, detail: { kind: 'export-aborted' } });
          await tx.audit.append({ type: 'incident', detail: { kind: 'audit-verify-failed' } });
          await tx.audit.append({ type: 'config.refused', detail: { reason: 'bad-signature' } });
          await tx.audit.append({ type: 'config.applied', detail: { version: 2 } });
          await tx.audit.append({ type: 'consent.changed', ownerId: a, detail: { purpose: 'cloud-processing' } });
        });
        const list = await run((tx) => tx.notices.list(a));
        expect(list.map((n) => [n.type, n.own, n.detail, n.ackedAt])).toEqual([
          ['config.refused', false, { reason: 'bad-signature' }, null],
          ['incident', false, { kind: 'audit-verify-failed' }, null],
          ['incident', true, { kind: 'export-aborted' }, null],
        ]);
        const mine = list[2]!.seq;
        const bobs = (await run((tx) => tx.notices.list(b))).find((n) => n.own)!.seq;
        expect(await run((tx) => tx.notices.list(a, { seq: bobs }))).toEqual([]);
        expect((await run((tx) => tx.notices.list(a, { seq: mine }))).map((n) => n.seq)).toEqual([mine]);
        expect(await run((tx) => tx.notices.list(a, { limit: 1 }))).toHaveLength(1);
        await run((tx) => tx.notices.acknowledge(a, mine, 77));
        await run((tx) => tx.notices.acknowledge(a, mine, 88));
        expect((await run((tx) => tx.notices.list(a, { seq: mine })))[0]!.ackedAt).toBe(77);
        expect((await run((tx) => tx.notices.list(b))).every((n) => n.ackedAt === null)).toBe(true);
        expect(await run((tx) => tx.notices.list('own-0000000000000000'))).toEqual([]);
        expect(await run((tx) => tx.notices.lastFleetOutcome())).toMatchObject({ type: 'config.applied', detail: { version: 2 } });
        await run((tx) => tx.notices.removeOwner(a));
        expect((await run((tx) => tx.notices.list(a, { seq: mine })))[0]!.ackedAt).toBeNull();
      });
    });

    describe('consent ledger', () => {
      it('appends and returns history oldest first, filtered by purpose; removeOwner only for erasure', async () => {
        const o = await addOwner();
        const other = await addOwner();
        await run(async (tx) => {
          await tx.consent.append({ ownerId: o, purpose: 'cloud-processing', action: 'grant', at: 10, source: 'owner-cli', textVersion: 'v1' });
          await tx.consent.append({ ownerId: o, purpose: 'quality-improvement', action: 'grant', at: 20, source: 'local-page', textVersion: 'v1' });
          await tx.consent.append({ ownerId: o, purpose: 'cloud-processing', action: 'revoke', at: 30, source: 'owner-cli', textVersion: 'v2' });
          await tx.consent.append({ ownerId: other, purpose: 'cloud-processing', action: 'grant', at: 15, source: 'owner-cli', textVersion: 'v1' });
        });
        expect((await run((tx) => tx.consent.history(o))).map((e) => [e.purpose, e.action, e.at])).toEqual([
          ['cloud-processing', 'grant', 10],
          ['quality-improvement', 'grant', 20],
          ['cloud-processing', 'revoke', 30],
        ]);
        expect((await run((tx) => tx.consent.history(o, 'cloud-processing')))[1]).toEqual({
          ownerId: o,
          purpose: 'cloud-processing',
          action: 'revoke',
          at: 30,
          source: 'owner-cli',
          textVersion: 'v2',
        });
        expect(await run((tx) => tx.consent.removeOwner(o))).toBe(3);
        expect(await run((tx) => tx.consent.history(o))).toEqual([]);
        expect(await run((tx) => tx.consent.history(other))).toHaveLength(1);
        await expect(
          run((tx) => tx.consent.append({ ownerId: 'own-0000000000000000', purpose: 'cloud-processing', action: 'grant', at: 1, source: 'owner-cli', textVersion: '1' })),
        ).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
      });
    });

    describe('outbox', () => {
      it('due() returns entries whose time has come, oldest capture first, limited', async () => {
        const o = await addOwner();
        const r1 = await addRecording(o, 300);
        const r2 = await addRecording(o, 100);
        const r3 = await addRecording(o, 200);
        await run(async (tx) => {
          for (const [id, at] of [[r1, 300], [r2, 100], [r3, 200]] as const) await tx.outbox.enqueue({ recordingId: id, ownerId: o, capturedAt: at, enqueuedAt: 1000 });
        });
        expect(await run((tx) => tx.outbox.count())).toBe(3);
        expect((await run((tx) => tx.outbox.due(1000, 10))).map((e) => e.recordingId)).toEqual([r2, r3, r1]);
        expect((await run((tx) => tx.outbox.due(1000, 2))).map((e) => e.recordingId)).toEqual([r2, r3]);
        expect(await run((tx) => tx.outbox.due(999, 10))).toEqual([]);
        expect((await run((tx) => tx.outbox.due(1000, 1)))[0]).toEqual({ recordingId: r2, ownerId: o, capturedAt: 100, enqueuedAt: 1000, attempts: 0, nextAttemptAt: 1000, lastError: null });
        expect(await run((tx) => tx.outbox.entry(r3))).toEqual({ recordingId: r3, ownerId: o, capturedAt: 200, enqueuedAt: 1000, attempts: 0, nextAttemptAt: 1000, lastError: null });
        expect(await run((tx) => tx.outbox.entry('nope'))).toBeUndefined();
      });
      it('recordFailure counts attempts and postpones; remove and removeOwner delete; a deleted recording leaves the queue', async () => {
        const a = await addOwner();
        const b = await addOwner();
        const ra = await addRecording(a, 1);
        const ra2 = await addRecording(a, 2);
        const rb = await addRecording(b, 3);
        const rb2 = await addRecording(b, 4);
        await run(async (tx) => {
          await tx.outbox.enqueue({ recordingId: ra, ownerId: a, capturedAt: 1, enqueuedAt: 10 });
          await tx.outbox.enqueue({ recordingId: ra2, ownerId: a, capturedAt: 2, enqueuedAt: 10 });
          await tx.outbox.enqueue({ recordingId: rb, ownerId: b, capturedAt: 3, enqueuedAt: 10 });
          await tx.outbox.enqueue({ recordingId: rb2, ownerId: b, capturedAt: 4, enqueuedAt: 10 });
        });
        await run((tx) => tx.outbox.recordFailure(ra, 'reason 0x87', 5000));
        expect((await run((tx) => tx.outbox.due(4999, 10))).map((e) => e.recordingId)).toEqual([ra2, rb, rb2]);
        expect((await run((tx) => tx.outbox.due(5000, 10))).find((e) => e.recordingId === ra)).toMatchObject({ attempts: 1, lastError: 'reason 0x87', nextAttemptAt: 5000 });
        await run((tx) => tx.outbox.remove(rb));
        await run((tx) => tx.recordings.delete(b, [rb2]));
        expect(await run((tx) => tx.outbox.count())).toBe(2);
        expect(await run((tx) => tx.outbox.removeOwner(a))).toBe(2);
        expect(await run((tx) => tx.outbox.count())).toBe(0);
      });
      it('nextAttemptAfter(now) is the earliest retry time later than now (undefined when none)', async () => {
        const o = await addOwner();
        expect(await run((tx) => tx.outbox.nextAttemptAfter(0))).toBeUndefined();
        const r1 = await addRecording(o, 1);
        const r2 = await addRecording(o, 2);
        await run(async (tx) => {
          await tx.outbox.enqueue({ recordingId: r1, ownerId: o, capturedAt: 1, enqueuedAt: 10 });
          await tx.outbox.enqueue({ recordingId: r2, ownerId: o, capturedAt: 2, enqueuedAt: 10 });
        });
        expect(await run((tx) => tx.outbox.nextAttemptAfter(10))).toBeUndefined(); // both due now: no timer needed
        expect(await run((tx) => tx.outbox.nextAttemptAfter(5))).toBe(10);
        await run((tx) => tx.outbox.recordFailure(r1, 'x', 9000));
        await run((tx) => tx.outbox.recordFailure(r2, 'x', 7000));
        expect(await run((tx) => tx.outbox.nextAttemptAfter(10))).toBe(7000);
        expect(await run((tx) => tx.outbox.nextAttemptAfter(7000))).toBe(9000);
        expect(await run((tx) => tx.outbox.nextAttemptAfter(9000))).toBeUndefined();
      });
      it("enqueueing twice keeps one entry; an entry naming another owner than the recording's is refused", async () => {
        const o = await addOwner();
        const p = await addOwner();
        const r = await addRecording(o, 1);
        await run((tx) => tx.outbox.enqueue({ recordingId: r, ownerId: o, capturedAt: 1, enqueuedAt: 10 }));
        await run((tx) => tx.outbox.enqueue({ recordingId: r, ownerId: o, capturedAt: 1, enqueuedAt: 20 }));
        expect(await run((tx) => tx.outbox.count())).toBe(1);
        await expect(run((tx) => tx.outbox.enqueue({ recordingId: r, ownerId: p, capturedAt: 1, enqueuedAt: 10 }))).rejects.toMatchObject({ code: 'INTEGRITY' });
        await expect(run((tx) => tx.outbox.enqueue({ recordingId: 'nope', ownerId: o, capturedAt: 1, enqueuedAt: 10 }))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
      });
    });

    describe('settings and audit', () => {
      it('get of a missing key is undefined; set overwrites', async () => {
        expect(await run((tx) => tx.settings.get('fleet.version.device'))).toBeUndefined();
        await run((tx) => tx.settings.set('fleet.version.device', '3'));
        await run((tx) => tx.settings.set('fleet.version.device', '4'));
        expect(await run((tx) => tx.settings.get('fleet.version.device'))).toBe('4');
      });
      it('appends events in order with their clear detail; the head advances; list filters by owner', async () => {
        const o = await addOwner();
        const h0 = await s.audit.head();
        await run(async (tx) => {
          await tx.audit.append({ type: 'config.applied', detail: { version: 3 } });
          await tx.audit.append({ type: 'consent.changed', ownerId: o, detail: { purpose: 'cloud-processing', action: 'grant' }, personal: { note: 'x' } });
        });
        const tail = (await s.audit.list()).slice(-2);
        expect(tail.map((e) => e.type)).toEqual(['config.applied', 'consent.changed']);
        expect(tail[1]).toMatchObject({ ownerId: o, detail: { purpose: 'cloud-processing', action: 'grant' }, personal: { note: 'x' } });
        expect((await s.audit.list({ ownerId: o })).map((e) => e.type)).toEqual(['consent.changed']);
        const h1 = await s.audit.head();
        expect(h1.seq).toBe(h0.seq + 2);
        expect(h1.head).not.toBe(h0.head);
        expect((await s.audit.verify()).ok).toBe(true);
      });
    });

    describe('the unit of work', () => {
      it('commits as a whole or not at all: a throw leaves no owner, recording, consent, queue entry or audit entry', async () => {
        const kept = await addOwner();
        const before = await s.audit.head();
        const c = makeCapture({ seed: 3 });
        await expect(
          run(async (tx) => {
            const o = await tx.owners.create({ name: 'Doomed', createdAt: 1, retentionDays: 30, localOnly: false });
            await tx.recordings.insert(o, c);
            await tx.consent.append({ ownerId: o, purpose: 'cloud-processing', action: 'grant', at: 1, source: 'owner-cli', textVersion: '1' });
            await tx.outbox.enqueue({ recordingId: c.id, ownerId: o, capturedAt: c.startedAt, enqueuedAt: 1 });
            await tx.audit.append({ type: 'owner.added', ownerId: o });
            await tx.owners.setActive(o);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect((await run((tx) => tx.owners.list())).map((o) => o.id)).toEqual([kept]);
        await expect(run((tx) => tx.recordings.open(c.id))).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
        expect(await run((tx) => tx.outbox.count())).toBe(0);
        expect(await run((tx) => tx.owners.activeOwnerId())).toBeUndefined();
        expect(await s.audit.head()).toEqual(before);
      });
      it('a rekeyed unit names the old and the new device key, and the data still opens after it', async () => {
        const o = await addOwner();
        const r = await addRecording(o, 5);
        const first = await s.uow.runRekeyed(async (_tx, rotation) => rotation);
        const second = await s.uow.runRekeyed(async (_tx, rotation) => rotation);
        expect(first.to).not.toBe(first.from);
        expect(second.from).toBe(first.to);
        expect((await run((tx) => tx.recordings.open(r, o))).id).toBe(r);
        expect((await run((tx) => tx.owners.get(o)))?.name).toMatch(/^Owner /);
      });
      it('a failed rekeyed unit changes nothing and keeps the old key', async () => {
        const o = await addOwner();
        const before = await s.uow.runRekeyed(async (_tx, rotation) => rotation);
        await expect(
          s.uow.runRekeyed(async (tx) => {
            await tx.owners.remove(o);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect((await run((tx) => tx.owners.get(o)))?.id).toBe(o);
        expect((await s.uow.runRekeyed(async (_tx, rotation) => rotation)).from).toBe(before.to);
      });
      it('read sees what was committed', async () => {
        const o = await addOwner();
        expect((await s.uow.read((tx) => tx.owners.get(o)))?.id).toBe(o);
      });
    });
  });
}
