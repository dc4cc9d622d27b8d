// Markers on a run's curves on PostgreSQL (change points found by the CUSUM detector, connection gaps).
import type pg from 'pg';
import type { MarkerRecord } from '../../protocol/index.js';
import { now, type MarkersRepo } from '../store.js';
import { query } from './pool.js';

const COLUMNS = 'm.id, r.id AS run, m.metric, m.step, m.change_at, m.kind, m.evidence, m.created_at';

export class PgMarkersRepo implements MarkersRepo {
  constructor(private readonly pool: pg.Pool) {}

  async add(
    rid: number,
    m: { metric: string; step: number; changeAt: number | null; kind: string; evidence: Record<string, unknown> },
  ): Promise<MarkerRecord> {
    const [row] = await query<MarkerRecord>(
      this.pool,
      `WITH m AS (
         INSERT INTO markers (rid, metric, step, change_at, kind, evidence, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *
       )
       SELECT ${COLUMNS} FROM m JOIN runs r ON r.rid = m.rid`,
      [rid, m.metric, m.step, m.changeAt, m.kind, JSON.stringify(m.evidence), now()],
    );
    return row!;
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
