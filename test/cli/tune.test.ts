/**
 * `earshot tune` end to end in-process, with the real models: an owner enrolled hey_jarvis from three fixture
 * clips (a verifier trained on them); tune recommends a threshold and gate from the enrolment, the room
 * background kept at enrolment and a near-miss clip given as --background, prints the expected miss rate and
 * false accepts per hour, and --apply writes them to the owner's settings (audited via "tune").
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import { commands as tuneCommands } from '../../src/cli/commands/tune.js';
import { defaultConfig, ensureStoredDeviceId } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { loadManifest } from '../../src/models/index.js';
import { openApp } from '../../src/open-app.js';
import { initDataDir } from '../../src/store/index.js';
import { encodeNegativeRuns, genericNegatives } from '../../src/verifier/index.js';
import { featuresOfBackground, featuresOfEnrolmentClip, loadWakeModels } from '../../src/wakeword/index.js';
import { runEarshot } from '../helpers/cli.js';
import { DEVICE, tempDir } from '../store/helpers.js';

const ROOT = path.resolve(__dirname, '../..');
const fixture = (...p: string[]) => path.join(ROOT, 'test', 'fixtures', ...p);

describe('earshot tune', () => {
  let t: ReturnType<typeof tempDir>;
  let dir: string;
  let owner: string;
  let unenrolled: string;
  const cli = (...argv: string[]) => runEarshot(argv, { EARSHOT_DATA_DIR: dir }, tuneCommands);

  beforeAll(async () => {
    t = tempDir('earshot-tune-');
    dir = path.join(t.dir, 'data');
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await ensureStoredDeviceId(dir, DEVICE);
    await initDataDir(dir, { deviceId: DEVICE });
    const models = await loadWakeModels(await loadManifest(), ['hey_jarvis']);
    const speech = (await readWavFile(fixture('audio', 'mic-speech-16k.wav'))).pcm16k;
    const generic = await featuresOfBackground(models, speech, 'hey_jarvis');
    // Trained as `earshot enroll` trains: against the shipped generic negatives.
    const shippedNegatives = await genericNegatives(await loadManifest());
    const opened = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId: DEVICE, logger: silentLogger, genericNegatives: async () => shippedNegatives });
    try {
      owner = await opened.app.addOwner({ name: 'Tuner', source: 'test' });
      unenrolled = await opened.app.addOwner({ name: 'Other', source: 'test' });
      const clips = [];
      for (const f of ['hey_jarvis__en-us.wav', 'hey_jarvis__en-gb.wav', 'hey_jarvis__en-f3.wav']) {
        const c = await featuresOfEnrolmentClip(models, (await readWavFile(fixture('wake', f))).pcm16k, 'hey_jarvis');
        clips.push({ peakScore: c.peakScore, windows: c.windows });
      }
      await opened.app.enrolVerifier({ ownerId: owner, wakeword: 'hey_jarvis', clips, background: generic.slice(0, 10), source: 'test' });
    } finally {
      await opened.close();
    }
  }, 120_000);
  afterAll(() => t.cleanup());

  it('recommends a threshold and gate with the expected miss rate and false accepts per hour; --apply writes them', async () => {
    const r = await cli('tune', '--wakeword', 'hey_jarvis', '--owner', owner, '--background', fixture('nearmiss', 'hey_travis.wav'), '--background', fixture('nearmiss', 'hey_service.wav'), '--json');
    // Only progress on stderr (scoring the shipped generic negatives).
    expect(r.err.split('\n').filter((l) => l !== '' && !l.startsWith('scoring the generic negatives: '))).toEqual([]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as Record<string, unknown>;
    if (process.env['SHOW_TUNE']) console.log(r.out);
    expect(out).toMatchObject({ ownerId: owner, wakeword: 'hey_jarvis', verifier: true, enrolmentClips: 3, applied: false, targetFaPerHour: 0.3, fleetFloor: 0, inEffect: 0.5 });
    const threshold = out['threshold'] as number;
    const gate = out['verifierGate'] as number;
    expect(threshold).toBeGreaterThan(0);
    expect(threshold).toBeLessThanOrEqual(0.99);
    expect(gate).toBeLessThanOrEqual(threshold);
    expect(out['expectedMissRate']).toBeGreaterThanOrEqual(0);
    // The shipped generic negative set is scored: well over the few seconds of the owner's own negatives.
    expect(out['negativeHours']).toBeGreaterThan(0.02);
    expect((out['notes'] as string[]).some((n) => n.includes('generic negative set'))).toBe(false);

    const applied = await cli('tune', '--wakeword', 'hey_jarvis', '--owner', owner, '--background', fixture('nearmiss', 'hey_travis.wav'), '--background', fixture('nearmiss', 'hey_service.wav'), '--apply');
    expect(applied.code).toBe(0);
    expect(applied.out).toContain(`recommended threshold ${threshold}, verifier gate ${gate}`);
    expect(applied.out).toContain(`applied: in effect ${threshold}`);
    const opened = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId: DEVICE, logger: silentLogger });
    try {
      expect(await opened.app.wakeSettings(owner)).toEqual({ claims: [], thresholds: { hey_jarvis: threshold }, verifierGates: { hey_jarvis: gate } });
      const entries = (await opened.app.auditLog({ ownerId: owner })).filter((e) => e.type === 'wake.threshold.set');
      expect(entries.map((e) => [e.detail, e.personal])).toEqual([[{ source: 'owner-cli', via: 'tune' }, { wakeword: 'hey_jarvis', threshold, verifierGate: gate }]]);
    } finally {
      await opened.close();
    }
  }, 120_000);

  it('a recommendation that misses the target (the owner\'s own wake phrase given as background) is shown but not applied', async () => {
    const before = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId: DEVICE, logger: silentLogger });
    const settings = await before.app.wakeSettings(owner);
    await before.close();
    const r = await cli('tune', '--wakeword', 'hey_jarvis', '--owner', owner, '--background', fixture('wake', 'hey_jarvis__en-us.wav'), '--target-fa-per-hour', '0', '--apply', '--json');
    expect(r.code).toBe(1);
    expect(r.err).toContain('not applied');
    const out = JSON.parse(r.out) as { met: boolean; applied: boolean; notes: string[] };
    expect(out).toMatchObject({ met: false, applied: false });
    expect(out.notes.some((n) => n.startsWith('not applied'))).toBe(true);
    const after = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId: DEVICE, logger: silentLogger });
    try {
      expect(await after.app.wakeSettings(owner)).toEqual(settings);
    } finally {
      await after.close();
    }
  }, 120_000);

  it('an owner who has not enrolled the word, a bad target or no --wakeword is refused naming what to do', async () => {
    const r = await cli('tune', '--wakeword', 'hey_jarvis', '--owner', unenrolled);
    expect(r.code).toBe(2);
    expect(r.err).toContain('earshot enroll');
    expect((await cli('tune', '--wakeword', 'hey_jarvis', '--target-fa-per-hour', '-1')).code).toBe(2);
    expect((await cli('tune')).code).toBe(2);
  });

  it('with the generic negative set of its --manifest: its runs are scored as continuous audio and counted in the hours', async () => {
    // A manifest like the shipped one with a small generic set of its own: one run of consecutive embeddings of speech.
    const models = await loadWakeModels(await loadManifest(), ['hey_jarvis']);
    const speech = (await readWavFile(fixture('audio', 'mic-speech-16k.wav'))).pcm16k;
    const windows = await featuresOfBackground(models, speech, 'hey_jarvis');
    const run = new Float32Array((16 + windows.length - 1) * 96);
    run.set(windows[0]!);
    windows.slice(1).forEach((w, i) => run.set(w.subarray(15 * 96), (16 + i) * 96));
    const bytes = encodeNegativeRuns({ dim: 96, window: 16, stride: 1, runs: [run] });
    const mdir = path.join(t.dir, 'models');
    await fs.mkdir(mdir, { recursive: true });
    await fs.writeFile(path.join(mdir, 'negatives.bin'), bytes);
    const shipped = JSON.parse(await fs.readFile(path.join(ROOT, 'models', 'manifest.json'), 'utf8')) as { models: { kind: string; source: { type: string; path: string } }[] };
    shipped.models = shipped.models.filter((m) => m.kind !== 'verifier-negatives');
    for (const m of shipped.models) if (m.source.type === 'local') await fs.copyFile(path.join(ROOT, 'models', m.source.path), path.join(mdir, m.source.path));
    shipped.models.push({
      name: 'generic_negatives',
      kind: 'verifier-negatives',
      file: 'negatives.bin',
      source: { type: 'local', path: 'negatives.bin' },
      sha256: createHash('sha256').update(bytes).digest('hex'),
      licence: 'Apache-2.0',
      madeWith: { script: 'test', scriptVersion: '1', models: {} },
    } as never);
    await fs.writeFile(path.join(mdir, 'manifest.json'), JSON.stringify(shipped));
    const r = await cli('tune', '--wakeword', 'hey_jarvis', '--owner', owner, '--manifest', path.join(mdir, 'manifest.json'), '--json');
    expect(r.err).toBe('scoring the generic negatives: 1/1\n');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { negativeHours: number; notes: string[] };
    // The run (about 3 s of speech) plus the 10 background windows kept at enrolment, 80 ms per window.
    expect(out.negativeHours * 3_600_000).toBeCloseTo((windows.length + 10) * 80, 0);
    expect(out.notes.some((n) => n.includes('generic negative set'))).toBe(false);
  }, 120_000);
});
