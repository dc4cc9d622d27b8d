// Latent codes on PostgreSQL: the encoder's μ codes of the validation targets, with class labels, per run and epoch
// (Float32 and Int32 arrays as bytea, the same bytes SQLite keeps).
import type pg from 'pg';
import { fromBlob, toBlob } from '../blobs.js';
import { now, type LatentRecord, type LatentSetSummary, type LatentsRepo } from '../store.js';
import { query } from './pool.js';

interface LatentRow extends Omit<LatentRecord, 'codes' | 'labels'> {
  codes: Buffer;
  labels: Buffer | null;
}

export class PgLatentsRepo implements LatentsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async put(
    rid: number,
    rec: { epoch: number; step: number | null; dim: number; codes: Float32Array; labels: Int32Array | null },
  ): Promise<void> {
    await query(
      this.pool,
      `INSERT INTO latents (rid, epoch, step, dim, count, codes, labels, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (rid, epoch) DO UPDATE SET step = excluded.step, dim = excluded.dim, count = excluded.count,
         codes = excluded.codes, labels = excluded.labels, created_at = excluded.created_at`,
      [rid, rec.epoch, rec.step, rec.dim, rec.codes.length / rec.dim, toBlob(rec.codes), toBlob(rec.labels), now()],
    );
  }

  async get(rid: number, epoch: number): Promise<LatentRecord | null> {
    const [row] = await query<LatentRow>(
      this.pool,
      'SELECT epoch, step, dim, count, codes, labels, created_at FROM latents WHERE rid = $1 AND epoch = $2',
      [rid, epoch],
    );
    if (!row) return null;
    return { ...row, codes: fromBlob(Float32Array, row.codes), labels: fromBlob(Int32Array, row.labels) };
  }

  async list(rid: number): Promise<LatentSetSummary[]> {
    return query<LatentSetSummary>(
      this.pool,
      `SELECT epoch, step, dim, count, labels IS NOT NULL AS labelled, created_at FROM latents WHERE rid = $1
       ORDER BY epoch`,
      [rid],
    );
  }
}
