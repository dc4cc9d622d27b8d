// PostgreSQL checks that run beside the servers on their own connection: the consistency check (`ganwatch check`) and a
// content digest of every table (for tests that must prove nothing changed). Both read one snapshot.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DISTRIBUTION_PROBLEMS_SQL, distributionProblem } from '../distribution-rows.js';
import type { TableDigest } from '../maintenance.js';
import { createPool } from './pool.js';

async function withPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createPool(url, 1);
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

/** Runs `fn` on one connection in a transaction that is always rolled back: a snapshot that leaves no trace. */
async function inSnapshot<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    return await fn(client);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/**
 * Which envelope fields must match exactly; vsum is a float sum whose last bits depend on the order of adding (the
 * check adds exactly, as numeric, so that no sum can overflow).
 */
const ENVELOPE_MISMATCH = `b.cnt IS DISTINCT FROM e.cnt OR b.nonfinite IS DISTINCT FROM e.nonfinite
  OR b.vmin IS DISTINCT FROM e.vmin OR b.vmax IS DISTINCT FROM e.vmax OR b.vlast IS DISTINCT FROM e.vlast
  OR b.last_step IS DISTINCT FROM e.last_step OR b.wall IS DISTINCT FROM e.wall
  OR b.vsum IS NULL OR e.vsum IS NULL
  OR (b.vsum IS DISTINCT FROM e.vsum AND NOT abs(b.vsum - e.vsum) <= 1e-9 * (abs(e.vsum) + 1))`;

/** Level 1 envelopes recomputed from the block's own slots; level L from level L-1 (as gw_write_points computes them). */
function expectedEnvelopes(level: number): string {
  if (level === 1)
    return `SELECT p.rid, p.mid, p.block, e.* FROM blocks p
      CROSS JOIN LATERAL gw_slots_envelope(p.block, p.point_values, p.point_walls, true) e WHERE p.level = 1`;
  return `SELECT c.rid, c.mid, c.block >> 4 AS block, sum(c.cnt) AS cnt, sum(c.nonfinite) AS nonfinite,
      min(c.vmin) AS vmin, max(c.vmax) AS vmax, gw_float8(sum(c.vsum::numeric)) AS vsum,
      (array_agg(c.vlast ORDER BY c.block DESC) FILTER (WHERE c.cnt > 0))[1] AS vlast,
      max(c.last_step) AS last_step, (array_agg(c.wall ORDER BY c.block DESC))[1] AS wall
    FROM blocks c WHERE c.level = ${level - 1} GROUP BY c.rid, c.mid, c.block >> 4`;
}

/**
 * The store's consistency, one problem per line, or 'ok': amcheck's verification of every B-tree index and that each
 * holds every row of its table (when the amcheck extension can be used: it is created inside the check's transaction,
 * which is rolled back), every run has its partition and no partition outlives its run, every block row belongs to
 * a metric of its run, and every block envelope at every level equals what the level below gives. Reads everything: on a
 * large store this takes a while, but never blocks the servers.
 */
export async function checkPool(pool: pg.Pool): Promise<string> {
  return inSnapshot(pool, async (client) => {
    const problems: string[] = [];
    await client.query('SAVEPOINT amcheck');
    const amcheck = await client.query('CREATE EXTENSION IF NOT EXISTS amcheck').then(
      () => true,
      () => false,
    );
    if (!amcheck) await client.query('ROLLBACK TO SAVEPOINT amcheck');
    if (amcheck) {
      const { rows } = await client.query<{ index: string }>(
        `SELECT c.oid::regclass::text AS index FROM pg_class c JOIN pg_am am ON am.oid = c.relam
         WHERE c.relkind = 'i' AND am.amname = 'btree' AND c.relnamespace = current_schema()::regnamespace
         ORDER BY c.relname`,
      );
      for (const { index } of rows) {
        await client.query('SAVEPOINT idx');
        try {
          await client.query('SELECT bt_index_check($1::regclass, true)', [index]);
        } catch (err) {
          await client.query('ROLLBACK TO SAVEPOINT idx');
          problems.push(`index ${index}: ${(err as Error).message}`);
        }
      }
    }
    const missing = await client.query<{ id: string; table: string }>(
      `SELECT r.id, 'blocks' AS table FROM runs r WHERE to_regclass('blocks_' || r.rid) IS NULL ORDER BY r.rid`,
    );
    for (const m of missing.rows) problems.push(`run ${m.id} has no ${m.table} partition`);
    const orphans = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'blocks'::regclass
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE c.relname = 'blocks_' || r.rid)`,
    );
    for (const o of orphans.rows) problems.push(`partition ${o.name} belongs to no run`);
    const stray = await client.query<{ n: number }>(
      `SELECT count(*) AS n FROM blocks b WHERE NOT EXISTS (SELECT 1 FROM metrics m WHERE m.mid = b.mid AND m.rid = b.rid)`,
    );
    if (stray.rows[0]!.n > 0) problems.push(`${stray.rows[0]!.n} block rows belong to no metric of their run`);
    const bad = await client.query<{ n: number; example: string | null }>(DISTRIBUTION_PROBLEMS_SQL);
    const problem = distributionProblem(bad.rows[0]!.n, bad.rows[0]!.example);
    if (problem !== null) problems.push(problem);
    for (let level = 1; level <= 4; level++) {
      const { rows } = await client.query<{ n: number; example: string | null }>(
        `SELECT count(*) AS n, min(format('run %s metric %s block %s', coalesce(b.rid, e.rid), coalesce(b.mid, e.mid),
           coalesce(b.block, e.block))) AS example
         FROM (SELECT * FROM blocks WHERE level = ${level}) b
         FULL JOIN (${expectedEnvelopes(level)}) e ON e.rid = b.rid AND e.mid = b.mid AND e.block = b.block
         WHERE ${ENVELOPE_MISMATCH}`,
      );
      const { n, example } = rows[0]!;
      if (n > 0) problems.push(`${n} level-${level} block envelopes differ from what they cover (e.g. ${example})`);
    }
    return problems.length ? problems.join('\n') : 'ok';
  });
}

/** The consistency check of the store at `url`, through its own connection. */
export function checkDatabase(url: string): Promise<string> {
  return withPool(url, checkPool);
}

/** Who is alive and holds what (migration 002): changes every second while servers run, and is not stored data. */
const PRESENCE_TABLES = "'servers', 'run_holders'";

/**
 * A digest per table and view (partitioned tables whole, in primary-key order, every value as PostgreSQL prints it) except the
 * presence tables, plus `schema` (the columns of every table and the applied migrations): equal digests mean equal contents.
 */
export function tableDigests(url: string): Promise<Record<string, TableDigest>> {
  return withPool(url, (pool) =>
    inSnapshot(pool, async (client) => {
      const out: Record<string, TableDigest> = {};
      const tables = await client.query<{ name: string; view: boolean; pk: string[] | null }>(
        `SELECT c.relname AS name, c.relkind = 'v' AS view,
           (SELECT array_agg(a.attname::text ORDER BY k.i) FROM pg_index x
              CROSS JOIN unnest(x.indkey) WITH ORDINALITY AS k(attnum, i)
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE x.indrelid = c.oid AND x.indisprimary) AS pk
         FROM pg_class c
         WHERE c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition AND c.relnamespace = current_schema()::regnamespace
           AND c.relname NOT IN (${PRESENCE_TABLES})
         ORDER BY c.relname`,
      );
      const schema = await client.query<{ text: string }>(
        `SELECT string_agg(format('%s.%s:%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod)), ','
           ORDER BY c.relname, a.attnum) AS text
         FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relnamespace = current_schema()::regnamespace`,
      );
      out.schema = {
        rows: tables.rows.length,
        sha256: createHash('sha256').update(schema.rows[0]!.text).digest('hex'),
      };
      for (const { name, view, pk } of tables.rows) {
        // A view (`points`, migration 010) has neither key nor ctid: its rows are ordered whole.
        const order = view ? 't' : (pk ?? ['ctid']).map((c) => `t.${JSON.stringify(c)}`).join(', ');
        const { rows } = await client.query<{ rows: number; sha256: string | null }>(
          `SELECT count(*) AS rows,
             encode(sha256(convert_to(coalesce(string_agg(t::text, E'\\n' ORDER BY ${order}), ''), 'UTF8')), 'hex') AS sha256
           FROM ${JSON.stringify(name)} t`,
        );
        out[name] = { rows: rows[0]!.rows, sha256: rows[0]!.sha256 ?? '' };
      }
      return out;
    }),
  );
}
