// Distributions on PostgreSQL: one row per (run, name, step) as on SQLite (db/distribution-rows.ts), a batch upserted
// by one INSERT from arrays (one statement, one round trip), read by name and step range through the primary key.
import type pg from 'pg';
import { gwError, type Distribution, type DistributionsResponse } from '../../protocol/index.js';
import { Downsampler, packBatch, rowToDistribution, type DistributionRow } from '../distribution-rows.js';
import type { DistributionsRepo, RunRef } from '../store.js';
import { mapError, numberArray, query, transaction } from './pool.js';

const COLUMNS = 'step, wall, buckets, lo, hi, edges, counts, non_finite, total';
const READ_PAGE = 5000;

export class PgDistributionsRepo implements DistributionsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async write(
    run: Pick<RunRef, 'rid' | 'id'>,
    records: readonly Distribution[],
    serverWall = Date.now() / 1000,
  ): Promise<number> {
    const rows = packBatch(records, serverWall);
    try {
      await this.pool.query(
        `INSERT INTO distributions (rid, name, ${COLUMNS})
         SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::float8[], $5::integer[], $6::float8[], $7::float8[],
           $8::bytea[], $9::bytea[], $10::bigint[], $11::bigint[])
         ON CONFLICT (rid, name, step) DO UPDATE SET wall = excluded.wall, buckets = excluded.buckets, lo = excluded.lo,
           hi = excluded.hi, edges = excluded.edges, counts = excluded.counts, non_finite = excluded.non_finite,
           total = excluded.total`,
        [
          run.rid,
          rows.map((r) => r.name),
          numberArray(rows.map((r) => r.step)),
          numberArray(rows.map((r) => r.wall)),
          numberArray(rows.map((r) => r.buckets)),
          numberArray(rows.map((r) => r.lo)),
          numberArray(rows.map((r) => r.hi)),
          rows.map((r) => r.edges),
          rows.map((r) => r.counts),
          numberArray(rows.map((r) => r.non_finite)),
          numberArray(rows.map((r) => r.total)),
        ],
      );
    } catch (err) {
      // 23503: the run's row is gone (foreign key), i.e. it was deleted meanwhile.
      if ((err as { code?: string }).code === '23503') throw gwError('GW_ERR_RUN_NOT_FOUND', run.id);
      throw mapError(err);
    }
    return rows.length;
  }

  async read(
    rid: number,
    name: string,
    max: number,
    from = 0,
    to = Number.MAX_SAFE_INTEGER,
  ): Promise<DistributionsResponse> {
    // One snapshot for the count and the pages, so the groups the count planned are the rows read.
    return transaction(this.pool, async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const [count] = await query<{ n: number }>(
        client,
        'SELECT count(*)::bigint AS n FROM distributions WHERE rid = $1 AND name = $2 AND step >= $3 AND step <= $4',
        [rid, name, from, to],
      );
      const stored = count?.n ?? 0;
      const sampler = new Downsampler(stored, max);
      let after = from - 1;
      for (;;) {
        const rows = await query<DistributionRow>(
          client,
          `SELECT ${COLUMNS} FROM distributions WHERE rid = $1 AND name = $2 AND step > $3 AND step <= $4
           ORDER BY step LIMIT $5`,
          [rid, name, after, to, READ_PAGE],
        );
        for (const row of rows) sampler.add(row);
        if (rows.length < READ_PAGE) break;
        after = rows[rows.length - 1]!.step;
      }
      return { name, stored, downsampled: sampler.downsampled, records: sampler.finish() };
    });
  }

  async names(rid: number): Promise<Array<{ name: string; records: number; firstStep: number; lastStep: number }>> {
    return query(
      this.pool,
      `SELECT name, count(*)::bigint AS records, min(step) AS "firstStep", max(step) AS "lastStep" FROM distributions
       WHERE rid = $1 GROUP BY name ORDER BY name COLLATE "C"`,
      [rid],
    );
  }

  async *exportRun(rid: number, pageSize = 2000): AsyncGenerator<Array<Distribution & { wall: number }>> {
    let name = '';
    let step = -1;
    for (;;) {
      const rows = await query<DistributionRow & { name: string }>(
        this.pool,
        `SELECT name, ${COLUMNS} FROM distributions WHERE rid = $1 AND (name, step) > ($2 COLLATE "C", $3)
         ORDER BY name COLLATE "C", step LIMIT $4`,
        [rid, name, step, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => rowToDistribution(r.name, r));
      const last = rows[rows.length - 1]!;
      name = last.name;
      step = last.step;
      if (rows.length < pageSize) return;
    }
  }
}
