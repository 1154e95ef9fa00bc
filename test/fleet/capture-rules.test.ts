/** The pure capture rules (no signatures, no receiver): each field's strict direction, and the clamp. */
import { describe, expect, it } from 'vitest';
import { captureBaselineOf, clampCapture, findCaptureLoosening } from '../../src/fleet/index.js';
import { defaultConfig } from '../../src/config/index.js';

const base = captureBaselineOf({
  wake: { words: [{ name: 'hey_jarvis' }, { name: 'alexa', threshold: 0.7 }], threshold: 0.5, patienceFrames: 2, refractoryMs: 2000, phases: 2, vadGate: true },
  capture: { endSilenceMs: 700, maxMs: 10_000, noSpeechTimeoutMs: 3000, vadThreshold: 0.5 },
});

describe('findCaptureLoosening', () => {
  it('equal values and the strict direction pass; log level and privacy are not its business', () => {
    expect(findCaptureLoosening({ wake: { ...base.wake }, capture: { ...base.capture } }, base)).toBeUndefined();
    expect(findCaptureLoosening({ wake: { threshold: 0.9, patienceFrames: 5, refractoryMs: 9000, phases: 1 }, capture: { maxMs: 5000, noSpeechTimeoutMs: 1000, endSilenceMs: 300, vadThreshold: 0.9 } }, base)).toBeUndefined();
    expect(findCaptureLoosening({ log: { level: 'debug' }, privacy: { maxRetentionDays: 999 } }, base)).toBeUndefined();
  });
  it('names the field and says why', () => {
    expect(findCaptureLoosening({ wake: { threshold: 0.0001 } }, base)).toMatch(/^wake\.threshold: 0\.0001 is below this device's 0\.5/);
    expect(findCaptureLoosening({ capture: { maxMs: 60_000 } }, base)).toMatch(/^capture\.maxMs: 60000 is above this device's 10000/);
    expect(findCaptureLoosening({ wake: { words: [{ name: 'weather' }] } }, base)).toMatch(/^wake\.words\[0\]\.name: "weather" is not one of this device's wake words/);
  });
  it('malformed values are left to the schema check', () => {
    expect(findCaptureLoosening({ wake: { threshold: 'low', words: 'all' }, capture: null }, base)).toBeUndefined();
  });
});

describe('clampCapture', () => {
  it('takes the stricter side of every setting, keeps only the device\'s words, at the higher threshold', () => {
    const loose = captureBaselineOf(defaultConfig());
    loose.wake = { words: [{ name: 'alexa', threshold: 0.2 }, { name: 'weather' }], threshold: 0.1, patienceFrames: 1, refractoryMs: 0, phases: 8, vadGate: false };
    loose.capture = { endSilenceMs: 5000, maxMs: 60_000, noSpeechTimeoutMs: 30_000, vadThreshold: 0.1 };
    const c = clampCapture(base, loose);
    expect(c.wake).toEqual({ words: [{ name: 'alexa', threshold: 0.7 }], threshold: 0.5, patienceFrames: 2, refractoryMs: 2000, phases: 2, vadGate: true });
    expect(c.capture).toEqual(base.capture);
  });
  it('when no word of the device is left, the device\'s own words stay', () => {
    const other = captureBaselineOf({ wake: { ...base.wake, words: [{ name: 'weather' }] }, capture: base.capture });
    expect(clampCapture(base, other).wake.words).toEqual(base.wake.words);
  });
  it('stricter settings pass through unchanged', () => {
    const strict = captureBaselineOf({ wake: { ...base.wake, threshold: 0.8, words: [{ name: 'hey_jarvis' }] }, capture: { ...base.capture, maxMs: 4000 } });
    expect(clampCapture(base, strict)).toEqual(strict);
  });
});
