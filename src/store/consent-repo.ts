/**
 * Consent ledger rows (the rules live in src/privacy, the operations in src/app). Append-only: no update or
 * delete of a single row, and a trigger refuses UPDATE; rows leave only with their owner (erasure).
 */
import { EarshotError } from '../core/errors.js';
import type { ConsentLedgerRepo } from '../core/ports.js';
import { isPurpose, type ConsentEvent, type Purpose } from '../core/privacy-types.js';
import type { Scope } from './scope.js';

interface ConsentRow {
  owner_id: string;
  purpose: string;
  action: 'grant' | 'revoke';
  at: number;
  source: string;
  text_version: string;
}

export class SqliteConsentRepo implements ConsentLedgerRepo {
  constructor(private readonly scope: Scope) {}

  async append(event: ConsentEvent): Promise<void> {
    if (!isPurpose(event.purpose)) throw new EarshotError('BAD_ARGUMENT', `unknown consent purpose '${String(event.purpose)}'`);
    if (event.action !== 'grant' && event.action !== 'revoke') throw new EarshotError('BAD_ARGUMENT', `consent action must be grant or revoke`);
    const owner = await this.scope.sql.get('SELECT 1 AS x FROM owners WHERE id = ?', [event.ownerId]);
    if (!owner) throw new EarshotError('UNKNOWN_OWNER', `no owner with id ${event.ownerId}`, { details: { ownerId: event.ownerId } });
    await this.scope.sql.run('INSERT INTO consent (owner_id, purpose, action, at, source, text_version) VALUES (?,?,?,?,?,?)', [
      event.ownerId,
      event.purpose,
      event.action,
      event.at,
      event.source,
      event.textVersion,
    ]);
  }

  async history(ownerId: string, purpose?: Purpose): Promise<ConsentEvent[]> {
    const rows = purpose
      ? await this.scope.sql.all<ConsentRow>('SELECT * FROM consent WHERE owner_id = ? AND purpose = ? ORDER BY seq', [ownerId, purpose])
      : await this.scope.sql.all<ConsentRow>('SELECT * FROM consent WHERE owner_id = ? ORDER BY seq', [ownerId]);
    return rows.map((r) => ({
      ownerId: r.owner_id,
      purpose: r.purpose as Purpose,
      action: r.action,
      at: r.at,
      source: r.source,
      textVersion: r.text_version,
    }));
  }

  async removeOwner(ownerId: string): Promise<number> {
    return (await this.scope.sql.run('DELETE FROM consent WHERE owner_id = ?', [ownerId])).changes;
  }
}
