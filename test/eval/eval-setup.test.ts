import { describe, expect, it } from 'vitest';
import { defaultSetup, parseSetup, referenceSetup, thresholdOf } from '../../src/eval/index.js';
import { DEFAULT_CONFIG } from '../../src/config/index.js';
import { DEFAULT_QUIET_RMS } from '../../src/wakeword/index.js';

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
});
