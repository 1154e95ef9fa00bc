import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runEarshot } from '../helpers/cli.js';
import type { EvaluationReport } from '../../src/eval/index.js';

const SAMPLE = path.resolve('test/fixtures/eval-sample');

describe('earshot eval on the committed corpus sample', () => {
  let dir: string;
  let first: EvaluationReport;
  const args = () => ['eval', '--wakeword', 'hey_jarvis', '--wakeword', 'alexa', '--positives', path.join(dir, 'positives'), '--negatives', path.join(dir, 'negatives')];

  beforeAll(async () => {
    // A copy: the trace cache is written next to the clips.
    dir = mkdtempSync(path.join(os.tmpdir(), 'earshot-eval-'));
    cpSync(SAMPLE, dir, { recursive: true });
    const r = await runEarshot([...args(), '--json', '--plot', path.join(dir, 'det.svg'), '--target-fa-per-hour', '1']);
    expect(r.err).not.toMatch(/earshot: [A-Z_]+:/);
    expect(r.code).toBe(0);
    first = JSON.parse(r.out) as EvaluationReport;
  }, 120_000);

  it('reports every word under the reference and default setups, judged in the phrase window', () => {
    expect(first.results.map((r) => `${r.setup}/${r.word}`)).toEqual(['reference/hey_jarvis', 'reference/alexa', 'default/hey_jarvis', 'default/alexa']);
    expect(first.positives).toEqual({ hey_jarvis: 1, alexa: 1 });
    for (const r of first.results.filter((x) => x.word === 'hey_jarvis')) {
      // espeak-ng en-us says "hey jarvis" cleanly: a hit, shortly after the phrase.
      expect(r.at.missed).toBe(0);
      expect(r.at.latencyMs!.median).toBeGreaterThan(-800);
      expect(r.at.latencyMs!.median).toBeLessThan(1000);
      expect(r.sweep).toHaveLength(99);
      expect(r.recommendation).toBeDefined();
    }
    expect(first.nearMissMinutes).toBeGreaterThan(0.1);
    expect(first.generalHours * 3600).toBeCloseTo(4, 0); // the 4 s tone clip
  });

  it('writes the DET plot and keeps the traces: a second run reads them and gives the same numbers', async () => {
    const svg = readFileSync(path.join(dir, 'det.svg'), 'utf8');
    expect(svg.match(/<polyline /g)).toHaveLength(8); // 2 setups × 2 words × (general audio, near misses)
    const cacheDir = path.join(dir, 'positives', '.earshot-traces');
    expect(readdirSync(cacheDir)).toHaveLength(2); // one per scoring key (reference, default)
    const again = await runEarshot([...args(), '--json', '--target-fa-per-hour', '1']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toEqual(first);
    // A garbled cache is scored again, never trusted.
    for (const f of readdirSync(cacheDir)) writeFileSync(path.join(cacheDir, f), '{"version":1,"key":');
    const rescored = await runEarshot([...args(), '--json', '--target-fa-per-hour', '1']);
    expect(JSON.parse(rescored.out)).toEqual(first);
  }, 120_000);

  it('held-out split keeps only the held-out voices; plain text has the table and the sweep', async () => {
    const r = await runEarshot(['eval', '--wakeword', 'alexa', '--positives', path.join(dir, 'positives'), '--negatives', path.join(dir, 'negatives'), '--voices', 'held-out', '--setup', 'default', '--setup', 'lo:threshold=0.2']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('voices: held-out');
    expect(r.out).toMatch(/^alexa: 1 positive clips$/m);
    expect(r.out).toMatch(/^ {2}lo +0\.20 /m);
    expect(r.out).toContain('sweep (FRR / FA/h / near-miss fires)');
    expect(r.err).toMatch(/eval: default: positives \d+\/\d+ clips/);
    // hey_jarvis has no held-out positive in the sample.
    const none = await runEarshot(['eval', '--wakeword', 'hey_jarvis', '--positives', path.join(dir, 'positives'), '--negatives', path.join(dir, 'negatives'), '--voices', 'held-out']);
    expect(none.code).not.toBe(0);
    expect(none.err).toContain('no positive clips of hey_jarvis');
  }, 120_000);

  it('errors name the option, the file or the field', async () => {
    const missing = await runEarshot(['eval', '--wakeword', 'hey_jarvis', '--negatives', dir]);
    expect(missing.err).toContain('--positives is required');
    const badIndex = mkdtempSync(path.join(os.tmpdir(), 'earshot-eval-bad-'));
    writeFileSync(path.join(badIndex, 'index.json'), JSON.stringify({ clips: [{ file: '../../etc/passwd', word: 'hey_jarvis' }] }));
    const outside = await runEarshot(['eval', '--wakeword', 'hey_jarvis', '--positives', badIndex, '--negatives', path.join(dir, 'negatives')]);
    expect(outside.code).not.toBe(0);
    expect(outside.err).toContain(path.join(badIndex, 'index.json'));
    expect(outside.err).toContain('clips[0].file points outside');
    writeFileSync(path.join(badIndex, 'index.json'), '{"clips": [');
    const garbled = await runEarshot(['eval', '--wakeword', 'hey_jarvis', '--positives', badIndex, '--negatives', path.join(dir, 'negatives')]);
    expect(garbled.err).toContain('is not valid JSON');
    writeFileSync(path.join(badIndex, 'index.json'), JSON.stringify({ clips: [{ file: 'gone.wav', word: 'hey_jarvis' }] }));
    const gone = await runEarshot(['eval', '--wakeword', 'hey_jarvis', '--positives', badIndex, '--negatives', path.join(dir, 'negatives')]);
    expect(gone.err).toContain(path.join(badIndex, 'gone.wav'));
    const split = await runEarshot([...args(), '--voices', 'some']);
    expect(split.err).toContain('--voices must be one of');
    const setup = await runEarshot([...args(), '--setup', 'x:phases=0']);
    expect(setup.err).toContain("--setup 'x:phases=0'");
    expect(existsSync(path.join(dir, 'negatives', 'index.json'))).toBe(true);
  }, 120_000);

  it('--help documents the options', async () => {
    const r = await runEarshot(['eval', '--help']);
    expect(r.code).toBe(0);
    for (const o of ['--positives', '--negatives', '--setup', '--voices', '--plot', '--json']) expect(r.out).toContain(o);
  });
});
