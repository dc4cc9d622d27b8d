// SQLite checks that run beside the server's writer, on their own read-only connection: integrity, and a content
// digest of every table (for tests that must prove nothing changed).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { gwError } from '../../protocol/index.js';
import { DISTRIBUTION_PROBLEMS_SQL, distributionProblem } from '../distribution-rows.js';
import type { TableDigest } from '../maintenance.js';
import type { Connection } from './connection.js';

/**
 * Opens a second connection to a database file that only reads (`query_only`). WAL lets it read a consistent snapshot
 * while the server's connection keeps writing. When no server has the file open (no -shm file), the connection is
 * opened read-write so that SQLite removes the -wal and -shm files it creates when it closes; a read-only one would
 * leave them behind, making the file look in use.
 */
export function openReadOnly(path: string): Connection {
  try {
    const db = new Database(path, { readonly: existsSync(`${path}-shm`), fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('query_only = ON');
    return db;
  } catch (err) {
    throw gwError('GW_ERR_DB_OPEN', path, (err as Error).message);
  }
}

function withReadOnly<T>(path: string, fn: (db: Connection) => T): T {
  const db = openReadOnly(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * `PRAGMA integrity_check` of a connection, then the distributions' packed bytes against their bucket counts: 'ok',
 * or the list of problems (one per line).
 */
export function integrityOf(db: Connection): string {
  const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  const problems = rows.map((r) => r.integrity_check).filter((line) => line !== 'ok');
  // A file opened before migration 009 (a read-only check of an old database) has no distributions yet.
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'distributions'").get();
  if (hasTable) {
    const bad = db.prepare(DISTRIBUTION_PROBLEMS_SQL).get() as { n: number; example: string | null };
    const problem = distributionProblem(bad.n, bad.example);
    if (problem !== null) problems.push(problem);
  }
  return problems.length ? problems.join('\n') : 'ok';
}

/** `PRAGMA integrity_check` of a database file, read through its own read-only connection. */
export function integrityCheck(path: string): string {
  return withReadOnly(path, integrityOf);
}

/** A digest per table plus `schema` (every CREATE statement and user_version): equal digests mean equal contents. */
export function digestOf(db: Connection): Record<string, TableDigest> {
  const out: Record<string, TableDigest> = {};
  const objects = db
    .prepare<[], { type: string; name: string; sql: string | null }>(
      "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )
    .all();
  const schema = createHash('sha256');
  for (const o of objects) schema.update(`${o.type}\0${o.name}\0${o.sql ?? ''}\0`);
  schema.update(String(db.pragma('user_version', { simple: true })));
  out.schema = { rows: objects.length, sha256: schema.digest('hex') };

  const real = Buffer.alloc(8);
  for (const { name } of objects.filter((o) => o.type === 'table')) {
    const info = db.pragma(`table_info("${name.replace(/"/g, '""')}")`) as Array<{ name: string; pk: number }>;
    const pk = info
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => `"${c.name.replace(/"/g, '""')}"`);
    // Every table has a primary key (WITHOUT ROWID tables must); a table without one is read in rowid order.
    const order = pk.length ? pk.join(', ') : 'rowid';
    const hash = createHash('sha256');
    let rows = 0;
    // typeof() per column tells 1 (integer) from 1.0 (real), which plain JS numbers cannot.
    const cols = info.map((c) => `"${c.name.replace(/"/g, '""')}"`);
    const select = `SELECT ${cols.map((c) => `typeof(${c}), ${c}`).join(', ')} FROM "${name.replace(/"/g, '""')}" ORDER BY ${order}`;
    const stmt = db.prepare(select).raw(true).safeIntegers(true);
    for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
      rows++;
      for (let i = 0; i < row.length; i += 2) {
        const type = row[i] as string;
        const v = row[i + 1];
        hash.update(type[0]!);
        if (v === null) continue;
        if (typeof v === 'bigint') hash.update(v.toString());
        else if (typeof v === 'number') {
          real.writeDoubleLE(v);
          hash.update(real);
        } else if (typeof v === 'string') {
          hash.update(String(Buffer.byteLength(v)) + ':');
          hash.update(v);
        } else if (Buffer.isBuffer(v)) {
          hash.update(String(v.length) + ':');
          hash.update(v);
        }
        hash.update('\0');
      }
      hash.update('\n');
    }
    out[name] = { rows, sha256: hash.digest('hex') };
  }
  return out;
}

/** Digests of every table of a database file, read through its own read-only connection (a consistent snapshot). */
export function tableDigests(path: string): Record<string, TableDigest> {
  return withReadOnly(path, (db) => db.transaction(() => digestOf(db))());
}

/** Refuses (GW_ERR_DB_IN_USE) a database file that looks open by a server (its -shm file exists), unless `force`. */
export function assertNotInUse(path: string, force = false): void {
  if (!existsSync(path)) throw gwError('GW_ERR_DB_OPEN', path, 'no such file');
  if (existsSync(`${path}-shm`) && !force) throw gwError('GW_ERR_DB_IN_USE', path);
}
