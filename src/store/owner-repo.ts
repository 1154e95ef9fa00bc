/**
 * Owners: opaque id in clear; name sealed under the owner's own data key. Exactly one owner is active at a
 * time (the one the daemon records for). Also the owner-side privacy settings (local-only, retention).
 */
import { randomBytes } from 'node:crypto';
import { EarshotError } from '../core/errors.js';
import type { OwnerPrivacy, OwnerPrivacyRepo } from '../core/ports.js';
import { ownerProfileAad } from '../crypto/aad.js';
import { open, seal } from '../crypto/aead.js';
import type { StoreContext } from './context.js';
import { META, deleteMeta, getMetaText, setMeta } from './meta.js';
import type { Sql } from './sqlite.js';

export interface OwnerInfo {
  id: string;
  name: string;
  createdAt: number;
  active: boolean;
  localOnly: boolean;
  retentionDays: number;
  recordings: number;
}

interface OwnerRow {
  id: string;
  created_at: number;
  key_version: number;
  sealed_profile: Buffer;
  local_only: number;
  retention_days: number;
  n?: number;
}

export function newOwnerId(): string {
  return `own-${randomBytes(8).toString('hex')}`;
}

function checkRetentionDays(days: number): void {
  if (!Number.isInteger(days) || days < 0 || days > 36_500) {
    throw new EarshotError('BAD_ARGUMENT', `retention must be a whole number of days between 0 and 36500 (got ${days})`);
  }
}

export class OwnerRepo implements OwnerPrivacyRepo {
  constructor(private readonly ctx: StoreContext) {}

  /** Adds an owner and returns the opaque id. The first owner becomes active. */
  add(name: string, opts: { retentionDays?: number; localOnly?: boolean } = {}): Promise<string> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 200) throw new EarshotError('BAD_ARGUMENT', 'owner name must be 1–200 characters');
    const retentionDays = opts.retentionDays ?? this.ctx.defaults.retentionDays;
    checkRetentionDays(retentionDays);
    const localOnly = opts.localOnly ?? this.ctx.defaults.localOnly;
    return this.ctx.db.transaction(async (sql) => {
      const id = newOwnerId();
      const { key, wrapped } = this.ctx.keys.create(id);
      const profile = seal(key.key, Buffer.from(JSON.stringify({ name: trimmed }), 'utf8'), ownerProfileAad(id, key.version));
      await sql.run(
        'INSERT INTO owners (id, created_at, key_version, wrapped_key, sealed_profile, local_only, retention_days) VALUES (?,?,?,?,?,?,?)',
        [id, this.ctx.clock.now(), key.version, wrapped, profile, localOnly ? 1 : 0, retentionDays],
      );
      await this.ctx.audit.appendIn(sql, { type: 'owner.added', ownerId: id, personal: { name: trimmed }, detail: { retentionDays, localOnly } });
      if ((await getMetaText(sql, META.activeOwner)) === undefined) {
        await setMeta(sql, META.activeOwner, id);
        await this.ctx.audit.appendIn(sql, { type: 'owner.activated', ownerId: id });
      }
      return id;
    });
  }

  /** Makes `ownerId` the owner new recordings belong to. Gives no access to anyone's recordings. */
  use(ownerId: string): Promise<void> {
    return this.ctx.db.transaction(async (sql) => {
      await this.requireRow(sql, ownerId);
      await setMeta(sql, META.activeOwner, ownerId);
      await this.ctx.audit.appendIn(sql, { type: 'owner.activated', ownerId });
    });
  }

  activeOwnerId(): Promise<string | undefined> {
    return this.ctx.db.exclusive((sql) => getMetaText(sql, META.activeOwner));
  }

  list(): Promise<OwnerInfo[]> {
    return this.ctx.db.exclusive(async (sql) => {
      const active = await getMetaText(sql, META.activeOwner);
      const rows = await sql.all<OwnerRow>(
        `SELECT o.*, (SELECT count(*) FROM recordings r WHERE r.owner_id = o.id) AS n FROM owners o ORDER BY o.created_at, o.id`,
      );
      const out: OwnerInfo[] = [];
      for (const r of rows) out.push(await this.toInfo(sql, r, active));
      return out;
    });
  }

  get(ownerId: string): Promise<OwnerInfo> {
    return this.ctx.db.exclusive(async (sql) => {
      const row = await sql.get<OwnerRow>(
        `SELECT o.*, (SELECT count(*) FROM recordings r WHERE r.owner_id = o.id) AS n FROM owners o WHERE o.id = ?`,
        [ownerId],
      );
      if (!row) throw unknownOwner(ownerId);
      return this.toInfo(sql, row, await getMetaText(sql, META.activeOwner));
    });
  }

  getPrivacy(ownerId: string): Promise<OwnerPrivacy> {
    return this.ctx.db.exclusive(async (sql) => {
      const row = await this.requireRow(sql, ownerId);
      return { ownerId, localOnly: row.local_only === 1, retentionDays: row.retention_days };
    });
  }

  setLocalOnly(ownerId: string, on: boolean, source?: string): Promise<void> {
    return this.ctx.db.transaction(async (sql) => {
      await this.requireRow(sql, ownerId);
      await sql.run('UPDATE owners SET local_only = ? WHERE id = ?', [on ? 1 : 0, ownerId]);
      await this.ctx.audit.appendIn(sql, { type: 'local-only.changed', ownerId, detail: { localOnly: on, ...(source !== undefined ? { source } : {}) } });
    });
  }

  setRetentionDays(ownerId: string, days: number, source?: string): Promise<void> {
    checkRetentionDays(days);
    return this.ctx.db.transaction(async (sql) => {
      await this.requireRow(sql, ownerId);
      await sql.run('UPDATE owners SET retention_days = ? WHERE id = ?', [days, ownerId]);
      await this.ctx.audit.appendIn(sql, { type: 'retention.changed', ownerId, detail: { retentionDays: days, ...(source !== undefined ? { source } : {}) } });
    });
  }

  /** Owner ids with their retention, for the sweeper. */
  retentionPolicies(): Promise<{ ownerId: string; retentionDays: number }[]> {
    return this.ctx.db.exclusive(async (sql) =>
      (await sql.all<{ id: string; retention_days: number }>('SELECT id, retention_days FROM owners ORDER BY id')).map((r) => ({
        ownerId: r.id,
        retentionDays: r.retention_days,
      })),
    );
  }

  async requireRow(sql: Sql, ownerId: string): Promise<OwnerRow> {
    const row = await sql.get<OwnerRow>('SELECT * FROM owners WHERE id = ?', [ownerId]);
    if (!row) throw unknownOwner(ownerId);
    return row;
  }

  /** Clears the active owner if it is `ownerId` (used by erasure). */
  async clearActiveIf(sql: Sql, ownerId: string): Promise<void> {
    if ((await getMetaText(sql, META.activeOwner)) === ownerId) await deleteMeta(sql, META.activeOwner);
  }

  private async toInfo(sql: Sql, r: OwnerRow, active: string | undefined): Promise<OwnerInfo> {
    const key = await this.ctx.keys.require(sql, r.id);
    const profile = JSON.parse(
      open(key.key, r.sealed_profile, ownerProfileAad(r.id, r.key_version), `profile of owner ${r.id}`).toString('utf8'),
    ) as { name: string };
    return {
      id: r.id,
      name: profile.name,
      createdAt: r.created_at,
      active: r.id === active,
      localOnly: r.local_only === 1,
      retentionDays: r.retention_days,
      recordings: r.n ?? 0,
    };
  }
}

export function unknownOwner(ownerId: string): EarshotError {
  return new EarshotError('UNKNOWN_OWNER', `no owner with id ${ownerId} (earshot owners list shows them)`, { details: { ownerId } });
}
