// Schema migrations as files: numbered SQL files (NNN_name.sql) in a store's migrations folder, read in order. Each
// store applies them its own way (SQLite's user_version, PostgreSQL's schema_migrations under a lock).
import { readdirSync, readFileSync } from 'node:fs';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations in `dir` (a path ending in '/'), in version order. */
export function listMigrations(dir: string): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(dir + f, 'utf8') }));
}
