/**
 * Consent ledger rows (the policy lives with the uplink/privacy side). Append-only: no update or delete API,
 * and a trigger refuses UPDATE; rows leave only with their owner (erasure).
 */
import { EarshotError } from '../core/errors.js';
import type { ConsentLedgerRepo } from '../core/ports.js';
import { isPurpose, type ConsentEvent, type Purpose } from '../core/privacy-types.js';
import type { StoreContext } from './context.js';

interface ConsentRow {
  owner_id: string;
  purpose: string;
  action: 'grant' | 'revoke';
  at: number;
  source: string;
  text_version: string;
}

export class SqliteConsentRepo implements ConsentLedgerRepo {
  /** The row and its audit entry commit together: a consent change is never recorded without its audit trail. */
  readonly auditsAppends = true;

  constructor(private readonly ctx: StoreContext) {}

  private get db() {
    return this.ctx.db;
  }

  append(event: ConsentEvent): Promise<void> {
    if (!isPurpose(event.purpose)) throw new EarshotError('BAD_ARGUMENT', `unknown consent purpose '${String(event.purpose)}'`);
    if (event.action !== 'grant' && event.action !== 'revoke') throw new EarshotError('BAD_ARGUMENT', `consent action must be grant or revoke`);
    return this.db.transaction(async (sql) => {
      const owner = await sql.get('SELECT 1 AS x FROM owners WHERE id = ?', [event.ownerId]);
      if (!owner) throw new EarshotError('UNKNOWN_OWNER', `no owner with id ${event.ownerId}`, { details: { ownerId: event.ownerId } });
      await sql.run('INSERT INTO consent (owner_id, purpose, action, at, source, text_version) VALUES (?,?,?,?,?,?)', [
        event.ownerId,
        event.purpose,
        event.action,
        event.at,
        event.source,
        event.textVersion,
      ]);
      await this.ctx.audit.appendIn(sql, {
        type: 'consent.changed',
        ownerId: event.ownerId,
        detail: { purpose: event.purpose, action: event.action, source: event.source, textVersion: event.textVersion, at: event.at },
      });
    });
  }

  history(ownerId: string, purpose?: Purpose): Promise<ConsentEvent[]> {
    return this.db.exclusive(async (sql) => {
      const rows = purpose
        ? await sql.all<ConsentRow>('SELECT * FROM consent WHERE owner_id = ? AND purpose = ? ORDER BY seq', [ownerId, purpose])
        : await sql.all<ConsentRow>('SELECT * FROM consent WHERE owner_id = ? ORDER BY seq', [ownerId]);
      return rows.map((r) => ({
        ownerId: r.owner_id,
        purpose: r.purpose as Purpose,
        action: r.action,
        at: r.at,
        source: r.source,
        textVersion: r.text_version,
      }));
    });
  }
}
