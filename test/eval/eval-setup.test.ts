import { describe, expect, it } from 'vitest';
import { consultsVerifier, defaultSetup, parseSetup, referenceSetup, scoringKey, thresholdOf, unverified, withOwner, type OwnerWakeView } from '../../src/eval/index.js';
import type { VerifierModel } from '../../src/verifier/index.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import { DEFAULT_QUIET_RMS, DEFAULT_SECOND_LOOK_HOLD_CHUNKS, NOISE_FLOOR_DEFAULTS, SECOND_LOOK } from '../../src/wakeword/index.js';

describe('eval setups', () => {
  it('reference is the faithful openWakeWord pipeline; default is the device defaults', () => {
    expect(referenceSetup()).toMatchObject({ phases: 1, quietRms: null, threshold: 0.5, patienceFrames: 1 });
    expect(defaultSetup()).toMatchObject({ phases: DEFAULT_CONFIG.wake.phases, quietRms: DEFAULT_QUIET_RMS, threshold: DEFAULT_CONFIG.wake.threshold });
    expect(parseSetup('reference')).toEqual(referenceSetup());
  });

  it('variants start from default (or reference) and change only what they name', () => {
    const s = parseSetup('p2:phases=2,quiet=off,threshold=0.4,threshold.alexa=0.3,patience=2,refractory=1500');
    expect(s).toMatchObject({ name: 'p2', phases: 2, quietRms: null, threshold: 0.4, patienceFrames: 2, refractoryMs: 1500 });
    expect(thresholdOf(s, 'alexa')).toBe(0.3);
    expect(thresholdOf(s, 'hey_jarvis')).toBe(0.4);
    expect(parseSetup('r4:base=reference,phases=4')).toMatchObject({ phases: 4, quietRms: null });
  });

  it('refuses what it does not understand, naming the setup and the key', () => {
    expect(() => parseSetup('fancy')).toThrow(/unknown setup/);
    expect(() => parseSetup('x:phases=9')).toThrow(/phases must be/);
    expect(() => parseSetup('x:threshold=0')).toThrow(/threshold/);
    expect(() => parseSetup('x:vad=on')).toThrow(/unknown key 'vad'/);
    expect(() => parseSetup('x:phases')).toThrow(/not key=value/);
    expect(() => parseSetup('bad name:phases=1')).toThrow(/name/);
    expect(() => parseSetup('x:base=other')).toThrow(/base/);
  });

  it('look=GATE turns the second look on (4 phases only), lookhold sets its hold, look=off turns it off; both are in the scoring key', () => {
    const on = parseSetup('l1:look=0.1');
    expect(on.secondLook).toEqual({ gate: 0.1, holdChunks: DEFAULT_SECOND_LOOK_HOLD_CHUNKS });
    expect(parseSetup('l2:look=0.2,lookhold=5').secondLook).toEqual({ gate: 0.2, holdChunks: 5 });
    expect(parseSetup('r4:base=reference,phases=4,look=0').secondLook).toEqual({ gate: 0, holdChunks: DEFAULT_SECOND_LOOK_HOLD_CHUNKS });
    expect(parseSetup('lon:look=on').secondLook).toEqual(SECOND_LOOK);
    expect(defaultSetup().secondLook).toBeUndefined();
    const off = parseSetup('l0:look=on,look=off');
    expect(off.secondLook).toBeUndefined();
    expect(scoringKey(off)).toEqual(scoringKey(defaultSetup()));
    expect(scoringKey(on)).toEqual({ ...scoringKey(defaultSetup()), secondLook: { gate: 0.1, holdChunks: DEFAULT_SECOND_LOOK_HOLD_CHUNKS } });
    expect(JSON.stringify(scoringKey(parseSetup('a:look=0.1,lookhold=5')))).not.toBe(JSON.stringify(scoringKey(on)));
    // Other phase counts have no second look: asked for, it is refused; a base's look does not carry over.
    expect(() => parseSetup('x:phases=8,look=0.1')).toThrow(/look needs phases=4/);
    expect(parseSetup('p8:look=0.1,phases=8,look=off').secondLook).toBeUndefined();
    expect(parseSetup('p8:phases=8').secondLook).toBeUndefined();
    expect(() => parseSetup('x:look=1.5')).toThrow(/look must be/);
    expect(() => parseSetup('x:look=off,lookhold=3')).toThrow(/lookhold needs the second look/);
    expect(() => parseSetup('x:look=0.1,lookhold=0')).toThrow(/lookhold must be/);
  });

  it('ns=DB turns speex noise suppression on, nsFloor says when it engages; scoring keys without it are unchanged', () => {
    expect(parseSetup('n:ns=20')).toMatchObject({ noiseSuppressionDb: 20 });
    expect(parseSetup('n:ns=20').noiseFloorRms).toBeUndefined();
    expect(parseSetup('n:ns=20,nsFloor=always').noiseFloorRms).toBe(0);
    expect(parseSetup('n:ns=20,nsFloor=-40').noiseFloorRms).toBeCloseTo(327.68, 2);
    expect(parseSetup('n:ns=off').noiseSuppressionDb).toBe(0);
    expect(referenceSetup().noiseSuppressionDb).toBe(0);
    expect(() => parseSetup('x:ns=0')).toThrow(/ns must be/);
    expect(() => parseSetup('x:ns=61')).toThrow(/ns must be/);
    expect(() => parseSetup('x:nsFloor=5')).toThrow(/nsFloor must be/);
    // Off: the key is the one traces were cached under before noise suppression existed.
    expect(scoringKey(parseSetup('o:ns=off'))).toEqual({ phases: DEFAULT_CONFIG.wake.phases, quietRms: DEFAULT_QUIET_RMS });
    expect(scoringKey(parseSetup('a:ns=20'))).not.toEqual(scoringKey(parseSetup('b:ns=20,nsFloor=always')));
    expect(scoringKey(parseSetup('a:ns=20'))).not.toEqual(scoringKey(parseSetup('b:ns=15')));
  });

  it('owner=ID names an owner, owner=none opts out; a malformed id is refused', () => {
    expect(parseSetup('mine:owner=own-0123456789abcdef').owner).toBe('own-0123456789abcdef');
    expect(parseSetup('plain:owner=none').owner).toBeNull();
    expect(parseSetup('default').owner).toBeUndefined();
    expect(() => parseSetup('x:owner=alice')).toThrow(/owner must be an owner id/);
    expect(() => parseSetup('x:owner=')).toThrow(/owner must be an owner id/);
    expect(parseSetup('mine:voice=flite-rms').voice).toBe('flite-rms');
    expect(() => parseSetup('x:voice=../x')).toThrow(/voice must be/);
  });
});

function verifier(word: string, gate: number, bias = 0): VerifierModel {
  const d = 4;
  return {
    wakeword: word, featureDim: d, mean: new Float32Array(d), scale: new Float32Array(d).fill(1), weights: new Float32Array(d).fill(0.5), bias,
    gate, threshold: 0.5, trainedAt: 1, clips: 3, positives: 9, negatives: 20, cvRecall: 1, l2: 0.005,
  };
}

describe('setups with an owner', () => {
  const owner = (o: Partial<OwnerWakeView> = {}): OwnerWakeView => ({ ownerId: 'own-0123456789abcdef', verifiers: { hey_jarvis: verifier('hey_jarvis', 0.1) }, thresholds: {}, verifierGates: {}, ...o });

  it("carries the owner's verifiers for the words evaluated, at the owner's gate, never above the word's threshold", () => {
    const s = withOwner(defaultSetup(), ['hey_jarvis', 'alexa'], owner());
    expect(Object.keys(s.verifiers!)).toEqual(['hey_jarvis']);
    expect(s.verifiers!['hey_jarvis']!.gate).toBe(0.1);
    expect(withOwner(defaultSetup(), ['hey_jarvis'], owner({ verifierGates: { hey_jarvis: 0.2 } })).verifiers!['hey_jarvis']!.gate).toBe(0.2);
    // A gate above the threshold in effect is clamped to it, as the daemon does.
    expect(withOwner(parseSetup('lo:threshold=0.05'), ['hey_jarvis'], owner()).verifiers!['hey_jarvis']!.gate).toBe(0.05);
    // A word not evaluated, or not enrolled: no verifier.
    expect(withOwner(defaultSetup(), ['alexa'], owner()).verifiers).toBeUndefined();
  });

  it("applies the owner's own thresholds (never below the fleet floor) unless the setup sets them", () => {
    const mine = owner({ thresholds: { hey_jarvis: 0.3, alexa: 0.2 }, fleetFloor: (w) => (w === 'alexa' ? 0.4 : 0) });
    const s = withOwner(defaultSetup(), ['hey_jarvis', 'alexa'], mine);
    expect(thresholdOf(s, 'hey_jarvis')).toBe(0.3);
    expect(thresholdOf(s, 'alexa')).toBe(0.4);
    expect(thresholdOf(withOwner(parseSetup('x:threshold.hey_jarvis=0.6'), ['hey_jarvis', 'alexa'], mine), 'hey_jarvis')).toBe(0.6);
    expect(thresholdOf(withOwner(parseSetup('x:threshold=0.7'), ['hey_jarvis', 'alexa'], mine), 'alexa')).toBe(0.7);
  });

  it('the scoring key of a setup without verifiers is what it always was; each verifier (and gate) gives its own', () => {
    const plain = { ...defaultSetup(), noiseSuppressionDb: 0 };
    expect(scoringKey(plain)).toEqual({ phases: defaultSetup().phases, quietRms: defaultSetup().quietRms });
    // The default's noise suppression is part of its key (its traces differ from those cached before it existed).
    expect(scoringKey(defaultSetup())).toEqual({ ...scoringKey(plain), noiseSuppressionDb: DEFAULT_CONFIG.wake.noiseSuppressionDb, noiseFloorRms: NOISE_FLOOR_DEFAULTS.engageRms });
    const a = scoringKey(withOwner(defaultSetup(), ['hey_jarvis'], owner()));
    const b = scoringKey(withOwner(defaultSetup(), ['hey_jarvis'], owner({ verifierGates: { hey_jarvis: 0.2 } })));
    const c = scoringKey(withOwner(defaultSetup(), ['hey_jarvis'], owner({ verifiers: { hey_jarvis: verifier('hey_jarvis', 0.1, 1) } })));
    expect(a.verifiers!['hey_jarvis']).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set([JSON.stringify(a), JSON.stringify(b), JSON.stringify(c)]).size).toBe(3);
    expect(scoringKey(unverified(withOwner(defaultSetup(), ['hey_jarvis'], owner())))).toEqual(scoringKey(defaultSetup()));
  });

  it('a verifier is consulted only on a warm frame at or above its gate', () => {
    const trace = (scores: number[], warm?: boolean[]) => ({ durationMs: scores.length * 80, traces: { hey_jarvis: { endMs: scores.map((_, i) => (i + 1) * 80), scores, ...(warm ? { eligible: warm } : {}) } } });
    const v = { hey_jarvis: verifier('hey_jarvis', 0.1) };
    expect(consultsVerifier(trace([0, 0.05, 0.099]), v)).toBe(false);
    expect(consultsVerifier(trace([0, 0.1, 0]), v)).toBe(true);
    expect(consultsVerifier(trace([0.9, 0], [false, true]), v)).toBe(false);
    expect(consultsVerifier(trace([0.9]), {})).toBe(false);
    // A word the trace does not have cannot be judged: score the clip.
    expect(consultsVerifier(trace([0]), { alexa: verifier('alexa', 0.1) })).toBe(true);
  });
});
