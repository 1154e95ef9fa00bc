/**
 * The consent ledger, sealed (the rules live in src/privacy, the operations in src/app). Each row is sealed
 * under its owner's data key with its position in that owner's ledger bound into the associated data, and the
 * owner's row holds a sealed head (how many rows, and a hash of the last seal). So without the key a row cannot
 * be forged, edited, re-pointed to another owner, reordered, or removed from the middle or the end: history()
 * then throws INTEGRITY, and the application layer refuses to act on it. Append-only: a trigger refuses UPDATE
 * of a sealed row; rows leave only with their owner (erasure).
 */
import { createHash } from 'node:crypto';
import { EarshotError } from '../core/index.js';
import type { ConsentLedgerRepo } from '../core/index.js';
import { canonicalJson } from '../core/index.js';
import { isPurpose, type ConsentEvent, type Purpose } from '../core/index.js';
import { encodeAad, open, seal } from '../crypto/index.js';
import type { StoreContext } from './context.js';
import type { OwnerDataKey } from './owner-keys.js';
import type { Scope } from './scope.js';
import type { Sql } from './sqlite.js';

interface ConsentRow {
  seq: number;
  owner_id: string;
  purpose: string;
  action: 'grant' | 'revoke';
  at: number;
  source: string;
  text_version: string;
  seal: Buffer | null;
}

interface ConsentHead {
  n: number;
  /** SHA-256 of the last row's seal, hex ('' when there is none). */
  last: string;
}

function rowAad(ownerId: string, n: number, keyVersion: number): Buffer {
  return encodeAad('earshot/consent-row/v1', [ownerId, n, keyVersion]);
}

function headAad(ownerId: string, keyVersion: number): Buffer {
  return encodeAad('earshot/consent-head/v1', [ownerId, keyVersion]);
}

function eventOf(r: ConsentRow): ConsentEvent {
  return { ownerId: r.owner_id, purpose: r.purpose as Purpose, action: r.action, at: r.at, source: r.source, textVersion: r.text_version };
}

function tampered(ownerId: string, what: string): EarshotError {
  return new EarshotError('INTEGRITY', `the consent ledger of owner ${ownerId} does not verify: ${what}`, { details: { ownerId, what: 'consent-ledger' } });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class SqliteConsentRepo implements ConsentLedgerRepo {
  constructor(
    private readonly scope: Scope,
    private readonly ctx: StoreContext,
  ) {}

  private get sql(): Sql {
    return this.scope.sql;
  }

  async append(event: ConsentEvent): Promise<void> {
    if (!isPurpose(event.purpose)) throw new EarshotError('BAD_ARGUMENT', `unknown consent purpose '${String(event.purpose)}'`);
    if (event.action !== 'grant' && event.action !== 'revoke') throw new EarshotError('BAD_ARGUMENT', `consent action must be grant or revoke`);
    const key = await this.ctx.keys.find(this.sql, event.ownerId);
    if (!key) throw new EarshotError('UNKNOWN_OWNER', `no owner with id ${event.ownerId}`, { details: { ownerId: event.ownerId } });
    // Appending verifies what it extends: a tampered ledger is never built upon.
    const head = (await this.verified(event.ownerId, key)).head;
    await appendSealed(this.sql, key, event, head.n + 1);
  }

  async history(ownerId: string, purpose?: Purpose): Promise<ConsentEvent[]> {
    const key = await this.ctx.keys.find(this.sql, ownerId);
    if (!key) return [];
    const { rows } = await this.verified(ownerId, key);
    return rows.filter((e) => purpose === undefined || e.purpose === purpose);
  }

  async removeOwner(ownerId: string): Promise<number> {
    const removed = (await this.sql.run('DELETE FROM consent WHERE owner_id = ?', [ownerId])).changes;
    await this.sql.run('UPDATE owners SET sealed_consent_head = NULL WHERE id = ?', [ownerId]);
    return removed;
  }

  /** The owner's whole ledger, every row opened and checked against its position and the sealed head. */
  private async verified(ownerId: string, key: OwnerDataKey): Promise<{ rows: ConsentEvent[]; head: ConsentHead }> {
    const rows = await this.sql.all<ConsentRow>('SELECT * FROM consent WHERE owner_id = ? ORDER BY seq', [ownerId]);
    const headRow = await this.sql.get<{ sealed_consent_head: Buffer | null }>('SELECT sealed_consent_head FROM owners WHERE id = ?', [ownerId]);
    let head: ConsentHead = { n: 0, last: '' };
    if (headRow?.sealed_consent_head) {
      try {
        head = JSON.parse(open(key.key, headRow.sealed_consent_head, headAad(ownerId, key.version)).toString('utf8')) as ConsentHead;
      } catch {
        throw tampered(ownerId, 'its sealed head does not open');
      }
    }
    const out: ConsentEvent[] = [];
    for (const [i, r] of rows.entries()) {
      if (!r.seal) throw tampered(ownerId, `row #${r.seq} is not sealed`);
      let sealed: ConsentEvent;
      try {
        sealed = JSON.parse(open(key.key, r.seal, rowAad(ownerId, i + 1, key.version)).toString('utf8')) as ConsentEvent;
      } catch {
        throw tampered(ownerId, `row #${r.seq} does not open at position ${i + 1} (forged, moved, reordered, or a row before it was removed)`);
      }
      const e = eventOf(r);
      if (canonicalJson(sealed) !== canonicalJson(e)) throw tampered(ownerId, `row #${r.seq} was edited`);
      out.push(e);
    }
    const last = rows.at(-1)?.seal;
    if (head.n !== rows.length || head.last !== (last ? sha(last) : '')) {
      throw tampered(ownerId, `it holds ${rows.length} row(s) but its sealed head names ${head.n} (rows were removed or added)`);
    }
    return { rows: out, head };
  }
}

/** Seals `event` as the owner's row number `n` and moves the owner's sealed head to it. */
async function appendSealed(sql: Sql, key: OwnerDataKey, event: ConsentEvent, n: number): Promise<void> {
  const e: ConsentEvent = { ownerId: event.ownerId, purpose: event.purpose, action: event.action, at: event.at, source: event.source, textVersion: event.textVersion };
  const rowSeal = seal(key.key, Buffer.from(canonicalJson(e), 'utf8'), rowAad(e.ownerId, n, key.version));
  await sql.run('INSERT INTO consent (owner_id, purpose, action, at, source, text_version, seal) VALUES (?,?,?,?,?,?,?)', [
    e.ownerId,
    e.purpose,
    e.action,
    e.at,
    e.source,
    e.textVersion,
    rowSeal,
  ]);
  await writeHead(sql, key, { n, last: sha(rowSeal) });
}

async function writeHead(sql: Sql, key: OwnerDataKey, head: ConsentHead): Promise<void> {
  const sealedHead = seal(key.key, Buffer.from(JSON.stringify(head), 'utf8'), headAad(key.ownerId, key.version));
  await sql.run('UPDATE owners SET sealed_consent_head = ? WHERE id = ?', [sealedHead, key.ownerId]);
}

/**
 * After the upgrade to schema 4: seals the rows written before the ledger was sealed, in their order, and each
 * owner's head (trust on first use: what the database held at the upgrade is taken as it was).
 */
export async function sealLegacyConsent(sql: Sql, keyOf: (ownerId: string) => Promise<OwnerDataKey>): Promise<number> {
  const owners = await sql.all<{ id: string }>('SELECT id FROM owners ORDER BY id');
  let sealed = 0;
  for (const { id } of owners) {
    const key = await keyOf(id);
    const rows = await sql.all<ConsentRow>('SELECT * FROM consent WHERE owner_id = ? ORDER BY seq', [id]);
    let last = '';
    for (const [i, r] of rows.entries()) {
      const rowSeal = seal(key.key, Buffer.from(canonicalJson(eventOf(r)), 'utf8'), rowAad(id, i + 1, key.version));
      await sql.run('UPDATE consent SET seal = ? WHERE seq = ? AND seal IS NULL', [rowSeal, r.seq]);
      last = sha(rowSeal);
      sealed++;
    }
    await writeHead(sql, key, { n: rows.length, last });
  }
  return sealed;
}
