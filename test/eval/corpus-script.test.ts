import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNegatives, readPositives } from '../../src/eval/index.js';

const SAMPLE = path.resolve('test/fixtures/eval-sample');
const FILES = [
  'positives/index.json',
  'positives/hey_jarvis/hey_jarvis__espeak-en-us__s1p00__clean.wav',
  'positives/alexa/alexa__espeak-en-gb-scotland__s0p85__pink20.wav',
  'negatives/index.json',
  'negatives/nearmiss/hey-jar__espeak-en-us__clean.wav',
  'negatives/nearmiss/a-lexus__flite-rms__pink20.wav',
  'negatives/tones/beeps-1k.wav',
];

describe('scripts/make-eval-corpus.mjs', () => {
  it('is deterministic: --sample rebuilds the committed sample byte for byte', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'earshot-corpus-'));
    execFileSync(process.execPath, ['scripts/make-eval-corpus.mjs', out, '--sample'], { stdio: 'pipe' });
    for (const f of FILES) expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(SAMPLE, f))), f).toBe(true);
  }, 60_000);

  it('labels every clip: phrase inside the clip after its lead-in, held-out voices as agreed', async () => {
    const index = JSON.parse(readFileSync(path.join(SAMPLE, 'positives', 'index.json'), 'utf8')) as {
      heldOutVoices: string[];
      voices: { id: string; heldOut: boolean }[];
      clips: { durationMs: number; phraseStartMs: number; phraseEndMs: number }[];
    };
    expect(index.voices).toHaveLength(13);
    expect(index.heldOutVoices).toEqual(['espeak-en-gb-scotland', 'espeak-en-029', 'flite-rms', 'festival-ked-diphone']);
    for (const c of index.clips) {
      expect(c.phraseStartMs).toBeGreaterThanOrEqual(3000);
      expect(c.phraseStartMs).toBeLessThan(3080);
      expect(c.phraseEndMs).toBeGreaterThan(c.phraseStartMs + 200);
      expect(c.durationMs).toBeGreaterThanOrEqual(c.phraseEndMs + 1200 - 1);
    }
    const positives = await readPositives(path.join(SAMPLE, 'positives'), ['hey_jarvis', 'alexa'], 'held-out');
    expect(positives.map((p) => p.voiceId)).toEqual(['espeak-en-gb-scotland']);
    const negatives = await readNegatives(path.join(SAMPLE, 'negatives'));
    expect(negatives.map((n) => [n.kind, n.near ?? null])).toEqual([
      ['nearmiss', 'alexa'],
      ['nearmiss', 'hey_jarvis'],
      ['general', null],
    ]);
  });
});
