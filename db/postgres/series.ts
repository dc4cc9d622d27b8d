// Reading metrics back from PostgreSQL: per-metric summaries in one query, raw points, bucketed envelopes (the same
// arithmetic as SQLite's, db/series-read.ts), and the full export in pages. Every query names the run, so it reads one
// run's partition only. Points live in the 16 slots of their level-1 block row (migration 010): a read of steps a..b
// is an index range scan over blocks a>>4..b>>4, unnested in (block, slot) order so that a LIMIT stops it early.
import type pg from 'pg';
import type { MetricSummary } from '../../protocol/index.js';
import { BLOCK_FANOUT, ENVELOPE_COLUMNS, LEVELS, type RawBlock, type WrittenPoint } from '../blocks.js';
import { readSeries, wire, type SeriesResult, type SeriesSource } from '../series-read.js';
import type { ExportRow, MetricRef, SeriesRepo } from '../store.js';
import { query, queryRows } from './pool.js';

/** A level-1 block row `b`'s slots as rows u(value, wall, i), and the step of slot i. */
const SLOTS = 'LATERAL unnest(b.point_values, b.point_walls) WITH ORDINALITY AS u(value, wall, i)';
const STEP = '(b.block * 16 + u.i - 1)';

interface SummaryRow {
  name: string;
  cnt: number | null;
  nonfinite: number | null;
  vmin: number | null;
  vmax: number | null;
  first_step: number | null;
  last_step: number | null;
  last_value: number | null;
}

export class PgSeriesRepo implements SeriesRepo {
  constructor(private readonly pool: pg.Pool) {}

  async metricId(rid: number, name: string): Promise<MetricRef | null> {
    const [row] = await query<{ mid: number }>(this.pool, 'SELECT mid FROM metrics WHERE rid = $1 AND name = $2', [
      rid,
      name,
    ]);
    return row ? { rid, mid: row.mid } : null;
  }

  /** From the coarsest blocks plus the first and last point of each metric: a few index probes per metric. */
  async summaries(rid: number): Promise<MetricSummary[]> {
    const rows = await query<SummaryRow>(
      this.pool,
      `SELECT m.name, b.cnt, b.nonfinite, b.vmin, b.vmax, f.step AS first_step, m.last_step, m.last_value
       FROM metrics m
       LEFT JOIN LATERAL (
         SELECT sum(cnt) AS cnt, sum(nonfinite) AS nonfinite, min(vmin) AS vmin, max(vmax) AS vmax
         FROM blocks WHERE rid = m.rid AND mid = m.mid AND level = $2
       ) b ON true
       LEFT JOIN LATERAL (
         SELECT ${STEP} AS step FROM (
           SELECT block, point_values, point_walls FROM blocks
           WHERE rid = m.rid AND mid = m.mid AND level = 1 ORDER BY block LIMIT 1
         ) b, ${SLOTS}
         WHERE u.value IS NOT NULL ORDER BY u.i LIMIT 1
       ) f ON true
       WHERE m.rid = $1 ORDER BY m.name`,
      [rid, LEVELS],
    );
    return rows.map((r) => ({
      name: r.name,
      count: (r.cnt ?? 0) + (r.nonfinite ?? 0),
      first_step: r.first_step ?? 0,
      last_step: r.last_step ?? 0,
      last_value: wire(r.last_value),
      min: r.vmin,
      max: r.vmax,
      nonfinite: r.nonfinite ?? 0,
    }));
  }

  read(metric: MetricRef, buckets: number, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<SeriesResult> {
    const { rid, mid } = metric;
    const source: SeriesSource = {
      points: (a, b, limit) => this.points(rid, mid, a, b, limit),
      // The last step is in one of the last two blocks of the range that hold points: if the last one's points all lie
      // beyond b, the one before it lies wholly inside.
      lastStep: async (a, b) =>
        (
          await queryRows<[number]>(
            this.pool,
            `SELECT max(${STEP}) FROM (
               SELECT block, point_values, point_walls FROM blocks
               WHERE rid = $1 AND mid = $2 AND level = 1 AND block BETWEEN $3::bigint >> 4 AND $4::bigint >> 4
               ORDER BY block DESC LIMIT 2
             ) b, ${SLOTS}
             WHERE u.value IS NOT NULL AND ${STEP} BETWEEN $3 AND $4`,
            [rid, mid, a, b],
          )
        )[0]![0],
      blocks: (level, b0, b1) =>
        queryRows<RawBlock>(
          this.pool,
          `SELECT ${ENVELOPE_COLUMNS} FROM blocks
           WHERE rid = $1 AND mid = $2 AND level = $3 AND block BETWEEN $4 AND $5 ORDER BY block`,
          [rid, mid, level, b0, b1],
        ),
    };
    return readSeries(source, buckets, from, to);
  }

  /**
   * A metric's points with from ≤ step ≤ to, in step order, at most `limit`. Every block holds a point, and only the
   * first block of the range can lie wholly before it and only the last wholly after it, so limit + 2 blocks hold the
   * first `limit` points; a dense series needs a sixteenth of that, which is read first.
   */
  private async points(rid: number, mid: number, from: number, to: number, limit: number): Promise<WrittenPoint[]> {
    const first = Math.ceil(limit / BLOCK_FANOUT) + 2;
    const dense = await this.pointsInBlocks(rid, mid, from, to, limit, first);
    const inRange = Math.floor(to / BLOCK_FANOUT) - Math.floor(from / BLOCK_FANOUT) + 1;
    if (dense.length === limit || inRange <= first) return dense;
    return this.pointsInBlocks(rid, mid, from, to, limit, limit + 2);
  }

  /** As points(), from the first `blocks` blocks of the range. */
  private pointsInBlocks(
    rid: number,
    mid: number,
    from: number,
    to: number,
    limit: number,
    blocks: number,
  ): Promise<WrittenPoint[]> {
    return queryRows<WrittenPoint>(
      this.pool,
      `SELECT ${STEP} AS step, u.value, u.wall FROM (
         SELECT block, point_values, point_walls FROM blocks
         WHERE rid = $1 AND mid = $2 AND level = 1 AND block BETWEEN $3::bigint >> 4 AND $4::bigint >> 4
         ORDER BY block LIMIT $6
       ) b, ${SLOTS}
       WHERE u.value IS NOT NULL AND ${STEP} BETWEEN $3 AND $4
       ORDER BY b.block, u.i LIMIT $5`,
      [rid, mid, from, to, limit, blocks],
    );
  }

  async window(rid: number, from: number, to: number): Promise<ExportRow[]> {
    const rows = await queryRows<[number, string, number, number]>(
      this.pool,
      `SELECT ${STEP} AS step, m.name, u.value, u.wall FROM blocks b JOIN metrics m ON m.mid = b.mid, ${SLOTS}
       WHERE b.rid = $1 AND b.level = 1 AND b.block BETWEEN $2::bigint >> 4 AND ($3::bigint - 1) >> 4
         AND u.value IS NOT NULL AND ${STEP} >= $2 AND ${STEP} < $3
       ORDER BY step, m.name`,
      [rid, from, to],
    );
    return rows.map(([step, metric, v, wall]) => ({ metric, step, value: wire(v), wall }));
  }

  async *exportRun(rid: number, pageSize = 5000): AsyncGenerator<ExportRow[]> {
    const metrics = await query<{ mid: number; name: string }>(
      this.pool,
      'SELECT mid, name FROM metrics WHERE rid = $1 ORDER BY name',
      [rid],
    );
    for (const { mid, name } of metrics) {
      let after = -1;
      for (;;) {
        const rows = await this.points(rid, mid, after + 1, Number.MAX_SAFE_INTEGER, pageSize);
        if (rows.length === 0) break;
        yield rows.map(([step, v, wall]) => ({ metric: name, step, value: wire(v), wall }));
        after = rows[rows.length - 1]![0];
        if (rows.length < pageSize) break;
      }
    }
  }
}
