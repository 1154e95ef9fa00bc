/**
 * Re-wrap a database file's keys from one key-encryption key to another: the device data key and every
 * owner's data key (recordings are untouched — they are sealed under the owner keys). Used on copies only
 * (a backup being built or restored), never on the live database, which rotates through RecordingStore.
 * Afterwards the file is vacuumed with secure_delete on, so no page keeps a key wrapped the old way.
 */
import { EarshotError } from '../core/index.js';
import { dataKeyWrapAad, deviceKeyWrapAad, type KeyEncryptionKey } from '../crypto/index.js';
import { SqliteDb } from '../store/index.js';

function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** The key id a database file names (meta kek_id). */
export async function kekIdOf(file: string): Promise<string> {
  const db = await SqliteDb.open(file);
  try {
    const row = await db.get<{ value: unknown }>("SELECT value FROM meta WHERE key = 'kek_id'");
    if (!row) throw new EarshotError('STORE_CORRUPT', `${file} names no key id; it was not created by earshot init`);
    return text(row.value);
  } finally {
    await db.close();
  }
}

export async function rewrapDatabase(file: string, from: KeyEncryptionKey, to: KeyEncryptionKey): Promise<{ owners: number }> {
  const db = await SqliteDb.open(file);
  try {
    await db.exec('PRAGMA secure_delete = ON');
    const owners = await db.transaction(async (sql) => {
      const kekId = await sql.get<{ value: unknown }>("SELECT value FROM meta WHERE key = 'kek_id'");
      if (!kekId || text(kekId.value) !== from.id) {
        throw new EarshotError('WRONG_KEY', `${file} is wrapped under key ${kekId ? text(kekId.value) : '(none)'}, not ${from.id}`);
      }
      const ddk = await sql.get<{ value: Buffer }>("SELECT value FROM meta WHERE key = 'device_data_key'");
      if (!ddk || !Buffer.isBuffer(ddk.value)) throw new EarshotError('STORE_CORRUPT', `${file} has no device data key`);
      const plainDdk = from.unwrap(ddk.value, deviceKeyWrapAad(from.id));
      await sql.run("UPDATE meta SET value = ? WHERE key = 'device_data_key'", [to.wrap(plainDdk, deviceKeyWrapAad(to.id))]);
      plainDdk.fill(0);
      const rows = await sql.all<{ id: string; key_version: number; wrapped_key: Buffer }>('SELECT id, key_version, wrapped_key FROM owners ORDER BY id');
      for (const r of rows) {
        const k = from.unwrap(r.wrapped_key, dataKeyWrapAad(r.id, r.key_version));
        await sql.run('UPDATE owners SET wrapped_key = ? WHERE id = ?', [to.wrap(k, dataKeyWrapAad(r.id, r.key_version)), r.id]);
        k.fill(0);
      }
      await sql.run("UPDATE meta SET value = ? WHERE key = 'kek_id'", [to.id]);
      return rows.length;
    });
    await db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    await db.exec('VACUUM');
    await db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return { owners };
  } finally {
    await db.close();
  }
}
