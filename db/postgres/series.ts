// Reading metrics back from PostgreSQL: per-metric summaries in one query, raw points, bucketed envelopes (the same
// arithmetic as SQLite's, db/series-read.ts), and the full export in pages. Every query names the run, so it reads one
// run's partitions only.
import type pg from 'pg';
import type { MetricSummary } from '../../protocol/index.js';
import { ENVELOPE_COLUMNS, LEVELS, type RawBlock, type WrittenPoint } from '../blocks.js';
import { readSeries, wire, type SeriesResult, type SeriesSource } from '../series-read.js';
import type { ExportRow, MetricRef, SeriesRepo } from '../store.js';
import { query, queryRows } from './pool.js';

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
      `SELECT m.name, b.cnt, b.nonfinite, b.vmin, b.vmax, f.step AS first_step, l.step AS last_step, l.value AS last_value
       FROM metrics m
       LEFT JOIN LATERAL (
         SELECT sum(cnt) AS cnt, sum(nonfinite) AS nonfinite, min(vmin) AS vmin, max(vmax) AS vmax
         FROM blocks WHERE rid = m.rid AND mid = m.mid AND level = $2
       ) b ON true
       LEFT JOIN LATERAL (SELECT step FROM points WHERE rid = m.rid AND mid = m.mid ORDER BY step LIMIT 1) f ON true
       LEFT JOIN LATERAL (
         SELECT step, value FROM points WHERE rid = m.rid AND mid = m.mid ORDER BY step DESC LIMIT 1
       ) l ON true
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
      points: (a, b, limit) =>
        queryRows<WrittenPoint>(
          this.pool,
          `SELECT step, value, wall FROM points WHERE rid = $1 AND mid = $2 AND step BETWEEN $3 AND $4
           ORDER BY step LIMIT $5`,
          [rid, mid, a, b, limit],
        ),
      lastStep: async (a, b) =>
        (
          await queryRows<[number]>(
            this.pool,
            `SELECT step FROM points WHERE rid = $1 AND mid = $2 AND step BETWEEN $3 AND $4
             ORDER BY step DESC LIMIT 1`,
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

  async window(rid: number, from: number, to: number): Promise<ExportRow[]> {
    const rows = await queryRows<[number, string, number, number]>(
      this.pool,
      `SELECT p.step, m.name, p.value, p.wall FROM points p JOIN metrics m ON m.mid = p.mid
       WHERE p.rid = $1 AND p.step >= $2 AND p.step < $3 ORDER BY p.step, m.name`,
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
        const rows = await queryRows<WrittenPoint>(
          this.pool,
          'SELECT step, value, wall FROM points WHERE rid = $1 AND mid = $2 AND step > $3 ORDER BY step LIMIT $4',
          [rid, mid, after, pageSize],
        );
        if (rows.length === 0) break;
        yield rows.map(([step, v, wall]) => ({ metric: name, step, value: wire(v), wall }));
        after = rows[rows.length - 1]![0];
        if (rows.length < pageSize) break;
      }
    }
  }
}
