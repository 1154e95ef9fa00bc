/**
 * Household verifiers through the application layer, on both stores: enrolment (features in, never audio) →
 * status; flag → retrain (the flagged recording's wake features become a negative example) and unflag → retrain
 * without it; removal; erasure and transfer destroy the owner's verifiers; the export lists them with what they
 * were trained on. Every operation is audited once, with the wake word only in the sealed personal part.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/core/ports.js';
import { decodeVerifierModel, verifierProbability } from '../../src/verifier/index.js';
import { readTar } from '../export/tar-read.js';
import { makeCapture } from '../store/helpers.js';
import { centreOf, enrolmentOf, GENERIC_NEGATIVES, TEST_FEATURE_DIM, VOICE, windowsAround } from '../support/verifier-features.js';
import { appHarness, onEveryStore, type AppHarness } from './harness.js';

onEveryStore('household verifiers', (kind) => {
  let h: AppHarness;
  let alice: string;
  let bob: string;
  const cli = { source: 'owner-cli' };
  beforeEach(async () => {
    h = await appHarness(kind);
    alice = await h.app.addOwner({ name: 'Alice', ...cli });
    bob = await h.app.addOwner({ name: 'Bob', ...cli });
  });
  afterEach(() => h.close());

  async function appendedBy(fn: () => Promise<unknown>): Promise<AuditEntry[]> {
    const before = (await h.app.auditHead()).seq;
    await fn();
    return (await h.app.auditLog()).filter((e) => e.seq > before);
  }
  const enrol = (ownerId: string, wakeword = 'hey_jarvis', background: Float32Array[] = windowsAround(centreOf(50), 4, 9)) =>
    h.app.enrolVerifier({ ownerId, wakeword, clips: enrolmentOf(VOICE), background, ...cli });
  /** A stored recording of `ownerId` woken by `wakeword`, with wake features `features`. */
  async function wakeWith(ownerId: string, features: Float32Array, wakeword = 'hey_jarvis', seed = 0): Promise<string> {
    const c = { ...makeCapture({ seed: seed + 1, startedAt: h.clock.advance(1000) }), wakeword, wakeFeatures: features };
    await h.app.storeCapture(ownerId, c, { uplink: false });
    return c.id;
  }
  async function model(ownerId: string, wakeword = 'hey_jarvis') {
    return (await h.app.verifiersFor(ownerId))[wakeword]!;
  }

  it('enrol → status: trained from features, per owner and word, audited once with the word sealed', async () => {
    const e = await appendedBy(() => enrol(alice));
    expect(e.map((x) => x.type)).toEqual(['verifier.enrolled']);
    expect(e[0]).toMatchObject({ ownerId: alice, detail: { clips: 3, backgroundWindows: 4, falseWakes: 0, replaced: false, source: 'owner-cli' } });
    expect(e[0]!.personal).toMatchObject({ wakeword: 'hey_jarvis' });
    expect(JSON.stringify(e[0]!.detail)).not.toContain('jarvis');
    const status = await h.app.verifierStatus(alice);
    expect(status).toEqual([
      { ownerId: alice, wakeword: 'hey_jarvis', clips: 3, cvRecall: expect.any(Number), trainedAt: h.clock.now(), peakScores: [0.6, 0.65, 0.7], backgroundWindows: 4, partialPhraseWindows: 0, falseWakes: 0 },
    ]);
    expect(status[0]!.cvRecall).toBe(1);
    expect(await h.app.verifierStatus(bob)).toEqual([]);
    // The stored model is the trained one: it accepts the voice and refuses something else.
    const m = await model(alice);
    expect(m.featureDim).toBe(TEST_FEATURE_DIM);
    expect(verifierProbability(m, windowsAround(VOICE, 1, 77, 0.2)[0]!)).toBeGreaterThan(0.5);
    expect(verifierProbability(m, centreOf(300))).toBeLessThan(0.5);
    // Every owner's status when none is named; enrolling again replaces the word's verifier.
    await enrol(bob, 'alexa');
    h.clock.advance(60_000);
    const again = await appendedBy(() => enrol(alice));
    expect(again[0]).toMatchObject({ detail: { replaced: true } });
    // (Both owners were added at the same instant, so their order is the store's.)
    const all = (await h.app.verifierStatus()).map((s) => [s.ownerId, s.wakeword, s.trainedAt]);
    expect(all).toHaveLength(2);
    expect(all).toEqual(expect.arrayContaining([[alice, 'hey_jarvis', h.clock.now()], [bob, 'alexa', h.clock.now() - 60_000]]));
  });

  it("the word's threshold on the device is what the cross-validated score is measured at, and a retrain keeps it", async () => {
    await h.app.enrolVerifier({ ownerId: alice, wakeword: 'hey_jarvis', clips: enrolmentOf(VOICE), threshold: 0.7, ...cli });
    expect(await model(alice)).toMatchObject({ threshold: 0.7, gate: 0.1 });
    const r = await wakeWith(alice, centreOf(700));
    expect(await h.app.flagRecording(alice, r, true, cli)).toEqual({ retrained: true });
    expect(await model(alice)).toMatchObject({ threshold: 0.7, gate: 0.1 });
  });

  it('the gate enrolment chose is the model\'s, and a retrain keeps it', async () => {
    await h.app.enrolVerifier({ ownerId: alice, wakeword: 'hey_jarvis', clips: enrolmentOf(VOICE), gate: 0.01, ...cli });
    expect(await model(alice)).toMatchObject({ threshold: 0.5, gate: 0.01 });
    const r = await wakeWith(alice, centreOf(700));
    expect(await h.app.flagRecording(alice, r, true, cli)).toEqual({ retrained: true });
    expect(await model(alice)).toMatchObject({ threshold: 0.5, gate: 0.01 });
  });

  it('enrolment refuses fewer than 3 clips, a clip without the word (named by its position), a bad word, an unknown owner', async () => {
    const clips = enrolmentOf(VOICE);
    await expect(h.app.enrolVerifier({ ownerId: alice, wakeword: 'hey_jarvis', clips: clips.slice(0, 2), ...cli })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('at least 3 clips') });
    const quiet = clips.map((c, i) => (i === 1 ? { ...c, peakScore: 0.05 } : c));
    await expect(h.app.enrolVerifier({ ownerId: alice, wakeword: 'hey_jarvis', clips: quiet, ...cli })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('clip 2 does not contain hey_jarvis') });
    await expect(h.app.enrolVerifier({ ownerId: alice, wakeword: 'Hey Jarvis', clips, ...cli })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(h.app.enrolVerifier({ ownerId: 'own-0000000000000000', wakeword: 'hey_jarvis', clips, ...cli })).rejects.toMatchObject({ code: 'UNKNOWN_OWNER' });
    expect(await h.app.verifierStatus()).toEqual([]);
    expect((await h.app.auditLog()).filter((x) => x.type === 'verifier.enrolled')).toEqual([]);
  });

  it("flag → retrain: each false wake's features become a negative example of that word's verifier; unflag retrains without them", async () => {
    await enrol(alice);
    // False wakes the first verifier accepts: a housemate's voice close to Alice's.
    const housemate = VOICE.map((v, i) => v + (i % 2 === 0 ? 0.6 : -0.6));
    const before = await model(alice);
    expect(verifierProbability(before, housemate)).toBeGreaterThan(0.9);
    const falseWakes: string[] = [];
    for (const [i, w] of windowsAround(housemate, 3, 900, 0.1).entries()) falseWakes.push(await wakeWith(alice, w, 'hey_jarvis', i));
    const other = await wakeWith(alice, centreOf(400), 'alexa');
    let p = verifierProbability(before, housemate);
    for (const [i, id] of falseWakes.entries()) {
      h.clock.advance(1000);
      let result: { retrained: boolean } | undefined;
      const e = await appendedBy(async () => (result = await h.app.flagRecording(alice, id, true, cli)));
      expect(result).toEqual({ retrained: true });
      expect(e.map((x) => [x.type, x.recordingId, x.detail, x.personal])).toEqual([['recording.flagged', id, { source: 'owner-cli' }, { falseWake: true, verifierRetrained: true }]]);
      expect((await h.app.verifierStatus(alice))[0]).toMatchObject({ falseWakes: i + 1, trainedAt: h.clock.now() });
      const now = verifierProbability(await model(alice), housemate);
      expect(now).toBeLessThan(p);
      p = now;
    }
    // Three flagged false wakes and the housemate no longer passes; the owner's own voice still does.
    const after = await model(alice);
    expect(verifierProbability(after, housemate)).toBeLessThan(0.5);
    expect(verifierProbability(after, windowsAround(VOICE, 1, 78, 0.2)[0]!)).toBeGreaterThan(0.5);
    // A false wake of a word without a verifier is only marked.
    expect(await h.app.flagRecording(alice, other, true, cli)).toEqual({ retrained: false });
    expect((await h.app.verifierStatus(alice))[0]!.falseWakes).toBe(3);
    // Unflag: retrained without the example, until it is the enrolment's own model again.
    for (const id of falseWakes) {
      h.clock.advance(1000);
      expect(await h.app.flagRecording(alice, id, false, cli)).toEqual({ retrained: true });
    }
    expect((await h.app.verifierStatus(alice))[0]).toMatchObject({ falseWakes: 0, trainedAt: h.clock.now() });
    expect(Array.from((await model(alice)).weights)).toEqual(Array.from(before.weights));
  });

  it('deleting a flagged false wake, or its expiry, retrains the verifier without it: nothing learnt from a deleted recording stays', async () => {
    await enrol(alice);
    const base = await model(alice);
    const housemate = VOICE.map((v, i) => v + (i % 2 === 0 ? 0.6 : -0.6));
    const [w1, w2] = windowsAround(housemate, 2, 900, 0.1);
    const r1 = await wakeWith(alice, w1!, 'hey_jarvis', 1);
    const r2 = await wakeWith(alice, w2!, 'hey_jarvis', 2);
    const plain = await wakeWith(alice, centreOf(600), 'hey_jarvis', 3);
    await h.app.flagRecording(alice, r1, true, cli);
    await h.app.flagRecording(alice, r2, true, cli);
    const flagged = (await h.app.verifierStatus(alice))[0]!;
    expect(flagged.falseWakes).toBe(2);
    // An unflagged recording goes without retraining.
    h.clock.advance(1000);
    let e = await appendedBy(() => h.app.deleteRecordings(alice, [plain], cli));
    expect(e.map((x) => [x.type, x.personal])).toEqual([['recording.deleted', null]]);
    expect((await h.app.verifierStatus(alice))[0]).toEqual(flagged);
    // The owner deletes one flagged false wake: retrained without it, in the same unit, said in the entry (sealed).
    h.clock.advance(1000);
    e = await appendedBy(() => h.app.deleteRecordings(alice, [r1], cli));
    expect(e.map((x) => [x.type, x.recordingId, x.personal])).toEqual([['recording.deleted', r1, { verifierRetrained: true }]]);
    expect((await h.app.verifierStatus(alice))[0]).toMatchObject({ falseWakes: 1, trainedAt: h.clock.now() });
    // Retention takes the other: retrained again, back to exactly the enrolment's own model.
    await h.app.setRetention(alice, 1, cli);
    h.clock.advance(3 * 86_400_000);
    e = await appendedBy(() => h.app.sweepRetention({ source: 'daemon' }));
    expect(e.filter((x) => x.type === 'retention.swept').map((x) => [x.ownerId, x.detail?.['deleted'], x.personal])).toEqual([[alice, 1, { verifiersRetrained: 1 }]]);
    expect((await h.app.verifierStatus(alice))[0]).toMatchObject({ falseWakes: 0, trainedAt: h.clock.now() });
    expect(Array.from((await model(alice)).weights)).toEqual(Array.from(base.weights));
  });

  it("another owner's recording cannot be flagged into Alice's verifier, nor Bob's verifier retrained from Alice's side", async () => {
    await enrol(alice);
    await enrol(bob);
    const bobs = await wakeWith(bob, centreOf(500));
    const bobModel = (await h.app.verifierStatus(bob))[0]!;
    await expect(h.app.flagRecording(alice, bobs, true, cli)).rejects.toMatchObject({ code: 'UNKNOWN_RECORDING' });
    expect((await h.app.verifierStatus(alice))[0]!.falseWakes).toBe(0);
    expect((await h.app.verifierStatus(bob))[0]).toEqual(bobModel);
  });

  it('remove: one word of one owner, audited once with the word sealed; an absent one is UNKNOWN_VERIFIER', async () => {
    await enrol(alice);
    await enrol(alice, 'alexa');
    const e = await appendedBy(() => h.app.removeVerifier(alice, 'alexa', cli));
    expect(e.map((x) => [x.type, x.ownerId, x.detail, x.personal])).toEqual([['verifier.removed', alice, { source: 'owner-cli' }, { wakeword: 'alexa' }]]);
    expect((await h.app.verifierStatus(alice)).map((s) => s.wakeword)).toEqual(['hey_jarvis']);
    expect(Object.keys(await h.app.verifiersFor(alice))).toEqual(['hey_jarvis']);
    await expect(h.app.removeVerifier(alice, 'alexa', cli)).rejects.toMatchObject({ code: 'UNKNOWN_VERIFIER' });
    await expect(h.app.removeVerifier(bob, 'hey_jarvis', cli)).rejects.toMatchObject({ code: 'UNKNOWN_VERIFIER' });
  });

  it("erasure destroys the owner's verifiers (counted in owner.erased) and leaves the other owner's", async () => {
    await enrol(alice);
    await enrol(alice, 'alexa');
    await enrol(bob);
    const e = await appendedBy(() => h.app.eraseOwner(alice, cli));
    expect(e[0]).toMatchObject({ type: 'owner.erased', detail: { verifiers: 2 } });
    expect(await h.read((tx) => tx.verifiers.list(alice))).toEqual([]);
    expect(await h.read((tx) => tx.verifiers.enrolment(alice, 'hey_jarvis'))).toBeUndefined();
    expect(await h.app.verifiersFor(alice)).toEqual({});
    expect((await h.app.verifierStatus()).map((s) => s.ownerId)).toEqual([bob]);
    // The enrolled word was sealed under Alice's key: her audit entries' personal parts are now redacted.
    expect((await h.app.auditLog({ ownerId: alice })).filter((x) => x.type === 'verifier.enrolled').every((x) => x.personal === 'redacted')).toBe(true);
  });

  it("transfer destroys every owner's verifiers; the new owner starts with none", async () => {
    await enrol(alice);
    await enrol(bob, 'alexa');
    const r = await h.app.transferDevice({ newOwnerName: 'Dana', ...cli });
    expect(r.erased.map((x) => x.verifiers)).toEqual([1, 1]);
    expect(await h.app.verifierStatus()).toEqual([]);
    expect(await h.read((tx) => tx.verifiers.list(alice))).toEqual([]);
    expect(await h.read((tx) => tx.verifiers.list(bob))).toEqual([]);
  });

  it("partial-phrase negatives: kept with their clip, trained against (also when a flag retrains), counted in status and audit, in the export", async () => {
    // Clip 0's partial phrases sit close to the voice: the verifier learns them as "not the word".
    const near = windowsAround(VOICE, 6, 31, 0.6);
    const clips = enrolmentOf(VOICE).map((c, i) => (i === 0 ? { ...c, partialPhrases: near } : c));
    const e = await appendedBy(() => h.app.enrolVerifier({ ownerId: alice, wakeword: 'hey_jarvis', clips, ...cli }));
    expect(e[0]).toMatchObject({ detail: { clips: 3, partialPhraseWindows: 6 } });
    expect((await h.app.verifierStatus(alice))[0]).toMatchObject({ clips: 3, partialPhraseWindows: 6, backgroundWindows: 0 });
    const m = await model(alice);
    expect(m.negatives).toBe(GENERIC_NEGATIVES.length + 6);
    const stored = (await h.read((tx) => tx.verifiers.enrolment(alice, 'hey_jarvis')))!;
    expect(stored.clips.map((c) => c.partialPhrases?.length ?? 0)).toEqual([6, 0, 0]);
    // A flag retrains from the stored enrolment: the partial phrases are still among the negatives.
    const r = await wakeWith(alice, windowsAround(centreOf(60), 1, 3)[0]!);
    expect(await h.app.flagRecording(alice, r, true, cli)).toEqual({ retrained: true });
    expect((await model(alice)).negatives).toBe(GENERIC_NEGATIVES.length + 6 + 1);
    expect((await h.app.verifierStatus(alice))[0]).toMatchObject({ partialPhraseWindows: 6, falseWakes: 1 });
    const dir = mkdtempSync(path.join(tmpdir(), 'earshot-export-'));
    try {
      const out = path.join(dir, 'alice');
      await h.app.exportOwner({ ownerId: alice, out, ...cli });
      const v = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')).verifiers[0];
      expect(v.partialPhrasesPerClip).toEqual([6, 0, 0]);
      expect(v.partialPhrases).toMatchObject({ format: 'float32le', dim: TEST_FEATURE_DIM, windows: 6 });
      const f = readFileSync(path.join(out, v.partialPhrases.file));
      expect(Array.from(new Float32Array(f.buffer.slice(f.byteOffset, f.byteOffset + TEST_FEATURE_DIM * 4)))).toEqual(Array.from(near[0]!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the export lists the verifiers with their model and enrolment features, and each recording with its wake features', async () => {
    await enrol(alice);
    const wake = windowsAround(VOICE, 1, 5)[0]!;
    const rec = await wakeWith(alice, wake);
    await enrol(bob, 'alexa');
    const dir = mkdtempSync(path.join(tmpdir(), 'earshot-export-'));
    try {
      const out = path.join(dir, 'alice');
      const r = await h.app.exportOwner({ ownerId: alice, out, ...cli });
      expect(r.verifiers).toBe(1);
      const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      expect(m.verifiers).toHaveLength(1);
      const v = m.verifiers[0];
      expect(v).toMatchObject({ wakeword: 'hey_jarvis', clips: 3, peakScores: [0.6, 0.65, 0.7], falseWakes: 0, positivesPerClip: [6, 6, 6] });
      expect(v.enrolment).toMatchObject({ format: 'float32le', dim: TEST_FEATURE_DIM, windows: 18, bytes: 18 * TEST_FEATURE_DIM * 4 });
      expect(v.background).toMatchObject({ windows: 4 });
      // The model file is the stored model; the features file holds the enrolment windows, clip after clip.
      const modelBytes = readFileSync(path.join(out, v.model.file));
      expect(decodeVerifierModel(new Uint8Array(modelBytes))).toMatchObject({ wakeword: 'hey_jarvis', clips: 3 });
      const f = readFileSync(path.join(out, v.enrolment.file));
      const first = new Float32Array(f.buffer.slice(f.byteOffset, f.byteOffset + TEST_FEATURE_DIM * 4));
      expect(Array.from(first)).toEqual(Array.from(enrolmentOf(VOICE)[0]!.windows[0]!));
      const entry = m.recordings.find((x: { id: string }) => x.id === rec);
      expect(entry.wakeFeatures).toMatchObject({ dim: TEST_FEATURE_DIM, windows: 1 });
      const wf = readFileSync(path.join(out, entry.wakeFeatures.file));
      expect(Array.from(new Float32Array(wf.buffer.slice(wf.byteOffset, wf.byteOffset + wf.length)))).toEqual(Array.from(wake));
      // Nothing of Bob's.
      expect(JSON.stringify(m)).not.toContain('alexa');
      // The same files in a tar bundle, every one hashed in the manifest.
      const tar = readTar(readFileSync((await h.app.exportOwner({ ownerId: alice, out: path.join(dir, 'alice.tar'), ...cli })).out));
      const root = `earshot-export-${alice}`;
      const tm = JSON.parse(tar.get(`${root}/manifest.json`)!.toString('utf8'));
      for (const f of [tm.verifiers[0].model, tm.verifiers[0].enrolment, tm.verifiers[0].background, tm.recordings[0].wakeFeatures]) {
        expect(createHash('sha256').update(tar.get(`${root}/${f.file}`)!).digest('hex')).toBe(f.sha256);
      }
      expect((await h.app.auditLog()).filter((x) => x.type === 'export.created').at(-1)).toMatchObject({ detail: { verifiers: 1 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a flag committed by another process while a retrain was training is not lost: the commit sees it and trains again', async () => {
    // A harness whose training hook flags a second recording (as another process would) during the first retrain.
    let during: (() => Promise<void>) | undefined;
    const h2 = await appHarness(kind, {
      genericNegatives: async () => {
        const f = during;
        during = undefined;
        await f?.();
        return GENERIC_NEGATIVES;
      },
    });
    try {
      const owner = await h2.app.addOwner({ name: 'Carol', ...cli });
      await h2.app.enrolVerifier({ ownerId: owner, wakeword: 'hey_jarvis', clips: enrolmentOf(VOICE), ...cli });
      const ids: string[] = [];
      for (const [i, w] of windowsAround(centreOf(800), 2, 5).entries()) {
        const c = { ...makeCapture({ seed: 50 + i, startedAt: h2.clock.advance(1000) }), wakeFeatures: w };
        await h2.app.storeCapture(owner, c, { uplink: false });
        ids.push(c.id);
      }
      during = async () => {
        await h2.app.flagRecording(owner, ids[1]!, true, cli);
      };
      expect(await h2.app.flagRecording(owner, ids[0]!, true, cli)).toEqual({ retrained: true });
      expect(during).toBeUndefined();
      // Both flags are in the stored verifier, and each flag was audited once.
      expect((await h2.app.verifierStatus(owner))[0]!.falseWakes).toBe(2);
      expect((await h2.app.auditLog()).filter((e) => e.type === 'recording.flagged').map((e) => e.recordingId).sort()).toEqual([...ids].sort());
    } finally {
      await h2.close();
    }
  });
});
