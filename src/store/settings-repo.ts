/** Free-form device settings for other components (fleet version counters, uplink state). No personal data. */
import type { SettingsRepo } from '../core/ports.js';
import type { SqliteDb } from './sqlite.js';

export class SqliteSettingsRepo implements SettingsRepo {
  constructor(private readonly db: SqliteDb) {}

  get(key: string): Promise<string | undefined> {
    return this.db.exclusive(async (sql) => {
      const row = await sql.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]);
      return row?.value;
    });
  }

  set(key: string, value: string): Promise<void> {
    return this.db.exclusive(async (sql) => {
      await sql.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, value]);
    });
  }
}
