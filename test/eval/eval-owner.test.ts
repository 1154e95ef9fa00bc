/**
 * `earshot eval --owner ID` / `--setup NAME:owner=ID`: the owner's household verifier, enrolled through the real
 * CLI from three clips of one voice, changes what eval counts, and its traces are cached apart.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSetup, traceClips, withOwner, type EvaluationReport } from '../../src/eval/index.js';
import { defaultConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { loadManifest } from '../../src/models/index.js';
import { openApp } from '../../src/open-app.js';
import { loadWakeModels } from '../../src/wakeword/index.js';
import { runEarshot } from '../helpers/cli.js';
import { tempDir } from '../store/helpers.js';

const FIX = path.join(import.meta.dirname, '../fixtures');
const ENROL = [1, 2, 3].map((i) => path.join(FIX, 'verifier', 'enrol', `hey_jarvis__en-us__${i}.wav`));

describe('earshot eval with an owner’s verifiers', () => {
  let t: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let alice: string;
  let pos: string;
  let neg: string;
  const evalArgs = (...extra: string[]) => ['eval', '--wakeword', 'hey_jarvis', '--positives', pos, '--negatives', neg, '--json', ...extra];

  beforeAll(async () => {
    t = tempDir();
    env = { EARSHOT_DATA_DIR: path.join(t.dir, 'data') };
    expect((await runEarshot(['init'], env)).code).toBe(0);
    alice = (await runEarshot(['owners', 'add', '--name', 'Alice'], env)).out.trim();
    // Enrolled as a user would: three clips of espeak-ng en-us, against the shipped generic negatives.
    const enrolled = await runEarshot(['enroll', '--owner', alice, '--wakeword', 'hey_jarvis', ...ENROL], env);
    expect(enrolled.code, enrolled.err).toBe(0);
    // Positives: another clip of the same voice and one of another voice. Negatives: "hey jar" by
    // the same voice — a near miss the base model fires on and the verifier vetoes — and a tone clip.
    pos = path.join(t.dir, 'pos');
    neg = path.join(t.dir, 'neg');
    mkdirSync(pos);
    mkdirSync(neg);
    copyFileSync(path.join(FIX, 'wake', 'hey_jarvis__en-us.wav'), path.join(pos, 'own-voice.wav'));
    copyFileSync(path.join(FIX, 'wake', 'hey_jarvis__en-gb.wav'), path.join(pos, 'other-voice.wav'));
    writeFileSync(path.join(pos, 'index.json'), JSON.stringify({ clips: [{ file: 'own-voice.wav', word: 'hey_jarvis', voiceId: 'espeak-en-us' }, { file: 'other-voice.wav', word: 'hey_jarvis', voiceId: 'espeak-en-gb' }] }));
    copyFileSync(path.join(FIX, 'verifier', 'nearmiss', 'hey_jar__en-us.wav'), path.join(neg, 'hey-jar.wav'));
    copyFileSync(path.join(FIX, 'eval-sample', 'negatives', 'tones', 'beeps-1k.wav'), path.join(neg, 'beeps.wav'));
    writeFileSync(path.join(neg, 'index.json'), JSON.stringify({ clips: [{ file: 'hey-jar.wav', kind: 'nearmiss', near: 'hey_jarvis' }, { file: 'beeps.wav' }] }));
  }, 120_000);
  afterAll(() => t.cleanup());

  it('a verifier that vetoes a near miss changes the near-miss count; the own voice still wakes; traces are cached per key', async () => {
    const r = await runEarshot(evalArgs('--setup', 'default', '--setup', `mine:owner=${alice},voice=espeak-en-us`), env);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`eval: mine: verifiers of ${alice}: hey_jarvis (gate `);
    const report = JSON.parse(r.out) as EvaluationReport;
    const at = (setup: string) => report.results.find((x) => x.setup === setup)!.at;
    expect(at('default').nearMissFires).toBeGreaterThanOrEqual(1);
    expect(at('mine').nearMissFires).toBe(0);
    // voice=: only the owner's own voice's positives count for that setup.
    expect(at('default').positives).toBe(2);
    expect(at('mine').positives).toBe(1);
    expect(at('default').byVoice['espeak-en-us']!.missed).toBe(0);
    expect(at('mine').missed).toBe(0);
    // The report says whose verifier ran, never its weights.
    const mine = report.setups.find((s) => s.name === 'mine')!;
    expect(mine.owner).toBe(alice);
    expect(mine.verifiers!['hey_jarvis']).toMatchObject({ clips: 3 });
    expect(Object.keys(mine.verifiers!['hey_jarvis']!)).not.toContain('weights');
    expect(report.setups.find((s) => s.name === 'default')!.verifiers).toBeUndefined();
    // Two scoring keys, two cache files per directory.
    for (const d of [pos, neg]) expect(readdirSync(path.join(d, '.earshot-traces')).filter((f) => f.endsWith('.json'))).toHaveLength(2);
    // The tone clip never reaches the gate: the verified setup took its unverified trace without scoring it.
    expect(r.err).toMatch(/eval: mine: negatives 2\/2 clips \([\d.]+ min of audio, 1 without a verifier call\)/);
    // Read back from the caches: the same numbers.
    const again = await runEarshot(evalArgs('--setup', 'default', '--setup', `mine:owner=${alice},voice=espeak-en-us`), env);
    expect(JSON.parse(again.out)).toEqual(report);
  }, 180_000);

  it('--owner applies to every setup that does not name one; owner=none opts out', async () => {
    const r = await runEarshot(evalArgs('--owner', alice, '--setup', 'default', '--setup', 'plain:owner=none'), env);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as EvaluationReport;
    expect(report.results.find((x) => x.setup === 'default')!.at.nearMissFires).toBe(0);
    expect(report.results.find((x) => x.setup === 'plain')!.at.nearMissFires).toBeGreaterThanOrEqual(1);
    expect(report.setups.find((s) => s.name === 'plain')!.verifiers).toBeUndefined();
    // An owner without a verifier for the word: said so, and the setup runs unverified.
    const bob = (await runEarshot(['owners', 'add', '--name', 'Bob'], env)).out.trim();
    const none = await runEarshot(evalArgs('--owner', bob, '--setup', 'default'), env);
    expect(none.code).toBe(0);
    expect(none.err).toContain(`verifiers of ${bob}: none for these words`);
    expect((JSON.parse(none.out) as EvaluationReport).results[0]!.at.nearMissFires).toBeGreaterThanOrEqual(1);
    // A malformed or unknown owner is refused by name.
    const bad = await runEarshot(evalArgs('--setup', 'x:owner=alice'), env);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("owner must be an owner id");
    const unknown = await runEarshot(evalArgs('--owner', 'own-0000000000000000'), env);
    expect(unknown.code).not.toBe(0);
    const noVoice = await runEarshot(evalArgs('--setup', 'x:voice=flite-kal'), env);
    expect(noVoice.code).not.toBe(0);
    expect(noVoice.err).toContain('setup x: no positive clips of hey_jarvis by voice flite-kal');
    // Plain text names the owner's verifiers and the voice filter.
    const text = await runEarshot(['eval', '--wakeword', 'hey_jarvis', '--positives', pos, '--negatives', neg, '--setup', 'default', '--setup', `mine:owner=${alice},voice=espeak-en-us`], env);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(new RegExp(`^setup mine: verifiers of ${alice}: hey_jarvis gate 0\\.1 \\(3 clips, cross-validated \\d+ %\\)$`, 'm'));
    expect(text.out).toContain('setup mine: only the positives of voice espeak-en-us count');
  }, 180_000);

  it('a clip kept from the unverified trace is exactly what scoring it with the verifier gives', async () => {
    // The verifier as the app opens it with Alice's key.
    const dir = env.EARSHOT_DATA_DIR!;
    const opened = await openApp({ config: { ...defaultConfig(), dataDir: dir }, deviceId: readFileSync(path.join(dir, 'device-id'), 'utf8').trim(), logger: silentLogger });
    let model;
    try {
      model = (await opened.app.verifiersFor(alice))['hey_jarvis']!;
    } finally {
      await opened.close();
    }
    const setup = withOwner(defaultSetup(), ['hey_jarvis'], { ownerId: alice, verifiers: { hey_jarvis: model }, thresholds: {}, verifierGates: {} });
    const manifest = await loadManifest();
    const models = await loadWakeModels(manifest, ['hey_jarvis']);
    const files = ['hey-jar.wav', 'beeps.wav'];
    const common = { dir: neg, words: ['hey_jarvis'], manifest, models, cache: false };
    const base = await traceClips(files, { ...common, setup: defaultSetup() });
    const scoredAll = await traceClips(files, { ...common, setup });
    let reused = 0;
    const gated = await traceClips(files, { ...common, setup, unverified: base, onProgress: (_d, _t, _ms, r) => (reused = r) });
    expect(reused).toBe(1);
    expect(gated).toEqual(scoredAll);
    // …and the verifier did change the near miss's trace.
    expect(Array.from(scoredAll[0]!.traces['hey_jarvis']!.scores)).not.toEqual(Array.from(base[0]!.traces['hey_jarvis']!.scores));
  }, 180_000);
});
