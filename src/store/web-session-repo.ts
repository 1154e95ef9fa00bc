/**
 * The owner's page: one-time pairing codes and browser sessions (schema version 4).
 *
 * Only SHA-256 hashes of codes and session ids are stored, so a copy of the database pairs no browser. A
 * session belongs to exactly one owner and goes with them (ON DELETE CASCADE inside the erasure's or the
 * transfer's own transaction). Whose a code or session is rests on what the owner's key opens, not on the
 * clear owner_id: each row carries a blob sealed under the owner's data key whose associated data names the
 * hash, the owner (and a code's expiry), so a row edited or inserted by someone without the key opens
 * nothing — it is refused and recorded as an incident. Every change is audited in the same transaction, with
 * the `source` it came from.
 */
import { EarshotError } from '../core/errors.js';
import { encodeAad } from '../crypto/aad.js';
import { open, seal } from '../crypto/aead.js';
import type { StoreContext } from './context.js';
import type { Sql } from './sqlite.js';

export interface StoredSession {
  /** Public handle for listing and revoking; never the secret id. */
  ref: string;
  ownerId: string;
  createdAt: number;
  lastSeenAt: number;
  /** Coarse browser label ("Chromium on Linux"), opened with the owner's key. */
  browser: string;
}

export type RedeemOutcome = { status: 'ok'; ownerId: string; session: StoredSession } | { status: 'unknown' | 'used' | 'expired' };

interface SessionRow {
  id_hash: string;
  ref: string;
  owner_id: string;
  created_at: number;
  last_seen_at: number;
  key_version: number;
  sealed_agent: Buffer;
}

function agentAad(idHash: string, ref: string, ownerId: string, keyVersion: number): Buffer {
  return encodeAad('earshot/web-session-agent/v1', [idHash, ref, ownerId, keyVersion]);
}

function pairingAad(codeHash: string, ownerId: string, expiresAt: number, keyVersion: number): Buffer {
  return encodeAad('earshot/web-pairing/v1', [codeHash, ownerId, expiresAt, keyVersion]);
}

const PAIRING_CHECK = Buffer.from('earshot-pairing', 'utf8');

export class WebSessionRepo {
  constructor(private readonly ctx: StoreContext) {}

  /** Stores a pairing code's hash for `ownerId` (UNKNOWN_OWNER when there is no such owner). */
  createPairing(ownerId: string, codeHash: string, expiresAt: number, source: string): Promise<void> {
    return this.ctx.db.transaction(async (sql) => {
      const owner = await sql.get('SELECT 1 AS x FROM owners WHERE id = ?', [ownerId]);
      if (!owner) throw new EarshotError('UNKNOWN_OWNER', `no owner with id ${ownerId} (earshot owners list shows them)`, { details: { ownerId } });
      const now = this.ctx.clock.now();
      // Used and expired codes are of no further use: keep the table small.
      await sql.run('DELETE FROM web_pairing WHERE expires_at < ?', [now - 24 * 3600_000]);
      const key = await this.ctx.keys.require(sql, ownerId);
      const check = seal(key.key, PAIRING_CHECK, pairingAad(codeHash, ownerId, expiresAt, key.version));
      await sql.run('INSERT INTO web_pairing (code_hash, owner_id, created_at, expires_at, used_at, key_version, sealed_check) VALUES (?,?,?,?,NULL,?,?)', [
        codeHash,
        ownerId,
        now,
        expiresAt,
        key.version,
        check,
      ]);
      await this.ctx.audit.appendIn(sql, { type: 'web.pairing-created', ownerId, detail: { expiresAt, source } });
    });
  }

  /**
   * Uses a pairing code (once) and starts a session for its owner, in one transaction: two browsers racing
   * with the same code get one session between them.
   */
  async redeemPairing(codeHash: string, s: { idHash: string; ref: string; browser: string }, source: string): Promise<RedeemOutcome> {
    let forged: string | undefined;
    const out = await this.ctx.db.transaction(async (sql): Promise<RedeemOutcome> => {
      const now = this.ctx.clock.now();
      const row = await sql.get<{ owner_id: string; expires_at: number; used_at: number | null; key_version: number; sealed_check: Buffer }>(
        'SELECT owner_id, expires_at, used_at, key_version, sealed_check FROM web_pairing WHERE code_hash = ?',
        [codeHash],
      );
      if (!row) return { status: 'unknown' };
      const key = await this.ctx.keys.find(sql, row.owner_id);
      if (!key || !opens(key.key, row.sealed_check, pairingAad(codeHash, row.owner_id, row.expires_at, row.key_version))) {
        forged = row.owner_id;
        return { status: 'unknown' };
      }
      if (row.used_at !== null) return { status: 'used' };
      if (row.expires_at <= now) return { status: 'expired' };
      await sql.run('UPDATE web_pairing SET used_at = ? WHERE code_hash = ?', [now, codeHash]);
      const sealed = seal(key.key, Buffer.from(s.browser, 'utf8'), agentAad(s.idHash, s.ref, row.owner_id, key.version));
      await sql.run(
        'INSERT INTO web_sessions (id_hash, ref, owner_id, created_at, last_seen_at, key_version, sealed_agent) VALUES (?,?,?,?,?,?,?)',
        [s.idHash, s.ref, row.owner_id, now, now, key.version, sealed],
      );
      await this.ctx.audit.appendIn(sql, { type: 'web.session-started', ownerId: row.owner_id, detail: { session: s.ref, source } });
      return { status: 'ok', ownerId: row.owner_id, session: { ref: s.ref, ownerId: row.owner_id, createdAt: now, lastSeenAt: now, browser: s.browser } };
    });
    if (forged !== undefined) await this.ctx.incident({ kind: 'integrity', what: 'pairing-code', reason: 'a pairing code row does not open under its owner key' });
    return out;
  }

  /**
   * The session with this id hash, authenticated: its sealed part must open under the named owner's key with
   * associated data naming this id hash. A row that does not (edited or inserted without the key) is no
   * session, and is recorded as an incident.
   */
  async find(idHash: string): Promise<Omit<StoredSession, 'browser'> | undefined> {
    let forged = false;
    const found = await this.ctx.db.exclusive(async (sql) => {
      const r = await sql.get<SessionRow>('SELECT * FROM web_sessions WHERE id_hash = ?', [idHash]);
      if (!r) return undefined;
      const key = await this.ctx.keys.find(sql, r.owner_id);
      if (!key || !opens(key.key, r.sealed_agent, agentAad(idHash, r.ref, r.owner_id, r.key_version))) {
        forged = true;
        return undefined;
      }
      return { ref: r.ref, ownerId: r.owner_id, createdAt: r.created_at, lastSeenAt: r.last_seen_at };
    });
    if (forged) await this.ctx.incident({ kind: 'integrity', what: 'web-session', reason: 'a session row does not open under its owner key' });
    return found;
  }

  touch(idHash: string, at: number): Promise<void> {
    return this.ctx.db.exclusive(async (sql) => {
      await sql.run('UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?', [at, idHash, at]);
    });
  }

  /** Sessions, oldest first; of one owner when `ownerId` is given. */
  list(ownerId?: string): Promise<StoredSession[]> {
    return this.ctx.db.exclusive(async (sql) => {
      const rows = ownerId
        ? await sql.all<SessionRow>('SELECT * FROM web_sessions WHERE owner_id = ? ORDER BY created_at, ref', [ownerId])
        : await sql.all<SessionRow>('SELECT * FROM web_sessions ORDER BY created_at, ref');
      const out: StoredSession[] = [];
      for (const r of rows) {
        const key = await this.ctx.keys.require(sql, r.owner_id);
        const browser = open(key.key, r.sealed_agent, agentAad(r.id_hash, r.ref, r.owner_id, r.key_version), `browser label of session ${r.ref}`).toString('utf8');
        out.push({ ref: r.ref, ownerId: r.owner_id, createdAt: r.created_at, lastSeenAt: r.last_seen_at, browser });
      }
      return out;
    });
  }

  /**
   * Ends sessions: one (`ref`, optionally only if it is `ownerId`'s), all of an owner, those last seen before
   * `idleBefore`, or every session.
   * Returns how many ended; each is audited for its owner with the reason and source.
   */
  end(which: { ref: string; ownerId?: string } | { ownerId: string } | { all: true } | { idleBefore: number }, reason: string, source: string): Promise<number> {
    return this.ctx.db.transaction(async (sql) => {
      let rows: { ref: string; owner_id: string }[];
      if ('ref' in which) {
        rows = which.ownerId !== undefined
          ? await sql.all('SELECT ref, owner_id FROM web_sessions WHERE ref = ? AND owner_id = ?', [which.ref, which.ownerId])
          : await sql.all('SELECT ref, owner_id FROM web_sessions WHERE ref = ?', [which.ref]);
      } else if ('idleBefore' in which) {
        rows = await sql.all('SELECT ref, owner_id FROM web_sessions WHERE last_seen_at < ?', [which.idleBefore]);
      } else if ('ownerId' in which) {
        rows = await sql.all('SELECT ref, owner_id FROM web_sessions WHERE owner_id = ?', [which.ownerId]);
      } else {
        rows = await sql.all('SELECT ref, owner_id FROM web_sessions');
      }
      return this.endRows(sql, rows, reason, source);
    });
  }

  private async endRows(sql: Sql, rows: { ref: string; owner_id: string }[], reason: string, source: string): Promise<number> {
    for (const r of rows) {
      await sql.run('DELETE FROM web_sessions WHERE ref = ?', [r.ref]);
      await this.ctx.audit.appendIn(sql, { type: 'web.session-ended', ownerId: r.owner_id, detail: { session: r.ref, reason, source } });
    }
    return rows.length;
  }
}

/** Whether a sealed blob opens (authenticates) with this key and associated data. */
function opens(key: Buffer, blob: Buffer, aad: Buffer): boolean {
  try {
    open(key, blob, aad);
    return true;
  } catch (e) {
    if (e instanceof EarshotError && e.code === 'INTEGRITY') return false;
    throw e;
  }
}
