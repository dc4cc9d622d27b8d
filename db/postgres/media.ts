// Media on PostgreSQL: PNG sample grids per run, validation epoch, step and kind (bytea, stored out of line).
import type pg from 'pg';
import { now, type MediaRepo, type MediaRow } from '../store.js';
import { query } from './pool.js';

export class PgMediaRepo implements MediaRepo {
  constructor(private readonly pool: pg.Pool) {}

  async put(
    rid: number,
    item: { epoch: number; step: number; kind: string; meta: Record<string, unknown>; png: Buffer },
  ): Promise<number> {
    const [row] = await query<{ id: number }>(
      this.pool,
      `INSERT INTO media (rid, epoch, step, kind, meta, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (rid, kind, epoch, step) DO UPDATE SET meta = excluded.meta, bytes = excluded.bytes,
         created_at = excluded.created_at
       RETURNING id`,
      [rid, item.epoch, item.step, item.kind, JSON.stringify(item.meta), item.png, now()],
    );
    return row!.id;
  }

  async list(rid: number, filter: { kind?: string; epoch?: number } = {}): Promise<MediaRow[]> {
    const where = ['rid = $1'];
    const values: unknown[] = [rid];
    if (filter.kind !== undefined) where.push(`kind = $${values.push(filter.kind)}`);
    if (filter.epoch !== undefined) where.push(`epoch = $${values.push(filter.epoch)}`);
    return query<MediaRow>(
      this.pool,
      `SELECT id, epoch, step, kind, length(bytes) AS bytes, meta, created_at FROM media WHERE ${where.join(' AND ')}
       ORDER BY epoch, step, kind`,
      values,
    );
  }

  async bytes(rid: number, id: number): Promise<Buffer | null> {
    const [row] = await query<{ bytes: Buffer }>(this.pool, 'SELECT bytes FROM media WHERE rid = $1 AND id = $2', [
      rid,
      id,
    ]);
    return row?.bytes ?? null;
  }
}
