// Projections of latent codes on SQLite (per run, epoch and method) and the class separation of each epoch's codes: the
// cache the projection service fills from its worker and the projections route reads.
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
import type { Connection } from './connection.js';

export class SqliteProjectionsRepo implements ProjectionsRepo {
  private readonly pendingStmt;
  private readonly readyStmt;
  private readonly failedStmt;
  private readonly getStmt;
  private readonly listStmt;
  private readonly previousStmt;
  private readonly allPendingStmt;
  private readonly sepPendingStmt;
  private readonly sepPutStmt;
  private readonly sepGetStmt;
  private readonly sepListStmt;
  private readonly sepAllPendingStmt;

  constructor(db: Connection) {
    this.pendingStmt = db.prepare(
      `INSERT INTO projections (rid, epoch, method, status, source_count, count, stratified, requested_at)
       VALUES (@rid, @epoch, @method, 'pending', @source_count, @count, @stratified, @now)
       ON CONFLICT (rid, epoch, method) DO UPDATE SET status = 'pending', source_count = excluded.source_count,
         count = excluded.count, stratified = excluded.stratified, xy = NULL, indices = NULL, labels = NULL,
         params = '{}', ms = NULL, error = NULL, requested_at = excluded.requested_at, finished_at = NULL`,
    );
    this.readyStmt = db.prepare(
      `UPDATE projections SET status = 'ready', count = @count, stratified = @stratified, xy = @xy, indices = @indices,
         labels = @labels, params = @params, ms = @ms, error = NULL, finished_at = @now
       WHERE rid = @rid AND epoch = @epoch AND method = @method`,
    );
    this.failedStmt = db.prepare(
      `UPDATE projections SET status = 'failed', xy = NULL, ms = @ms, error = @error, finished_at = @now
       WHERE rid = @rid AND epoch = @epoch AND method = @method`,
    );
    this.getStmt = db.prepare<[number, number, string], ProjectionRow>(
      'SELECT * FROM projections WHERE rid = ? AND epoch = ? AND method = ?',
    );
    this.listStmt = db.prepare<[number], ProjectionRow>(
      `SELECT epoch, method, status, source_count, count, stratified, ms, error, requested_at, finished_at
       FROM projections WHERE rid = ? ORDER BY epoch, method`,
    );
    this.previousStmt = db.prepare<[number, string, number], ProjectionRow>(
      `SELECT * FROM projections WHERE rid = ? AND method = ? AND epoch < ? AND status = 'ready' ORDER BY epoch DESC LIMIT 1`,
    );
    this.allPendingStmt = db.prepare<[], PendingWork>(
      `SELECT p.rid AS rid, r.id AS runId, p.epoch AS epoch, p.method AS kind FROM projections p JOIN runs r ON r.rid = p.rid
       WHERE p.status = 'pending' ORDER BY p.requested_at`,
    );
    this.sepPendingStmt = db.prepare(
      `INSERT INTO latent_separation (rid, epoch, status, step, updated_at) VALUES (?, ?, 'pending', ?, ?)
       ON CONFLICT (rid, epoch) DO UPDATE SET status = 'pending', step = excluded.step, silhouette = NULL, fisher = NULL,
         reason = NULL, ms = NULL, updated_at = excluded.updated_at`,
    );
    this.sepPutStmt = db.prepare(
      `UPDATE latent_separation SET status = @status, silhouette = @silhouette, fisher = @fisher, reason = @reason, ms = @ms,
         updated_at = @now WHERE rid = @rid AND epoch = @epoch`,
    );
    this.sepGetStmt = db.prepare<[number, number], SeparationRecord>(
      'SELECT epoch, status, step, silhouette, fisher, reason, ms FROM latent_separation WHERE rid = ? AND epoch = ?',
    );
    this.sepListStmt = db.prepare<[number], SeparationRecord>(
      'SELECT epoch, status, step, silhouette, fisher, reason, ms FROM latent_separation WHERE rid = ? ORDER BY epoch',
    );
    this.sepAllPendingStmt = db.prepare<[], PendingWork>(
      `SELECT s.rid AS rid, r.id AS runId, s.epoch AS epoch, 'separation' AS kind FROM latent_separation s JOIN runs r ON r.rid = s.rid
       WHERE s.status = 'pending' ORDER BY s.updated_at`,
    );
  }

  /** Marks (run, epoch, method) as being computed, dropping any earlier result. */
  async markPending(
    rid: number,
    epoch: number,
    method: string,
    sizes: { sourceCount: number; count: number; stratified: boolean },
  ): Promise<void> {
    this.pendingStmt.run({
      rid,
      epoch,
      method,
      source_count: sizes.sourceCount,
      count: sizes.count,
      stratified: sizes.stratified ? 1 : 0,
      now: now(),
    });
  }

  async putReady(rid: number, epoch: number, method: string, result: ProjectionResult): Promise<void> {
    this.readyStmt.run({
      rid,
      epoch,
      method,
      count: result.xy.length / 2,
      stratified: result.stratified ? 1 : 0,
      xy: toBlob(result.xy),
      indices: toBlob(result.indices),
      labels: toBlob(result.labels),
      params: JSON.stringify(result.params),
      ms: result.ms,
      now: now(),
    });
  }

  async putFailed(rid: number, epoch: number, method: string, error: string, ms: number | null): Promise<void> {
    this.failedStmt.run({ rid, epoch, method, error, ms, now: now() });
  }

  async get(rid: number, epoch: number, method: string): Promise<ProjectionRecord | null> {
    const row = this.getStmt.get(rid, epoch, method);
    return row ? projectionRecord(row) : null;
  }

  /** The newest ready projection by `method` of an epoch before `epoch` (what a new one is aligned with). */
  async previous(rid: number, method: string, epoch: number): Promise<ProjectionRecord | null> {
    const row = this.previousStmt.get(rid, method, epoch);
    return row ? projectionRecord(row) : null;
  }

  async list(rid: number): Promise<ProjectionSummaryRecord[]> {
    return this.listStmt.all(rid).map((row) => {
      const { xy: _x, indices: _i, labels: _l, params: _p, ...rest } = projectionRecord(row);
      return rest;
    });
  }

  /** Every pending projection and separation in the database, oldest request first. */
  async pendingWork(): Promise<PendingWork[]> {
    return [...this.sepAllPendingStmt.all(), ...this.allPendingStmt.all()];
  }

  async markSeparationPending(rid: number, epoch: number, step: number | null): Promise<void> {
    this.sepPendingStmt.run(rid, epoch, step, now());
  }

  async putSeparation(rid: number, epoch: number, result: SeparationResult): Promise<void> {
    const finite = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);
    this.sepPutStmt.run({
      rid,
      epoch,
      ...result,
      silhouette: finite(result.silhouette),
      fisher: finite(result.fisher),
      now: now(),
    });
  }

  async separation(rid: number, epoch: number): Promise<SeparationRecord | null> {
    return this.sepGetStmt.get(rid, epoch) ?? null;
  }

  async separations(rid: number): Promise<SeparationRecord[]> {
    return this.sepListStmt.all(rid);
  }
}
