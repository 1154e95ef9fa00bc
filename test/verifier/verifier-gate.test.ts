import { describe, expect, it } from 'vitest';
import { DEFAULT_VERIFIER_GATE, enrolmentGate, LOW_VERIFIER_GATE } from '../../src/verifier/index.js';

describe('enrolmentGate', () => {
  it('the default gate when the base model hears every pink-noise copy of the enrolment clips, or when there are none', () => {
    expect(enrolmentGate([0.99, 0.4, 0.1])).toBe(DEFAULT_VERIFIER_GATE);
    expect(enrolmentGate([])).toBe(DEFAULT_VERIFIER_GATE);
  });

  it('the low gate when some copy peaks below the default gate (the verifier would never be asked about this voice in that noise)', () => {
    expect(LOW_VERIFIER_GATE).toBe(0.01);
    expect(enrolmentGate([1, 1, 0.099, 0.9])).toBe(LOW_VERIFIER_GATE);
    expect(enrolmentGate([0])).toBe(LOW_VERIFIER_GATE);
    // A peak that is not a number is not a heard copy.
    expect(enrolmentGate([0.5, Number.NaN])).toBe(LOW_VERIFIER_GATE);
  });
});
