/** Applies pending migrations, one transaction per version (user_version moves with the schema). */
import { EarshotError } from '../core/index.js';
import { MIGRATIONS, SCHEMA_VERSION, type Migration, type MigrationEnv } from './schema.js';
import type { SqliteDb } from './sqlite.js';

export async function schemaVersion(db: SqliteDb): Promise<number> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  return row?.user_version ?? 0;
}

/** Upgrade to `target` (default: latest). Returns the versions applied. */
export async function migrate(
  db: SqliteDb,
  target: number = SCHEMA_VERSION,
  migrations: readonly Migration[] = MIGRATIONS,
  env?: MigrationEnv,
): Promise<number[]> {
  const from = await schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new EarshotError(
      'STORE_CORRUPT',
      `database schema version ${from} is newer than this Earshot supports (${SCHEMA_VERSION}); upgrade Earshot`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= from || m.version > target) continue;
    await db.transaction(async (sql) => {
      if (m.before) {
        if (!env) throw new EarshotError('INTERNAL', `migration to schema ${m.version} needs the audio vault`);
        await m.before(sql, env);
      }
      await sql.exec(m.sql);
      await sql.exec(`PRAGMA user_version = ${m.version}`);
    });
    applied.push(m.version);
  }
  return applied;
}
