/**
 * The owner's page: one-time pairing codes and browser sessions (schema version 5). Plain persistence over a
 * Scope: who may pair, and the audit trail, are src/app's (app/web-sessions.ts).
 *
 * Only SHA-256 hashes of codes and session ids are stored, so a copy of the database pairs no browser. Whose a
 * code or session is rests on what the owner's key opens, not on the clear owner_id: each row carries a blob
 * sealed under the owner's data key whose associated data names the hash and the owner (and a code's expiry),
 * so a row edited or inserted by someone without the key is reported 'forged'.
 */
import { EarshotError } from '../core/index.js';
import type { StoredPairing, WebSession, WebSessionRepo, WebSessionSelector } from '../core/index.js';
import { encodeAad, open, seal } from '../crypto/index.js';
import type { StoreContext } from './context.js';
import type { Scope } from './scope.js';
import type { Sql } from './sqlite.js';

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

export class SqliteWebSessionRepo implements WebSessionRepo {
  constructor(
    private readonly scope: Scope,
    private readonly ctx: StoreContext,
  ) {}

  private get sql(): Sql {
    return this.scope.sql;
  }

  async createPairing(p: { codeHash: string; ownerId: string; createdAt: number; expiresAt: number }): Promise<void> {
    const key = await this.ctx.keys.require(this.sql, p.ownerId);
    const check = seal(key.key, PAIRING_CHECK, pairingAad(p.codeHash, p.ownerId, p.expiresAt, key.version));
    await this.sql.run('INSERT INTO web_pairing (code_hash, owner_id, created_at, expires_at, used_at, key_version, sealed_check) VALUES (?,?,?,?,NULL,?,?)', [
      p.codeHash,
      p.ownerId,
      p.createdAt,
      p.expiresAt,
      key.version,
      check,
    ]);
  }

  async pairing(codeHash: string): Promise<StoredPairing | undefined> {
    const row = await this.sql.get<{ owner_id: string; expires_at: number; used_at: number | null; key_version: number; sealed_check: Buffer }>(
      'SELECT owner_id, expires_at, used_at, key_version, sealed_check FROM web_pairing WHERE code_hash = ?',
      [codeHash],
    );
    if (!row) return undefined;
    const key = await this.ctx.keys.find(this.sql, row.owner_id);
    if (!key || !opens(key.key, row.sealed_check, pairingAad(codeHash, row.owner_id, row.expires_at, row.key_version))) return { forged: true, ownerId: row.owner_id };
    return { ownerId: row.owner_id, expiresAt: row.expires_at, usedAt: row.used_at };
  }

  async markPairingUsed(codeHash: string, at: number): Promise<void> {
    await this.sql.run('UPDATE web_pairing SET used_at = ? WHERE code_hash = ? AND used_at IS NULL', [at, codeHash]);
  }

  async prunePairings(before: number): Promise<void> {
    await this.sql.run('DELETE FROM web_pairing WHERE expires_at < ?', [before]);
  }

  async insertSession(s: { idHash: string; ref: string; ownerId: string; createdAt: number; browser: string }): Promise<void> {
    const key = await this.ctx.keys.require(this.sql, s.ownerId);
    const sealed = seal(key.key, Buffer.from(s.browser, 'utf8'), agentAad(s.idHash, s.ref, s.ownerId, key.version));
    await this.sql.run('INSERT INTO web_sessions (id_hash, ref, owner_id, created_at, last_seen_at, key_version, sealed_agent) VALUES (?,?,?,?,?,?,?)', [
      s.idHash,
      s.ref,
      s.ownerId,
      s.createdAt,
      s.createdAt,
      key.version,
      sealed,
    ]);
  }

  async findSession(idHash: string): Promise<Omit<WebSession, 'browser'> | 'forged' | undefined> {
    const r = await this.sql.get<SessionRow>('SELECT * FROM web_sessions WHERE id_hash = ?', [idHash]);
    if (!r) return undefined;
    const key = await this.ctx.keys.find(this.sql, r.owner_id);
    if (!key || !opens(key.key, r.sealed_agent, agentAad(idHash, r.ref, r.owner_id, r.key_version))) return 'forged';
    return { ref: r.ref, ownerId: r.owner_id, createdAt: r.created_at, lastSeenAt: r.last_seen_at };
  }

  async touchSession(idHash: string, at: number): Promise<void> {
    await this.sql.run('UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?', [at, idHash, at]);
  }

  async listSessions(ownerId?: string): Promise<WebSession[]> {
    const rows = ownerId
      ? await this.sql.all<SessionRow>('SELECT * FROM web_sessions WHERE owner_id = ? ORDER BY created_at, ref', [ownerId])
      : await this.sql.all<SessionRow>('SELECT * FROM web_sessions ORDER BY created_at, ref');
    const out: WebSession[] = [];
    for (const r of rows) {
      const key = await this.ctx.keys.require(this.sql, r.owner_id);
      const browser = open(key.key, r.sealed_agent, agentAad(r.id_hash, r.ref, r.owner_id, r.key_version), `browser label of session ${r.ref}`).toString('utf8');
      out.push({ ref: r.ref, ownerId: r.owner_id, createdAt: r.created_at, lastSeenAt: r.last_seen_at, browser });
    }
    return out;
  }

  async selectSessions(which: WebSessionSelector): Promise<{ ref: string; ownerId: string }[]> {
    const cols = 'SELECT ref, owner_id AS ownerId FROM web_sessions';
    const order = 'ORDER BY created_at, ref';
    if ('ref' in which) {
      return which.ownerId !== undefined
        ? this.sql.all(`${cols} WHERE ref = ? AND owner_id = ? ${order}`, [which.ref, which.ownerId])
        : this.sql.all(`${cols} WHERE ref = ? ${order}`, [which.ref]);
    }
    if ('idleBefore' in which) return this.sql.all(`${cols} WHERE last_seen_at < ? ${order}`, [which.idleBefore]);
    if ('ownerId' in which) return this.sql.all(`${cols} WHERE owner_id = ? ${order}`, [which.ownerId]);
    return this.sql.all(`${cols} ${order}`);
  }

  async deleteSession(ref: string): Promise<void> {
    await this.sql.run('DELETE FROM web_sessions WHERE ref = ?', [ref]);
  }

  async removeOwner(ownerId: string): Promise<number> {
    await this.sql.run('DELETE FROM web_pairing WHERE owner_id = ?', [ownerId]);
    return (await this.sql.run('DELETE FROM web_sessions WHERE owner_id = ?', [ownerId])).changes;
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
