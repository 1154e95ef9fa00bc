/** The pure checks against heads kept outside the database (key-store anchor, published head). */
import { describe, expect, it } from 'vitest';
import { checkOutsideHeads, parseExpectedHead } from '../../src/audit/index.js';

const h = (n: number) => n.toString(16).padStart(64, '0');
const rows = [1, 2, 3, 4].map((seq) => ({ seq, hash: h(seq) }));

describe('checkOutsideHeads', () => {
  it('no anchor, or an anchor the log reaches and contains: no problem', () => {
    expect(checkOutsideHeads(rows, null)).toEqual([]);
    expect(checkOutsideHeads(rows, { seq: 4, head: h(4) })).toEqual([]);
    expect(checkOutsideHeads(rows, { seq: 2, head: h(2) })).toEqual([]); // the anchor lagged: the log is ahead
    expect(checkOutsideHeads([], { seq: 0, head: '0'.repeat(64) })).toEqual([]);
  });
  it('a log behind the anchor, or on another history, is rolled-back', () => {
    expect(checkOutsideHeads(rows, { seq: 9, head: h(9) }).map((p) => [p.kind, p.seq])).toEqual([['rolled-back', 4]]);
    expect(checkOutsideHeads(rows, { seq: 3, head: h(33) }).map((p) => [p.kind, p.seq])).toEqual([['rolled-back', 3]]);
    expect(checkOutsideHeads([], { seq: 1, head: h(1) }).map((p) => p.kind)).toEqual(['rolled-back']);
  });
  it('a published head must be in the log (at its seq when given)', () => {
    expect(checkOutsideHeads(rows, null, { head: h(3), seq: 3 })).toEqual([]);
    expect(checkOutsideHeads(rows, null, { head: h(3) })).toEqual([]);
    expect(checkOutsideHeads(rows, null, { head: h(3), seq: 2 }).map((p) => p.kind)).toEqual(['behind-published-head']);
    expect(checkOutsideHeads(rows, null, { head: h(7) }).map((p) => p.kind)).toEqual(['behind-published-head']);
    expect(checkOutsideHeads(rows, null, { head: h(7), seq: 7 })[0]!.message).toContain('beyond the end');
  });
});

describe('parseExpectedHead', () => {
  it('HASH or HASH:SEQ; anything else undefined', () => {
    expect(parseExpectedHead(h(5))).toEqual({ head: h(5) });
    expect(parseExpectedHead(`${h(5).toUpperCase()}:12`)).toEqual({ head: h(5), seq: 12 });
    for (const bad of ['', 'zz', `${h(5)}:`, `${h(5)}:x`, `${h(5)}:-1`, h(5).slice(2), `${h(5)}0`]) expect(parseExpectedHead(bad)).toBeUndefined();
  });
});
