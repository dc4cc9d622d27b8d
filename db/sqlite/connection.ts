// Opening the one writer connection: WAL, a busy timeout, foreign keys, migrations applied.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { gwError } from '../../protocol/index.js';
import { migrate } from './migrate.js';

export type Connection = Database.Database;

export interface ConnectionOptions {
  /** `normal` (default) survives a process crash; `full` also survives power loss, at an fsync per commit. */
  synchronous?: 'normal' | 'full';
}

export function openConnection(path: string, options: ConnectionOptions = {}): Connection {
  let db: Connection;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  } catch (err) {
    throw gwError('GW_ERR_DB_OPEN', path, (err as Error).message);
  }
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // Bigger page cache and memory-mapped reads make bucketed series reads cheap.
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 268435456');
  db.pragma('temp_store = MEMORY');
  migrate(db);
  return db;
}

/** Writes the WAL back into the main file and truncates it; called on clean shutdown. */
export function checkpointWal(db: Connection): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
}
