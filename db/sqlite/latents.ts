// Latent codes on SQLite: the encoder's μ codes of the validation targets, with class labels, per run and epoch.
import { fromBlob, toBlob } from '../blobs.js';
import { now, type LatentRecord, type LatentSetSummary, type LatentsRepo } from '../store.js';
import type { Connection } from './connection.js';

interface LatentRow {
  epoch: number;
  step: number | null;
  dim: number;
  count: number;
  codes: Buffer;
  labels: Buffer | null;
  created_at: number;
}

export class SqliteLatentsRepo implements LatentsRepo {
  private readonly upsert;
  private readonly getStmt;
  private readonly listStmt;

  constructor(db: Connection) {
    this.upsert = db.prepare(
      `INSERT INTO latents (rid, epoch, step, dim, count, codes, labels, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rid, epoch) DO UPDATE SET step = excluded.step, dim = excluded.dim, count = excluded.count,
         codes = excluded.codes, labels = excluded.labels, created_at = excluded.created_at`,
    );
    this.getStmt = db.prepare<[number, number], LatentRow>(
      'SELECT epoch, step, dim, count, codes, labels, created_at FROM latents WHERE rid = ? AND epoch = ?',
    );
    this.listStmt = db.prepare<[number], Omit<LatentRow, 'codes' | 'labels'> & { labelled: number }>(
      'SELECT epoch, step, dim, count, labels IS NOT NULL AS labelled, created_at FROM latents WHERE rid = ? ORDER BY epoch',
    );
  }

  async put(
    rid: number,
    rec: { epoch: number; step: number | null; dim: number; codes: Float32Array; labels: Int32Array | null },
  ): Promise<void> {
    const count = rec.codes.length / rec.dim;
    this.upsert.run(rid, rec.epoch, rec.step, rec.dim, count, toBlob(rec.codes), toBlob(rec.labels), now());
  }

  async get(rid: number, epoch: number): Promise<LatentRecord | null> {
    const row = this.getStmt.get(rid, epoch);
    if (!row) return null;
    return {
      epoch: row.epoch,
      step: row.step,
      dim: row.dim,
      count: row.count,
      codes: fromBlob(Float32Array, row.codes),
      labels: fromBlob(Int32Array, row.labels),
      created_at: row.created_at,
    };
  }

  async list(rid: number): Promise<LatentSetSummary[]> {
    return this.listStmt.all(rid).map((r) => ({ ...r, labelled: r.labelled === 1 }));
  }
}
