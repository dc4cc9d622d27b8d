// Operations on a store by its location, beside (or without) a running server: the consistency check, a content
// digest of every table, an online backup, and retention on a store no server is using. Each dispatches to the store
// the location names (a SQLite file, or a postgres:// URL).
import { isPostgresUrl, openStore } from './store.js';

export interface TableDigest {
  rows: number;
  /** sha256 over every row in primary-key order: equal digests mean equal contents. */
  sha256: string;
}

export interface BackupResult {
  /** The backup file written. */
  file: string;
  bytes: number;
  /** How the copy was made, for the CLI's one line (e.g. "12,345 pages", "pg_dump custom format"). */
  detail: string;
  ms: number;
  /** 'ok' when the copy was verified (SQLite: integrity_check; PostgreSQL: pg_restore --list), or 'skipped'. */
  integrity: string;
}

export interface BackupOptions {
  /** Verify the copy before it replaces `target` (default true). */
  verify?: boolean;
  /** Replace an existing `target` (default false). */
  overwrite?: boolean;
}

/** The store's consistency check, through its own connection: 'ok', or one problem per line. */
export async function integrityCheck(location: string): Promise<string> {
  if (isPostgresUrl(location)) return (await import('./postgres/maintenance.js')).checkDatabase(location);
  return (await import('./sqlite/maintenance.js')).integrityCheck(location);
}

/** A digest per table (and one of the schema), read as one consistent snapshot through its own connection. */
export async function tableDigests(location: string): Promise<Record<string, TableDigest>> {
  if (isPostgresUrl(location)) return (await import('./postgres/maintenance.js')).tableDigests(location);
  return (await import('./sqlite/maintenance.js')).tableDigests(location);
}

/** A consistent copy of a live store in one file: SQLite's online backup API, or pg_dump's custom format. */
export async function backupStore(
  location: string,
  target: string,
  options: BackupOptions = {},
): Promise<BackupResult> {
  if (isPostgresUrl(location)) return (await import('./postgres/backup.js')).backupDatabase(location, target, options);
  return (await import('./sqlite/backup.js')).backupDatabase(location, target, options);
}

/**
 * Retention on a store by hand: deletes the runs that ended before `before` (seconds since the epoch); returns their
 * ids. A SQLite file that a server has open is refused (GW_ERR_DB_IN_USE) unless `force`: that server keeps metric ids
 * in memory, and SQLite may hand a deleted run's ids out again. PostgreSQL never reuses ids and a server caches none,
 * so its store can be pruned while servers run.
 */
export async function pruneStore(
  location: string,
  before: number,
  options: { dryRun?: boolean; force?: boolean } = {},
): Promise<string[]> {
  if (!isPostgresUrl(location)) (await import('./sqlite/maintenance.js')).assertNotInUse(location, options.force);
  const store = await openStore(location);
  try {
    const ids = await store.runs.endedBefore(before);
    if (!options.dryRun) for (const id of ids) await store.runs.delete(id);
    return ids;
  } finally {
    await store.close();
  }
}
