// The PostgreSQL connection pool (node-postgres) and the few helpers every repository uses: a query that maps
// PostgreSQL's errors onto ganwatch's, and a transaction on one pooled connection.
import pg from 'pg';
import { gwError, isGanwatchError } from '../../protocol/index.js';
import { redactLocation } from '../store.js';

/** A pool or a client checked out of it: what a repository queries through. */
export type Queryable = pg.Pool | pg.PoolClient;

// bigint (int8) and numeric come back as strings by default; every integer ganwatch stores is far below 2^53.
const AS_NUMBER = new Set<number>([pg.types.builtins.INT8, pg.types.builtins.NUMERIC]);
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): ((text: string) => unknown) =>
    AS_NUMBER.has(oid)
      ? Number
      : (pg.types.getTypeParser(oid, format) as (text: string) => unknown)) as typeof pg.types.getTypeParser,
};

export function createPool(url: string, size = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: size, types: TYPES, application_name: 'ganwatch' });
  // An idle connection that dies (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * PostgreSQL's errors as ganwatch's where they are the user's or the deployment's: text with a NUL character (which
 * PostgreSQL cannot store) is a bad request, a database that cannot be reached is GW_ERR_DB_UNAVAILABLE (503).
 */
export function mapError(err: unknown, url?: string): unknown {
  if (isGanwatchError(err)) return err;
  const code = (err as { code?: string }).code;
  if (code === '22021' || code === '22P05')
    return gwError('GW_ERR_VALIDATION', 'text must not contain the NUL character (\\u0000)');
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'ETIMEDOUT' ||
    code === 'ECONNRESET' ||
    code === '57P01' || // admin_shutdown
    code === '57P03' || // cannot_connect_now
    (typeof code === 'string' && code.startsWith('08'))
  )
    return gwError('GW_ERR_DB_UNAVAILABLE', url ? redactLocation(url) : 'PostgreSQL', (err as Error).message);
  return err;
}

/** Runs one statement; resolves with its rows. */
export async function query<R extends object = Record<string, unknown>>(
  db: Queryable,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  try {
    return (await db.query<R>(text, values)).rows;
  } catch (err) {
    throw mapError(err);
  }
}

/** Runs one statement whose rows come back as arrays (cheaper for long results). */
export async function queryRows<R extends unknown[]>(
  db: Queryable,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  try {
    return (await db.query<R>({ text, values, rowMode: 'array' })).rows;
  } catch (err) {
    throw mapError(err);
  }
}

/** Runs `fn` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapError(err);
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A connection that cannot even roll back is dropped rather than handed to the next caller.
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw mapError(err);
  } finally {
    client.release(broken);
  }
}

/**
 * A numeric array literal for a float8[] or bigint[] parameter. Number's toString is the shortest text that reads back
 * as the same double (NaN, Infinity and -Infinity included, which float8 accepts); joining is several times faster than
 * node-postgres quoting every element.
 */
export function numberArray(a: ReadonlyArray<number | null>): string {
  const text = a.includes(null) ? a.map((v) => v ?? 'NULL') : a;
  return `{${text.join(',')}}`;
}

/**
 * A float8[] parameter in PostgreSQL's binary array format (array_recv's): node-postgres sends a Buffer as binary, so
 * neither side converts a double to text and back (shortest-round-trip printing and strtod cost far more than copying
 * 8 bytes). null is SQL NULL.
 */
export function float8Array(a: ReadonlyArray<number | null>): Buffer {
  const HEADER = 20; // ndim, has-null flag, element type, then length and lower bound of the one dimension
  const out = Buffer.allocUnsafe(a.length ? HEADER + 12 * a.length : 12);
  out.writeInt32BE(a.length ? 1 : 0, 0);
  out.writeInt32BE(a.includes(null) ? 1 : 0, 4);
  out.writeUInt32BE(FLOAT8_OID, 8);
  if (!a.length) return out;
  out.writeInt32BE(a.length, 12);
  out.writeInt32BE(1, 16);
  let at = HEADER;
  for (const v of a) {
    if (v === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      // writeDoubleBE would store anything else as NaN without a word: refuse it, as float8's text input would.
      if (typeof v !== 'number') throw new TypeError(`invalid input for a float8: ${String(v)}`);
      out.writeInt32BE(8, at);
      out.writeDoubleBE(v, at + 4);
      at += 12;
    }
  }
  return out.subarray(0, at);
}

const FLOAT8_OID = 701;
