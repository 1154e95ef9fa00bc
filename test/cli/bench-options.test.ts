/**
 * `earshot bench --minutes`: the wake bench needs an untimed warm-up turn and timed 10-s turns, so a speech file
 * shorter than half a minute is refused up front (BAD_ARGUMENT naming the option), as is one over an hour —
 * never a child-process failure after minutes of work.
 */
import { describe, expect, it } from 'vitest';
import { runEarshot } from '../helpers/cli.js';

describe('earshot bench --minutes', () => {
  it.each([
    ['0.3', /--minutes must be at least 0\.5: every loop takes an untimed 10-s warm-up turn/],
    ['0', /--minutes must be between 0\.5 and 60 \(got '0'\)/],
    ['99', /--minutes must be between 0\.5 and 60 \(got '99'\)/],
    ['ten', /--minutes must be between 0\.5 and 60 \(got 'ten'\)/],
  ])('refuses --minutes %s with BAD_ARGUMENT (exit 2)', async (value, message) => {
    const r = await runEarshot(['bench', '--only', 'wake', '--minutes', value], {});
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/BAD_ARGUMENT/);
    expect(r.err).toMatch(message);
  });
});
