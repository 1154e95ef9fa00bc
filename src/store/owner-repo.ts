/**
 * Owners: opaque id in clear; name and wake settings (claimed wake words, own thresholds) sealed together as the
 * profile under the owner's own data key; the owner's own privacy choices (local-only, retention) and which
 * owner is active. Plain persistence: the rules and the audit trail are the
 * application layer's (src/app).
 */
import { randomBytes } from 'node:crypto';
import { canonicalWakeSettings, EarshotError, errorMessage, isEarshotError, wakeSettingsFromJson } from '../core/index.js';
import type { OwnerPrivacy, OwnerRecord, OwnerRepo, OwnerWakeSettings, OwnerWakeSettingsRead } from '../core/index.js';
import { open, ownerProfileAad, seal } from '../crypto/index.js';
import type { StoreContext } from './context.js';
import { META, deleteMeta, getMetaText, setMeta } from './meta.js';
import type { Scope } from './scope.js';
import type { Sql } from './sqlite.js';

interface OwnerRow {
  id: string;
  created_at: number;
  key_version: number;
  sealed_profile: Buffer;
  local_only: number;
  retention_days: number;
  n?: number;
}

/** What the sealed profile holds. `wake` is absent in profiles written before claims existed. */
interface Profile {
  name: string;
  wake?: OwnerWakeSettings;
}

export function newOwnerId(): string {
  return `own-${randomBytes(8).toString('hex')}`;
}

export function unknownOwner(ownerId: string): EarshotError {
  return new EarshotError('UNKNOWN_OWNER', `no owner with id ${ownerId} (earshot owners list shows them)`, { details: { ownerId } });
}

/** The owner row, or UNKNOWN_OWNER. */
export async function requireOwnerRow(sql: Sql, ownerId: string): Promise<OwnerRow> {
  const row = await sql.get<OwnerRow>('SELECT * FROM owners WHERE id = ?', [ownerId]);
  if (!row) throw unknownOwner(ownerId);
  return row;
}

export class SqliteOwnerRepo implements OwnerRepo {
  constructor(
    private readonly scope: Scope,
    private readonly ctx: StoreContext,
  ) {}

  private get sql(): Sql {
    return this.scope.sql;
  }

  async create(input: { name: string; createdAt: number; retentionDays: number; localOnly: boolean }): Promise<string> {
    const id = newOwnerId();
    const { key, wrapped } = this.ctx.keys.create(id);
    const profile = seal(key.key, Buffer.from(JSON.stringify({ name: input.name }), 'utf8'), ownerProfileAad(id, key.version));
    await this.sql.run(
      'INSERT INTO owners (id, created_at, key_version, wrapped_key, sealed_profile, local_only, retention_days) VALUES (?,?,?,?,?,?,?)',
      [id, input.createdAt, key.version, wrapped, profile, input.localOnly ? 1 : 0, input.retentionDays],
    );
    return id;
  }

  async get(ownerId: string): Promise<OwnerRecord | undefined> {
    const row = await this.sql.get<OwnerRow>(
      `SELECT o.*, (SELECT count(*) FROM recordings r WHERE r.owner_id = o.id) AS n FROM owners o WHERE o.id = ?`,
      [ownerId],
    );
    return row ? this.toRecord(row, await getMetaText(this.sql, META.activeOwner)) : undefined;
  }

  async list(): Promise<OwnerRecord[]> {
    const active = await getMetaText(this.sql, META.activeOwner);
    const rows = await this.sql.all<OwnerRow>(
      `SELECT o.*, (SELECT count(*) FROM recordings r WHERE r.owner_id = o.id) AS n FROM owners o ORDER BY o.created_at, o.id`,
    );
    const out: OwnerRecord[] = [];
    for (const r of rows) out.push(await this.toRecord(r, active));
    return out;
  }

  async privacy(ownerId: string): Promise<OwnerPrivacy | undefined> {
    const row = await this.sql.get<OwnerRow>('SELECT * FROM owners WHERE id = ?', [ownerId]);
    return row ? { ownerId, localOnly: row.local_only === 1, retentionDays: row.retention_days } : undefined;
  }

  async privacyAll(): Promise<OwnerPrivacy[]> {
    const rows = await this.sql.all<OwnerRow>('SELECT * FROM owners ORDER BY id');
    return rows.map((r) => ({ ownerId: r.id, localOnly: r.local_only === 1, retentionDays: r.retention_days }));
  }

  async setLocalOnly(ownerId: string, on: boolean): Promise<void> {
    await requireOwnerRow(this.sql, ownerId);
    await this.sql.run('UPDATE owners SET local_only = ? WHERE id = ?', [on ? 1 : 0, ownerId]);
  }

  async setRetentionDays(ownerId: string, days: number): Promise<void> {
    await requireOwnerRow(this.sql, ownerId);
    await this.sql.run('UPDATE owners SET retention_days = ? WHERE id = ?', [days, ownerId]);
  }

  activeOwnerId(): Promise<string | undefined> {
    return getMetaText(this.sql, META.activeOwner);
  }

  async setActive(ownerId: string | undefined): Promise<void> {
    if (ownerId === undefined) {
      await deleteMeta(this.sql, META.activeOwner);
      return;
    }
    await requireOwnerRow(this.sql, ownerId);
    await setMeta(this.sql, META.activeOwner, ownerId);
  }

  async wakeSettings(ownerId: string): Promise<OwnerWakeSettings> {
    const row = await requireOwnerRow(this.sql, ownerId);
    return wakeSettingsFromJson((await this.openProfile(row)).wake, `profile of owner ${ownerId}`);
  }

  async wakeSettingsAll(): Promise<OwnerWakeSettingsRead[]> {
    const rows = await this.sql.all<OwnerRow>('SELECT * FROM owners ORDER BY created_at, id');
    const out: OwnerWakeSettingsRead[] = [];
    for (const r of rows) {
      try {
        out.push({ ownerId: r.id, settings: wakeSettingsFromJson((await this.openProfile(r)).wake, `profile of owner ${r.id}`) });
      } catch (e) {
        // One owner's profile that does not open must not hide the others': the caller decides what it means.
        if (!isEarshotError(e, 'INTEGRITY') && !isEarshotError(e, 'WRONG_KEY')) throw e;
        out.push({ ownerId: r.id, unreadable: errorMessage(e) });
      }
    }
    return out;
  }

  async setWakeSettings(ownerId: string, settings: OwnerWakeSettings): Promise<void> {
    const row = await requireOwnerRow(this.sql, ownerId);
    const profile = await this.openProfile(row);
    const key = await this.ctx.keys.require(this.sql, ownerId);
    const next: Profile = { name: profile.name, wake: canonicalWakeSettings(settings) };
    const sealed = seal(key.key, Buffer.from(JSON.stringify(next), 'utf8'), ownerProfileAad(ownerId, row.key_version));
    await this.sql.run('UPDATE owners SET sealed_profile = ? WHERE id = ?', [sealed, ownerId]);
  }

  async remove(ownerId: string): Promise<void> {
    await requireOwnerRow(this.sql, ownerId);
    // Listed in the key store before the removal commits, so a restore of an older backup re-applies it.
    await this.ctx.recordErasure?.(ownerId);
    // Overwrite first: with secure_delete the old page content is zeroed, and the key is gone before the row is.
    await this.sql.run('UPDATE owners SET wrapped_key = zeroblob(length(wrapped_key)), sealed_profile = zeroblob(length(sealed_profile)) WHERE id = ?', [ownerId]);
    await this.sql.run('DELETE FROM owners WHERE id = ?', [ownerId]);
    if ((await getMetaText(this.sql, META.activeOwner)) === ownerId) await deleteMeta(this.sql, META.activeOwner);
    // The owner's audio file goes once the removal committed (a crash before: the next open's reconcile).
    this.scope.onCommit(() => this.ctx.vault.removeOwner(ownerId));
  }

  /** The sealed profile opened with the owner's key (INTEGRITY when it does not open). */
  private async openProfile(r: OwnerRow): Promise<Profile> {
    const key = await this.ctx.keys.require(this.sql, r.id);
    return JSON.parse(open(key.key, r.sealed_profile, ownerProfileAad(r.id, r.key_version), `profile of owner ${r.id}`).toString('utf8')) as Profile;
  }

  private async toRecord(r: OwnerRow, active: string | undefined): Promise<OwnerRecord> {
    const profile = await this.openProfile(r);
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
