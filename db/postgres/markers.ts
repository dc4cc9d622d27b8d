// Markers on a run's curves on PostgreSQL (change points found by the CUSUM detector, connection gaps).
import type pg from 'pg';
import type { MarkerRecord } from '../../protocol/index.js';
import { now, type MarkersRepo, type NewMarker } from '../store.js';
import { query } from './pool.js';

const COLUMNS = 'm.id, r.id AS run, m.metric, m.step, m.change_at, m.kind, m.evidence, m.created_at';

export class PgMarkersRepo implements MarkersRepo {
  constructor(private readonly pool: pg.Pool) {}

  async add(rid: number, markers: readonly NewMarker[]): Promise<MarkerRecord[]> {
    if (markers.length === 0) return [];
    return query<MarkerRecord>(
      this.pool,
      `WITH m AS (
         INSERT INTO markers (rid, metric, step, change_at, kind, evidence, created_at)
         SELECT $1, x.metric, x.step, x.change_at, x.kind, x.evidence, $3
         FROM ROWS FROM (
           jsonb_to_recordset($2::jsonb) AS (metric text, step bigint, change_at bigint, kind text, evidence jsonb)
         ) WITH ORDINALITY AS x(metric, step, change_at, kind, evidence, i)
         ORDER BY x.i
         RETURNING *
       )
       SELECT ${COLUMNS} FROM m JOIN runs r ON r.rid = m.rid ORDER BY m.id`,
      [
        rid,
        JSON.stringify(
          markers.map((m) => ({
            metric: m.metric,
            step: m.step,
            change_at: m.changeAt,
            kind: m.kind,
            evidence: m.evidence,
          })),
        ),
        now(),
      ],
    );
  }

  async list(rid: number, metric?: string): Promise<MarkerRecord[]> {
    const byMetric = metric === undefined ? '' : 'AND m.metric = $2';
    return query<MarkerRecord>(
      this.pool,
      `SELECT ${COLUMNS} FROM markers m JOIN runs r ON r.rid = m.rid WHERE m.rid = $1 ${byMetric}
       ORDER BY m.metric, m.step`,
      metric === undefined ? [rid] : [rid, metric],
    );
  }
}
