// Projections of latent codes on PostgreSQL (per run, epoch and method) and the class separation of each epoch's
// codes: the cache the projection service fills from its worker and the projections route reads.
import type pg from 'pg';
import { toBlob } from '../blobs.js';
import { projectionRecord, type ProjectionRow } from '../projection-rows.js';
import {
  now,
  type PendingWork,
  type ProjectionRecord,
  type ProjectionResult,
  type ProjectionsRepo,
  type ProjectionSummaryRecord,
  type SeparationRecord,
  type SeparationResult,
} from '../store.js';
import { query } from './pool.js';

const SEPARATION = 'SELECT epoch, status, step, silhouette, fisher, reason, ms FROM latent_separation';

export class PgProjectionsRepo implements ProjectionsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async markPending(
    rid: number,
    epoch: number,
    method: string,
    sizes: { sourceCount: number; count: number; stratified: boolean },
  ): Promise<void> {
    await query(
      this.pool,
      `INSERT INTO projections (rid, epoch, method, status, source_count, count, stratified, requested_at)
       VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7)
       ON CONFLICT (rid, epoch, method) DO UPDATE SET status = 'pending', source_count = excluded.source_count,
         count = excluded.count, stratified = excluded.stratified, xy = NULL, indices = NULL, labels = NULL,
         params = '{}', ms = NULL, error = NULL, requested_at = excluded.requested_at, finished_at = NULL`,
      [rid, epoch, method, sizes.sourceCount, sizes.count, sizes.stratified, now()],
    );
  }

  async putReady(rid: number, epoch: number, method: string, result: ProjectionResult): Promise<void> {
    await query(
      this.pool,
      `UPDATE projections SET status = 'ready', count = $4, stratified = $5, xy = $6, indices = $7, labels = $8,
         params = $9, ms = $10, error = NULL, finished_at = $11
       WHERE rid = $1 AND epoch = $2 AND method = $3`,
      [
        rid,
        epoch,
        method,
        result.xy.length / 2,
        result.stratified,
        toBlob(result.xy),
        toBlob(result.indices),
        toBlob(result.labels),
        JSON.stringify(result.params),
        result.ms,
        now(),
      ],
    );
  }

  async putFailed(rid: number, epoch: number, method: string, error: string, ms: number | null): Promise<void> {
    await query(
      this.pool,
      `UPDATE projections SET status = 'failed', xy = NULL, ms = $4, error = $5, finished_at = $6
       WHERE rid = $1 AND epoch = $2 AND method = $3`,
      [rid, epoch, method, ms, error, now()],
    );
  }

  async get(rid: number, epoch: number, method: string): Promise<ProjectionRecord | null> {
    const [row] = await query<ProjectionRow>(
      this.pool,
      'SELECT * FROM projections WHERE rid = $1 AND epoch = $2 AND method = $3',
      [rid, epoch, method],
    );
    return row ? projectionRecord(row) : null;
  }

  async previous(rid: number, method: string, epoch: number): Promise<ProjectionRecord | null> {
    const [row] = await query<ProjectionRow>(
      this.pool,
      `SELECT * FROM projections WHERE rid = $1 AND method = $2 AND epoch < $3 AND status = 'ready'
       ORDER BY epoch DESC LIMIT 1`,
      [rid, method, epoch],
    );
    return row ? projectionRecord(row) : null;
  }

  async list(rid: number): Promise<ProjectionSummaryRecord[]> {
    const rows = await query<ProjectionRow>(
      this.pool,
      `SELECT epoch, method, status, source_count, count, stratified, ms, error, requested_at, finished_at
       FROM projections WHERE rid = $1 ORDER BY epoch, method`,
      [rid],
    );
    return rows.map((row) => {
      const { xy: _x, indices: _i, labels: _l, params: _p, ...rest } = projectionRecord(row);
      return rest;
    });
  }

  async pendingWork(): Promise<PendingWork[]> {
    return query<PendingWork>(
      this.pool,
      `SELECT * FROM (
         SELECT s.rid AS rid, r.id AS "runId", s.epoch AS epoch, 'separation' AS kind, 0 AS part, s.updated_at AS at
         FROM latent_separation s JOIN runs r ON r.rid = s.rid WHERE s.status = 'pending'
         UNION ALL
         SELECT p.rid, r.id, p.epoch, p.method, 1, p.requested_at
         FROM projections p JOIN runs r ON r.rid = p.rid WHERE p.status = 'pending'
       ) w ORDER BY part, at`,
    ).then((rows) => rows.map(({ rid, runId, epoch, kind }) => ({ rid, runId, epoch, kind })));
  }

  async markSeparationPending(rid: number, epoch: number, step: number | null): Promise<void> {
    await query(
      this.pool,
      `INSERT INTO latent_separation (rid, epoch, status, step, updated_at) VALUES ($1, $2, 'pending', $3, $4)
       ON CONFLICT (rid, epoch) DO UPDATE SET status = 'pending', step = excluded.step, silhouette = NULL, fisher = NULL,
         reason = NULL, ms = NULL, updated_at = excluded.updated_at`,
      [rid, epoch, step, now()],
    );
  }

  async putSeparation(rid: number, epoch: number, result: SeparationResult): Promise<void> {
    // Kept as SQLite keeps them: a non-finite figure (a class of one point makes Fisher's +Infinity) is stored as NULL.
    const finite = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);
    await query(
      this.pool,
      `UPDATE latent_separation SET status = $3, silhouette = $4, fisher = $5, reason = $6, ms = $7, updated_at = $8
       WHERE rid = $1 AND epoch = $2`,
      [rid, epoch, result.status, finite(result.silhouette), finite(result.fisher), result.reason, result.ms, now()],
    );
  }

  async separation(rid: number, epoch: number): Promise<SeparationRecord | null> {
    const [row] = await query<SeparationRecord>(this.pool, `${SEPARATION} WHERE rid = $1 AND epoch = $2`, [rid, epoch]);
    return row ?? null;
  }

  separations(rid: number): Promise<SeparationRecord[]> {
    return query<SeparationRecord>(this.pool, `${SEPARATION} WHERE rid = $1 ORDER BY epoch`, [rid]);
  }
}
