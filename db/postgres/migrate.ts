// Schema migrations on PostgreSQL: numbered SQL files in db/postgres/migrations, applied at start-up in one transaction
// under an advisory lock, so several servers starting at once apply each migration exactly once (the others wait for
// the lock, then find nothing left to do). Applied versions are rows of schema_migrations.
import { fileURLToPath } from 'node:url';
import { listMigrations as listMigrationFiles, type Migration } from '../migration-files.js';
import type pg from 'pg';
import { transaction } from './pool.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** The one-key advisory lock migrations hold ('ganwatch' in ASCII). */
const MIGRATION_LOCK = '7449356717662692200';

export type { Migration };

export function listMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return listMigrationFiles(dir);
}

/** Applies every migration not yet recorded; returns the schema version now in force. */
export async function migrate(pool: pg.Pool, migrations: Migration[] = listMigrations()): Promise<number> {
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version    integer PRIMARY KEY,
         name       text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const applied = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    let version = Math.max(0, ...applied);
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      version = Math.max(version, m.version);
    }
    return version;
  });
}
