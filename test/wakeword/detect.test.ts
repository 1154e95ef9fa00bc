/**
 * Detection on the espeak-ng fixtures (scripts/make-fixtures.sh): wake phrases by several voices are found,
 * near misses and minutes of ordinary speech are not, the scenario's timeline holds, warm-up never fires,
 * and the quiet gate changes cost but never detections.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WakeDetection } from '../../src/wakeword/detector-state.js';
import { DEFAULT_CONFIG } from '../../src/config/defaults.js';
import { DEFAULT_PHASES, WakeDetector } from '../../src/wakeword/wake-detector.js';
import { FIXTURES, MANIFEST, negativeSpeechFile, readPcm, rng, wakeFixtures } from './helpers.js';

const WORDS = ['hey_jarvis', 'alexa', 'hey_mycroft'];

async function detect(pcm: Int16Array, opts: { phases?: number; quietRms?: number | null; threshold?: number; words?: string[] } = {}) {
  const d = await WakeDetector.create({ words: opts.words ?? WORDS, manifest: MANIFEST, ...opts });
  const found = await d.push(pcm);
  return { found, embeddingCalls: d.scorer.embeddingCalls, frames: d.scorer.chunks };
}

interface Segment {
  kind: string;
  startMs: number;
  endMs: number;
  label?: string;
  marker?: { startMs: number; endMs: number };
}

describe('wake-word detection on fixtures', () => {
  it('the device config default uses the detector default phases (chosen in MEASUREMENTS.md §1/§4)', () => {
    expect(DEFAULT_CONFIG.wake.phases).toBe(DEFAULT_PHASES);
    expect(DEFAULT_PHASES).toBe(4);
  });

  let negative: Int16Array;
  beforeAll(async () => {
    negative = await readPcm(negativeSpeechFile());
  }, 300_000);

  it('finds the wake phrase of every fixture voice, once, with the right word (≥ 3 hey_jarvis voices)', async () => {
    const fixtures = wakeFixtures();
    const jarvisVoices = fixtures.filter((f) => f.word === 'hey_jarvis').map((f) => f.voice);
    expect(jarvisVoices.length).toBeGreaterThanOrEqual(3);
    for (const f of fixtures) {
      const { found } = await detect(await readPcm(f.file));
      expect(found.map((d) => d.wakeword), `${path.basename(f.file)}`).toEqual([f.word]);
      // Lead-in is 2.4 s; the phrase ends within about a second after it.
      expect(found[0]!.atMs).toBeGreaterThan(2400);
      expect(found[0]!.atMs).toBeLessThan(4200);
      expect(found[0]!.score).toBeGreaterThanOrEqual(0.5);
    }
  });

  it('ignores near misses ("hey travis", "hey service")', async () => {
    for (const name of ['hey_travis', 'hey_service']) {
      const { found } = await detect(await readPcm(path.join(FIXTURES, 'nearmiss', `${name}.wav`)));
      expect(found, name).toEqual([]);
    }
  });

  it('detects nothing in several minutes of ordinary speech by three voices', async () => {
    expect(negative.length / 16000).toBeGreaterThan(180);
    const { found } = await detect(negative);
    expect(found).toEqual([]);
  }, 600_000);

  it('scenario: one detection per wake segment (before its command ends), none on the near miss or the talk', async () => {
    const timeline = JSON.parse(readFileSync(path.join(FIXTURES, 'scenario.json'), 'utf8')) as {
      segments: Segment[];
      expectedWakes: { wakeword: string; afterMs: number; beforeMs: number }[];
    };
    const expected = timeline.expectedWakes;
    expect(expected.length).toBe(2);
    const { found } = await detect(await readPcm(path.join(FIXTURES, 'scenario.wav')));
    expect(found.map((d) => d.wakeword)).toEqual(expected.map((e) => e.wakeword));
    found.forEach((d, i) => {
      expect(d.atMs).toBeGreaterThan(expected[i]!.afterMs);
      expect(d.atMs).toBeLessThan(expected[i]!.beforeMs);
    });
    const marker = timeline.segments.find((s) => s.marker)!.marker!;
    expect(marker.endMs).toBeLessThan(found[0]!.atMs);
  });

  it('with the VAD gate on, a spoken wake word still fires (the VAD heard speech within the last second)', async () => {
    const pcm = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-f3.wav'));
    const d = await WakeDetector.create({ words: ['hey_jarvis'], manifest: MANIFEST, vadGate: true });
    let found: WakeDetection[] = [];
    // Odd chunk sizes: the VAD's 640-sample steps and the detector's frames must stay aligned.
    for (let i = 0; i < pcm.length; i += 999) found = found.concat(await d.push(pcm.subarray(i, i + 999)));
    expect(found.map((x) => x.wakeword)).toEqual(['hey_jarvis']);
  });

  it('never fires before its windows hold real audio: noise, and even a wake word at the very start', async () => {
    const r = rng(3);
    for (const amp of [30, 300, 3000, 10000]) {
      const noise = Int16Array.from({ length: 16000 * 3 }, () => Math.round((r() * 2 - 1) * amp));
      // A low threshold makes the check meaningful: the reference's warm-up frames score up to ~0.3 on noise.
      const { found } = await detect(noise, { threshold: 0.2, quietRms: null });
      expect(found, `noise amplitude ${amp}`).toEqual([]);
    }
    const clip = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-us.wav'));
    const atStart = clip.subarray(Math.round(16000 * 2.3)); // the phrase starts 100 ms into the stream
    const { found } = await detect(atStart, { words: ['hey_jarvis'], quietRms: null });
    expect(found).toEqual([]);
  });

  it('quiet gate: identical detections to the ungated loop on every fixture, far fewer embeddings in silence', async () => {
    const files = [...wakeFixtures().map((f) => f.file), path.join(FIXTURES, 'scenario.wav'), path.join(FIXTURES, 'nearmiss', 'hey_travis.wav')];
    const strip = (d: WakeDetection[]) => d.map((x) => ({ ...x }));
    for (const file of files) {
      const pcm = await readPcm(file);
      const gated = await detect(pcm);
      const plain = await detect(pcm, { quietRms: null });
      expect(strip(gated.found), path.basename(file)).toEqual(strip(plain.found));
    }
    // A quiet home: 20 s of near silence, then a wake phrase, then silence again.
    const wake = await readPcm(path.join(FIXTURES, 'wake', 'hey_jarvis__en-gb.wav'));
    const quiet = new Int16Array(16000 * 20 + wake.length + 16000 * 10);
    const r = rng(11);
    for (let i = 0; i < quiet.length; i++) quiet[i] = Math.round((r() * 2 - 1) * 20);
    quiet.set(wake, 16000 * 20);
    const gated = await detect(quiet);
    const plain = await detect(quiet, { quietRms: null });
    expect(gated.found.map((d) => d.atMs)).toEqual(plain.found.map((d) => d.atMs));
    expect(gated.found.length).toBe(1);
    expect(gated.embeddingCalls).toBeLessThan(plain.embeddingCalls * 0.5);
  }, 300_000);
});
