/** Free-form device settings for other components (fleet version counters, uplink state). No personal data. */
import type { SettingsRepo } from '../core/index.js';
import type { Scope } from './scope.js';

export class SqliteSettingsRepo implements SettingsRepo {
  constructor(private readonly scope: Pick<Scope, 'sql'>) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.scope.sql.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))?.value;
  }

  async set(key: string, value: string): Promise<void> {
    await this.scope.sql.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, value]);
  }
}
