// Test support: which store the tests run against. By default each test gets a fresh SQLite file in a temp folder;
// with GANWATCH_TEST_DB=postgres://USER@HOST:PORT/DB (a cluster's admin database, as scripts/pg-throwaway.sh sets it)
// each one gets a fresh PostgreSQL database in that cluster instead.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../db/store.js';
import { tempDir } from './server.js';

/** The PostgreSQL cluster's admin URL when the suite runs on PostgreSQL, else null. */
export const PG_ADMIN_URL: string | null = process.env.GANWATCH_TEST_DB || null;
export const onPostgres = PG_ADMIN_URL !== null;
/** For `test(name, { skip: sqliteOnly }, ...)`: tests that look inside the SQLite file itself. */
export const sqliteOnly: string | false = onPostgres && 'looks inside the SQLite file: runs on SQLite only';
/** For tests of PostgreSQL's own behaviour. */
export const postgresOnly: string | false = !onPostgres && 'needs PostgreSQL (npm run test:pg)';

/** Creates an empty PostgreSQL database in the test cluster; returns its URL. */
export async function createPgDatabase(admin: string = PG_ADMIN_URL!): Promise<string> {
  const name = `gwt_${process.pid}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A location for a new, empty store: a SQLite path in a fresh temp folder, or a fresh PostgreSQL database. */
export async function freshLocation(file = 'ganwatch.db'): Promise<string> {
  return onPostgres ? createPgDatabase() : join(tempDir(), file);
}

/** A new, empty store opened in this process. */
export async function openTestStore(): Promise<Store> {
  return openStore(await freshLocation());
}
