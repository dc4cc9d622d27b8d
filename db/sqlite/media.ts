// Media on SQLite: PNG sample grids per run, validation epoch, step and kind.
import { now, type MediaRepo, type MediaRow } from '../store.js';
import type { Connection } from './connection.js';

export class SqliteMediaRepo implements MediaRepo {
  private readonly upsert;
  private readonly fetchStmt;
  private readonly idStmt;

  constructor(private readonly db: Connection) {
    this.upsert = db.prepare(
      `INSERT INTO media (rid, epoch, step, kind, meta, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rid, kind, epoch, step) DO UPDATE SET meta = excluded.meta, bytes = excluded.bytes, created_at = excluded.created_at`,
    );
    this.idStmt = db.prepare<[number, string, number, number], { id: number }>(
      'SELECT id FROM media WHERE rid = ? AND kind = ? AND epoch = ? AND step = ?',
    );
    this.fetchStmt = db.prepare<[number, number], { bytes: Buffer }>(
      'SELECT bytes FROM media WHERE rid = ? AND id = ?',
    );
  }

  /** Stores (or replaces) one image; returns its id. */
  async put(
    rid: number,
    item: { epoch: number; step: number; kind: string; meta: Record<string, unknown>; png: Buffer },
  ): Promise<number> {
    this.upsert.run(rid, item.epoch, item.step, item.kind, JSON.stringify(item.meta), item.png, now());
    return this.idStmt.get(rid, item.kind, item.epoch, item.step)!.id;
  }

  async list(rid: number, filter: { kind?: string; epoch?: number } = {}): Promise<MediaRow[]> {
    const where = ['rid = @rid'];
    if (filter.kind !== undefined) where.push('kind = @kind');
    if (filter.epoch !== undefined) where.push('epoch = @epoch');
    const rows = this.db
      .prepare<Record<string, unknown>, Omit<MediaRow, 'meta'> & { meta: string }>(
        `SELECT id, epoch, step, kind, length(bytes) AS bytes, meta, created_at FROM media WHERE ${where.join(' AND ')} ORDER BY epoch, step, kind`,
      )
      .all({ rid, ...filter });
    return rows.map((r) => ({ ...r, meta: JSON.parse(r.meta) as Record<string, unknown> }));
  }

  async bytes(rid: number, id: number): Promise<Buffer | null> {
    return this.fetchStmt.get(rid, id)?.bytes ?? null;
  }
}
