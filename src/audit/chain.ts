/**
 * The audit hash chain, as pure functions (no I/O): canonical encoding, hashing and verification.
 *
 * entry.hash = SHA-256(bytes(prevHash) ‖ UTF-8(canonical entry)). The canonical entry is JSON with sorted
 * keys over every stored column except the hashes, with the sealed personal part as base64: the chain covers
 * the ciphertext, so shredding an owner's key makes the personal part unreadable while the chain verifies.
 * The hash needs no key, so an attacker could rewrite the whole table consistently; that is why the latest
 * (seq, head) is also kept sealed under the device key (the anchor) and can be published off-device.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/index.js';
export { canonicalJson };

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditRow {
  seq: number;
  at: number;
  type: string;
  ownerId: string | null;
  recordingId: string | null;
  /** Canonical JSON of the clear, non-personal detail, or null. */
  detail: string | null;
  personal: Buffer | null;
  keyVersion: number | null;
  prevHash: string;
  hash: string;
}

export interface AuditAnchor {
  seq: number;
  head: string;
}


export function canonicalEntry(row: Omit<AuditRow, 'hash' | 'prevHash'>): string {
  return canonicalJson({
    v: 1,
    seq: row.seq,
    at: row.at,
    type: row.type,
    ownerId: row.ownerId,
    recordingId: row.recordingId,
    detail: row.detail,
    personal: row.personal ? row.personal.toString('base64') : null,
    keyVersion: row.keyVersion,
  });
}

export function chainHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(canonical, 'utf8').digest('hex');
}

export type AuditProblemKind =
  | 'edited'
  | 'missing'
  | 'reordered'
  | 'relinked'
  | 'truncated'
  | 'unanchored'
  | 'head-mismatch'
  /** Behind (or off) the anchor kept in the key store: an older database was put back. */
  | 'rolled-back'
  /** A head published elsewhere (`audit verify --head`) is not in this log. */
  | 'behind-published-head';

export interface AuditProblem {
  kind: AuditProblemKind;
  /** The entry where it shows (for 'missing', the first missing seq). */
  seq: number;
  message: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  entries: number;
  /** Hash of the last entry in the table. */
  head: string;
  lastSeq: number;
  anchor: AuditAnchor | null;
  /** The head kept outside the database (key store); null when the key store has none. */
  externalAnchor?: AuditAnchor | null;
  problems: AuditProblem[];
}

/** A head to check the log against: `seq` undefined means "any entry with this hash". */
export interface ExpectedHead {
  head: string;
  seq?: number;
}

/** Parse `HASH[:SEQ]` (64 hex digits, optional decimal sequence number); undefined when malformed. */
export function parseExpectedHead(text: string): ExpectedHead | undefined {
  const m = /^([0-9a-fA-F]{64})(?::(\d{1,15}))?$/.exec(text.trim());
  if (!m) return undefined;
  return m[2] !== undefined ? { head: m[1]!.toLowerCase(), seq: Number(m[2]) } : { head: m[1]!.toLowerCase() };
}

/**
 * Problems of `rows` (ascending seq) relative to heads kept outside the database: the key store's anchor
 * (the log must reach it and contain it) and, optionally, a head published elsewhere.
 */
export function checkOutsideHeads(
  rows: readonly Pick<AuditRow, 'seq' | 'hash'>[],
  external: AuditAnchor | null | undefined,
  published?: ExpectedHead,
): AuditProblem[] {
  const problems: AuditProblem[] = [];
  const hashAt = new Map<number, string>();
  for (const r of rows) hashAt.set(r.seq, r.hash);
  const lastSeq = rows.length > 0 ? rows[rows.length - 1]!.seq : 0;
  if (external && external.seq > 0) {
    if (lastSeq < external.seq) {
      problems.push({
        kind: 'rolled-back',
        seq: lastSeq,
        message: `the log ends at entry #${lastSeq} but the key store records head #${external.seq}: an older copy of the database was put back (entries #${lastSeq + 1}–#${external.seq} are gone)`,
      });
    } else if (hashAt.get(external.seq) !== external.head) {
      problems.push({
        kind: 'rolled-back',
        seq: external.seq,
        message: `entry #${external.seq} is not the head the key store records: the log was replaced by another history`,
      });
    }
  }
  if (published) {
    if (published.seq !== undefined) {
      if (hashAt.get(published.seq) !== published.head) {
        problems.push({
          kind: 'behind-published-head',
          seq: published.seq,
          message:
            lastSeq < published.seq
              ? `the published head #${published.seq} is beyond the end of this log (#${lastSeq}): the log was rolled back`
              : `entry #${published.seq} does not have the published hash: the log was rewritten`,
        });
      }
    } else if (![...hashAt.values()].includes(published.head)) {
      problems.push({ kind: 'behind-published-head', seq: lastSeq, message: `the published head ${published.head.slice(0, 16)}… is not in this log: it was rolled back or rewritten` });
    }
  }
  return problems;
}

/** Rows must be in ascending seq order (the table's primary key order). */
/**
 * Checks a chain of rows against the sealed anchor. `from`: the rows continue an already verified prefix that
 * ends at that entry (its seq and hash), instead of starting at the genesis.
 */
export function verifyChain(rows: readonly AuditRow[], anchor: AuditAnchor | null, from?: { seq: number; hash: string; entries: number }): AuditVerifyReport {
  const problems: AuditProblem[] = [];
  const seqOfHash = new Map<string, number>();
  for (const r of rows) seqOfHash.set(r.hash, r.seq);

  let lastHash = from?.hash ?? GENESIS_HASH;
  let lastSeq = from?.seq ?? 0;
  for (const r of rows) {
    const own = chainHash(r.prevHash, canonicalEntry(r));
    if (own !== r.hash) {
      problems.push({ kind: 'edited', seq: r.seq, message: `entry #${r.seq} was modified (its content does not match its hash)` });
    }
    if (r.seq !== lastSeq + 1) {
      const first = lastSeq + 1;
      const last = r.seq - 1;
      problems.push({
        kind: 'missing',
        seq: first,
        message: first === last ? `entry #${first} was deleted` : `entries #${first}–#${last} were deleted`,
      });
    } else if (r.prevHash !== lastHash) {
      const other = seqOfHash.get(r.prevHash);
      problems.push(
        other !== undefined && other !== lastSeq
          ? { kind: 'reordered', seq: r.seq, message: `entry #${r.seq} was moved: it follows entry #${other}, not #${lastSeq}` }
          : { kind: 'relinked', seq: r.seq, message: `entry #${r.seq} does not follow entry #${lastSeq} (an earlier entry was replaced or re-hashed)` },
      );
    }
    lastHash = r.hash;
    lastSeq = r.seq;
  }

  if (anchor) {
    if (lastSeq < anchor.seq) {
      problems.push({
        kind: 'truncated',
        seq: lastSeq + 1,
        message: `the log ends at entry #${lastSeq} but the sealed head records #${anchor.seq}: entries were removed from the end`,
      });
    } else if (lastSeq > anchor.seq) {
      problems.push({
        kind: 'unanchored',
        seq: anchor.seq + 1,
        message: `entries after #${anchor.seq} were not written by this device (they are beyond the sealed head)`,
      });
    } else if (lastHash !== anchor.head) {
      problems.push({ kind: 'head-mismatch', seq: lastSeq, message: `the last entry's hash differs from the sealed head: the log was rewritten` });
    }
  }
  return { ok: problems.length === 0, entries: (from?.entries ?? 0) + rows.length, head: lastHash, lastSeq, anchor, problems };
}
