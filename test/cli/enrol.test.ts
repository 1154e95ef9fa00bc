/**
 * `earshot enroll` / `enroll status` / `enroll remove`, `earshot recordings flag|unflag`, `earshot detect --owner`,
 * in-process on a real data directory with the real wake-word models and fixture clips.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/index.js';
import { enrolCommands } from '../../src/cli/commands/enrol.js';
import { commands as storeCommands } from '../../src/cli/commands/store.js';
import { commands as wakeCommands } from '../../src/cli/commands/wake.js';
import { defaultConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { loadManifest } from '../../src/models/index.js';
import { openApp } from '../../src/open-app.js';
import { DEFAULT_PARTIAL_PHRASE_FRACTIONS, featuresOfBackground, loadWakeModels } from '../../src/wakeword/index.js';
import { runEarshot } from '../helpers/cli.js';
import { makeCapture, tempDir } from '../store/helpers.js';

const FIX = path.join(import.meta.dirname, '../fixtures');
const clip = (name: string) => path.join(FIX, 'wake', `${name}.wav`);
const ENROL = ['hey_jarvis__en-us', 'hey_jarvis__en-gb', 'hey_jarvis__en-f3'].map(clip);

let negatives: Float32Array[] = [];
beforeAll(async () => {
  // Real windows of other audio stand in for the shipped generic negatives (fewer, so training is quick).
  const models = await loadWakeModels(await loadManifest(), ['hey_jarvis']);
  for (const f of ['audio/mic-speech-16k.wav', 'nearmiss/hey_travis.wav', 'nearmiss/hey_service.wav', 'wake/alexa__en-us.wav']) {
    negatives.push(...(await featuresOfBackground(models, (await readWavFile(path.join(FIX, f))).pcm16k, 'hey_jarvis')));
  }
});

describe('earshot enroll and friends', () => {
  let t: ReturnType<typeof tempDir>;
  let dir: string;
  let alice: string;
  const commands = () => [...storeCommands, ...wakeCommands, ...enrolCommands({ genericNegatives: async () => negatives })];
  const cli = (...argv: string[]) => runEarshot(argv, { EARSHOT_DATA_DIR: dir }, commands());
  beforeEach(async () => {
    t = tempDir();
    dir = path.join(t.dir, 'data');
    expect((await cli('init')).code).toBe(0);
    alice = (await cli('owners', 'add', '--name', 'Alice')).out.trim();
  });
  afterEach(() => t.cleanup());

  it('enroll from 3 clips and a background clip → status shows clips, cross-validated score and time; progress on stderr', async () => {
    const r = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, '--background', path.join(FIX, 'audio', 'mic-speech-16k.wav'));
    expect(r.err).toMatch(/clip 1\/3 .*hey_jarvis__en-us\.wav: peak [01]\.\d\d at \d+\.\d\d s, \d+ windows/);
    expect(r.err).toMatch(/background .*mic-speech-16k\.wav: \d+ windows/);
    expect(r.err).toContain('training the verifier');
    // The base model hears every pink-noise copy of these clips: the default gate.
    expect(r.err).toMatch(/^verifier gate 0\.1$/m);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^enrolled: ${alice}  hey_jarvis  clips=3  cross-validated=\\d+%  trained=\\d{4}-`));
    const status = JSON.parse((await cli('enroll', 'status', '--json')).out) as { ownerId: string; wakeword: string; clips: number; cvRecall: number; trainedAt: string; backgroundWindows: number }[];
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ ownerId: alice, wakeword: 'hey_jarvis', clips: 3 });
    expect(status[0]!.cvRecall).toBeGreaterThanOrEqual(2 / 3);
    expect(status[0]!.backgroundWindows).toBeGreaterThan(0);
    expect(Date.parse(status[0]!.trainedAt)).toBeGreaterThan(0);
    expect((await cli('enroll', 'status', '--owner', alice)).out).toContain('hey_jarvis  clips=3');
    // The audit log has one entry, without the word in clear.
    const log = (await cli('audit', 'log', '--json')).out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; detail: unknown });
    const enrolled = log.filter((e) => e.type === 'verifier.enrolled');
    expect(enrolled).toHaveLength(1);
    expect(JSON.stringify(enrolled[0]!.detail)).not.toContain('jarvis');
  });

  it('a clip without the wake word is refused by name and nothing is enrolled; fewer than 3 clips, no --owner, a bad word are refused', async () => {
    const travis = path.join(FIX, 'nearmiss', 'hey_travis.wav');
    const r = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ENROL[0]!, travis, ENROL[1]!);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/hey_travis\.wav \(peak 0\.\d\d\): does not contain "hey jarvis"/);
    expect(r.err).not.toMatch(/hey_jarvis__en-us\.wav \(peak/);
    expect(JSON.parse((await cli('enroll', 'status', '--json')).out)).toEqual([]);
    const two = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL.slice(0, 2));
    expect([two.code, two.err]).toEqual([2, expect.stringContaining('at least 3 clips')]);
    const noOwner = await cli('enroll', '--wakeword', 'hey_jarvis', ...ENROL);
    expect([noOwner.code, noOwner.err]).toEqual([2, expect.stringContaining('--owner is required')]);
    const badWord = await cli('enroll', '--owner', alice, '--wakeword', 'Hey Jarvis', ...ENROL);
    expect(badWord.code).toBe(2);
    const missing = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ENROL[0]!, ENROL[1]!, path.join(t.dir, 'nope.wav'));
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('nope.wav');
    const unknownOwner = await cli('enroll', '--owner', 'own-0000000000000000', '--wakeword', 'hey_jarvis', ...ENROL);
    expect([unknownOwner.code, unknownOwner.err]).toEqual([1, expect.stringContaining('UNKNOWN_OWNER')]);
    expect((await cli('enroll', '--help')).out).toContain('--record N');
  });

  it('each clip is also learnt from pink-noise copies at 20 and 10 dB (default), stored as that clip\'s windows; --noisy-copies none / a list / bad values', async () => {
    const deviceId = readFileSync(path.join(dir, 'device-id'), 'utf8').trim();
    const stored = async () => {
      const opened = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId, logger: silentLogger });
      try {
        return (await opened.app.tuneInputs(alice, 'hey_jarvis')).enrolment!.clips.map((c) => c.windows.length);
      } finally {
        await opened.close();
      }
    };
    const plain = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, '--noisy-copies', 'none');
    expect(plain.code).toBe(0);
    expect(plain.err).not.toContain('pink noise');
    const own = await stored();
    const r = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL);
    expect(r.code).toBe(0);
    const lines = [...r.err.matchAll(/clip \d\/3 .*: peak [01]\.\d\d at \d+\.\d\d s, (\d+) windows \((\d+) \+ (\d+) at 20 dB \+ (\d+) at 10 dB in pink noise\)/g)];
    expect(lines).toHaveLength(3);
    const withCopies = await stored();
    // Still 3 clips (a clip and its copies are one clip to leave-one-clip-out); each holds its own windows and its copies'.
    expect(withCopies).toHaveLength(3);
    lines.forEach((m, i) => {
      const [all, cleanW, at20, at10] = m.slice(1).map(Number) as [number, number, number, number];
      expect(cleanW).toBe(own[i]);
      expect(at20).toBeGreaterThan(0);
      expect(at10).toBeGreaterThan(0);
      expect(all).toBe(cleanW + at20 + at10);
      expect(withCopies[i]).toBe(all);
    });
    expect(JSON.parse((await cli('enroll', 'status', '--json')).out)[0]).toMatchObject({ clips: 3 });
    // Deterministic: enrolling again from the same clips stores the same windows.
    expect((await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, '--noisy-copies', '20,10')).code).toBe(0);
    expect(await stored()).toEqual(withCopies);
    const one = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, '--noisy-copies', '15');
    expect([one.code, one.err]).toEqual([0, expect.stringMatching(/\(\d+ \+ \d+ at 15 dB in pink noise\)/)]);
    for (const bad of ['loud', '20,', '-5', '50', '20,10,5,3,1']) {
      const b = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, `--noisy-copies=${bad}`);
      expect([b.code, b.err], bad).toEqual([2, expect.stringContaining('--noisy-copies must be')]);
    }
    const help = (await cli('enroll', '--help')).out;
    expect(help).toContain('--noisy-copies DB,...');
    expect(help).toContain('default 20,10, measured');
  }, 120_000);

  it("each clip's partial-phrase copies become that clip's negatives (default cut points), counted in status; --partial-phrases none / a list / bad values", async () => {
    const deviceId = readFileSync(path.join(dir, 'device-id'), 'utf8').trim();
    const stored = async () => {
      const opened = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId, logger: silentLogger });
      try {
        return (await opened.app.tuneInputs(alice, 'hey_jarvis')).enrolment!.clips;
      } finally {
        await opened.close();
      }
    };
    const status = async () => JSON.parse((await cli('enroll', 'status', '--json')).out)[0] as { clips: number; partialPhraseWindows: number; backgroundWindows: number };
    const none = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, '--noisy-copies', 'none', '--partial-phrases', 'none');
    expect([none.code, none.err]).toEqual([0, expect.not.stringContaining('partial-phrase')]);
    const plain = await stored();
    expect(plain.every((c) => c.partialPhrases === undefined)).toBe(true);
    expect(await status()).toMatchObject({ clips: 3, partialPhraseWindows: 0 });

    const r = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, '--noisy-copies', 'none');
    expect(r.code).toBe(0);
    const counts = [...r.err.matchAll(/clip \d\/3 .*: peak [01]\.\d\d at \d+\.\d\d s, \d+ windows; (\d+) partial-phrase negatives/g)].map((m) => Number(m[1]));
    expect(counts).toHaveLength(3);
    const clips = await stored();
    // Each clip keeps its own: the positives are those of the enrolment without them, the negatives beside them.
    expect(clips.map((c) => c.windows.map((w) => Array.from(w)))).toEqual(plain.map((c) => c.windows.map((w) => Array.from(w))));
    expect(clips.map((c) => c.partialPhrases?.length ?? 0)).toEqual(counts);
    for (const n of counts) expect(n).toBeGreaterThan(0);
    expect(await status()).toMatchObject({ clips: 3, partialPhraseWindows: counts.reduce((a, b) => a + b, 0) });
    expect(r.out).toContain(`partial-phrases=${counts.reduce((a, b) => a + b, 0)}`);
    // Deterministic: the same clips give the same windows.
    expect((await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, '--noisy-copies', 'none', '--partial-phrases', DEFAULT_PARTIAL_PHRASE_FRACTIONS.join(','))).code).toBe(0);
    expect((await stored()).map((c) => (c.partialPhrases ?? []).map((w) => Array.from(w)))).toEqual(clips.map((c) => (c.partialPhrases ?? []).map((w) => Array.from(w))));
    for (const bad of ['half', '0', '1', '0.5,', '0.1,0.2,0.3,0.4,0.5,0.6,0.7']) {
      const b = await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL, `--partial-phrases=${bad}`);
      expect([b.code, b.err], bad).toEqual([2, expect.stringContaining('--partial-phrases must be')]);
    }
    const help = (await cli('enroll', '--help')).out;
    expect(help).toContain('--partial-phrases F,...');
    expect(help).toContain(`default ${DEFAULT_PARTIAL_PHRASE_FRACTIONS.join(',')}, measured`);
  }, 180_000);

  it('detect --owner applies the enrolled verifier; remove takes it away again (a second remove is UNKNOWN_VERIFIER)', async () => {
    expect((await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL)).code).toBe(0);
    const test = clip('hey_jarvis__en-us-m7');
    const plain = await cli('detect', test, '--wakeword', 'hey_jarvis', '--json');
    expect(plain.out).not.toContain('baseScore');
    const verified = await cli('detect', test, '--wakeword', 'hey_jarvis', '--owner', alice, '--json');
    expect(verified.code).toBe(0);
    expect(verified.err).toContain(`verifiers of ${alice}: hey_jarvis`);
    // Each detection now says what the base model scored; the verifier's score decided. The owner's own voice passes.
    const own = await cli('detect', ENROL[0]!, '--wakeword', 'hey_jarvis', '--owner', alice, '--json');
    const detections = own.out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { score: number; baseScore: number });
    expect(detections.length).toBeGreaterThanOrEqual(1);
    for (const d of detections) expect(d.baseScore).toBeGreaterThan(0);
    const removed = await cli('enroll', 'remove', '--owner', alice, '--wakeword', 'hey_jarvis');
    expect([removed.code, removed.out.trim()]).toEqual([0, `removed the hey_jarvis verifier of ${alice}`]);
    expect((await cli('detect', test, '--wakeword', 'hey_jarvis', '--owner', alice)).err).toContain('none for these words');
    const again = await cli('enroll', 'remove', '--owner', alice, '--wakeword', 'hey_jarvis');
    expect([again.code, again.err]).toEqual([1, expect.stringContaining('UNKNOWN_VERIFIER')]);
  });

  it('recordings flag --false-wake retrains the enrolled verifier of that word (with the generic negatives shipped in models/)', async () => {
    expect((await cli('enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL)).code).toBe(0);
    const before = JSON.parse((await cli('enroll', 'status', '--json')).out)[0] as { trainedAt: string; falseWakes: number };
    const deviceId = readFileSync(path.join(dir, 'device-id'), 'utf8').trim();
    // A false wake as the daemon stores it: the detection's window of a near miss.
    const models = await loadWakeModels(await loadManifest(), ['hey_jarvis']);
    const travis = await featuresOfBackground(models, (await readWavFile(path.join(FIX, 'nearmiss', 'hey_travis.wav'))).pcm16k, 'hey_jarvis');
    const cap = { ...makeCapture({ seed: 5 }), wakeFeatures: travis.at(-1)! };
    const opened = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId, logger: silentLogger });
    await opened.app.storeCapture(alice, cap, { uplink: false });
    await opened.close();
    await new Promise((r) => setTimeout(r, 5)); // a later training time
    const f = await cli('recordings', 'flag', cap.id, '--false-wake');
    expect(f.code).toBe(0);
    expect(f.out).toContain('retrained the verifier');
    const after = JSON.parse((await cli('enroll', 'status', '--json')).out)[0] as { trainedAt: string; falseWakes: number };
    expect(after.falseWakes).toBe(1);
    expect(Date.parse(after.trainedAt)).toBeGreaterThan(Date.parse(before.trainedAt));
  });

  it('recordings flag --false-wake and unflag: the mark shows in the list and the export; another owner cannot flag it', async () => {
    const deviceId = readFileSync(path.join(dir, 'device-id'), 'utf8').trim();
    const cap = { ...makeCapture({ seed: 4 }), wakeword: 'alexa', wakeFeatures: new Float32Array(1536).fill(0.5) };
    const opened = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId, logger: silentLogger });
    await opened.app.storeCapture(alice, cap, { uplink: false });
    await opened.close();
    const bob = (await cli('owners', 'add', '--name', 'Bob')).out.trim();
    const noKind = await cli('recordings', 'flag', cap.id);
    expect([noKind.code, noKind.err]).toEqual([2, expect.stringContaining('--false-wake is required')]);
    const f = await cli('recordings', 'flag', cap.id, '--false-wake', '--json');
    expect(f.code).toBe(0);
    expect(JSON.parse(f.out)).toEqual({ recordingId: cap.id, falseWake: true, verifierRetrained: false });
    expect((await cli('recordings', 'list')).out).toContain('false-wake');
    const list = JSON.parse((await cli('recordings', 'list', '--json')).out) as { id: string; falseWake: boolean }[];
    expect(list).toMatchObject([{ id: cap.id, falseWake: true }]);
    const other = await cli('recordings', 'flag', cap.id, '--false-wake', '--owner', bob);
    expect([other.code, other.err]).toEqual([1, expect.stringContaining('UNKNOWN_RECORDING')]);
    const exportDir = path.join(t.dir, 'export');
    expect((await cli('export', '--owner', alice, '--out', exportDir)).code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(exportDir, 'manifest.json'), 'utf8'));
    expect(manifest.recordings[0]).toMatchObject({ id: cap.id, falseWake: true, wakeFeatures: { dim: 1536, windows: 1 } });
    const u = await cli('recordings', 'unflag', cap.id);
    expect([u.code, u.out.trim()]).toEqual([0, `removed the false-wake mark from ${cap.id}`]);
    expect((await cli('recordings', 'list')).out).not.toContain('false-wake');
  });
});
