import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalEntry, canonicalJson, chainHash, verifyChain, type AuditRow } from '../../src/audit/chain.js';

function build(n: number): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const base = { seq, at: 1000 + seq, type: 'recording.created', ownerId: 'own-a', recordingId: `r${seq}`, detail: canonicalJson({ n: seq }), personal: null, keyVersion: null };
    const hash = chainHash(prev, canonicalEntry(base));
    rows.push({ ...base, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

const anchorOf = (rows: AuditRow[]) => ({ seq: rows.length, head: rows[rows.length - 1]!.hash });

describe('audit hash chain (pure)', () => {
  it('canonical JSON sorts keys and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, 'x'] } })).toBe('{"a":{"c":[2,"x"]},"b":1}');
  });

  it('an intact chain verifies against its anchor', () => {
    const rows = build(6);
    expect(verifyChain(rows, anchorOf(rows))).toMatchObject({ ok: true, entries: 6, lastSeq: 6, problems: [] });
  });

  it('an edited entry is reported as edited at its seq', () => {
    const rows = build(6);
    const anchor = anchorOf(rows);
    rows[2] = { ...rows[2]!, detail: '{"n":99}' };
    expect(verifyChain(rows, anchor).problems.map((p) => [p.kind, p.seq])).toEqual([['edited', 3]]);
  });

  it('an edited and re-hashed entry breaks the link to the next one', () => {
    const rows = build(6);
    const anchor = anchorOf(rows);
    const e = { ...rows[2]!, detail: '{"n":99}' };
    e.hash = chainHash(e.prevHash, canonicalEntry(e));
    rows[2] = e;
    expect(verifyChain(rows, anchor).problems.map((p) => [p.kind, p.seq])).toEqual([['relinked', 4]]);
  });

  it('a deleted entry in the middle is reported as missing', () => {
    const rows = build(6);
    const anchor = anchorOf(rows);
    rows.splice(3, 1);
    expect(verifyChain(rows, anchor).problems.map((p) => [p.kind, p.seq])).toEqual([['missing', 4]]);
  });

  it('two entries exchanged between positions are reported as reordered', () => {
    const rows = build(5);
    const anchor = anchorOf(rows);
    // Entry 3 now sits at position 2 and vice versa (seq renumbered, hashes kept).
    const reordered = [rows[0]!, { ...rows[2]!, seq: 2 }, { ...rows[1]!, seq: 3 }, rows[3]!, rows[4]!];
    const kinds = verifyChain(reordered, anchor).problems.map((p) => p.kind);
    expect(kinds).toContain('reordered');
    expect(verifyChain(reordered, anchor).ok).toBe(false);
  });

  it('truncation and forged tail entries are caught by the anchor', () => {
    const rows = build(6);
    const anchor = anchorOf(rows);
    expect(verifyChain(rows.slice(0, 4), anchor).problems.map((p) => p.kind)).toEqual(['truncated']);
    const extra = build(7);
    expect(verifyChain(extra, anchor).problems.map((p) => p.kind)).toEqual(['unanchored']);
    // A fully rewritten chain of the same length has a different head.
    const rewritten = build(6).map((r) => ({ ...r }));
    let prev = GENESIS_HASH;
    for (const r of rewritten) {
      r.at += 1;
      r.prevHash = prev;
      r.hash = chainHash(prev, canonicalEntry(r));
      prev = r.hash;
    }
    expect(verifyChain(rewritten, anchor).problems.map((p) => p.kind)).toEqual(['head-mismatch']);
  });
});
