// Schema migrations: numbered SQL files in db/migrations, applied in order at start-up; the version lives in user_version.
import { fileURLToPath } from 'node:url';
import { listMigrations as listMigrationFiles, type Migration } from '../migration-files.js';
import type { Database } from 'better-sqlite3';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export type { Migration };

export function listMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return listMigrationFiles(dir);
}

/** Applies every migration newer than the database's user_version, each in its own transaction. Returns the new version. */
export function migrate(db: Database, migrations: Migration[] = listMigrations()): number {
  let version = db.pragma('user_version', { simple: true }) as number;
  for (const m of migrations) {
    if (m.version <= version) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    version = m.version;
  }
  return version;
}
