/** Internal key/value rows the store itself owns (key ids, the wrapped device data key, the audit anchor). */
import type { Sql } from './sqlite.js';

export const META = {
  kekId: 'kek_id',
  deviceDataKey: 'device_data_key',
  auditAnchor: 'audit_anchor',
  activeOwner: 'active_owner',
  createdAt: 'created_at',
} as const;

export async function getMetaText(sql: Sql, key: string): Promise<string | undefined> {
  const row = await sql.get<{ value: unknown }>('SELECT value FROM meta WHERE key = ?', [key]);
  if (!row) return undefined;
  return Buffer.isBuffer(row.value) ? row.value.toString('utf8') : String(row.value);
}

export async function getMetaBlob(sql: Sql, key: string): Promise<Buffer | undefined> {
  const row = await sql.get<{ value: unknown }>('SELECT value FROM meta WHERE key = ?', [key]);
  if (!row) return undefined;
  return Buffer.isBuffer(row.value) ? row.value : Buffer.from(String(row.value), 'utf8');
}

export async function setMeta(sql: Sql, key: string, value: string | Buffer): Promise<void> {
  await sql.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, value]);
}

export async function deleteMeta(sql: Sql, key: string): Promise<void> {
  await sql.run('DELETE FROM meta WHERE key = ?', [key]);
}
