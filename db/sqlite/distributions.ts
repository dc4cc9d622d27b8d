// Distributions on SQLite: one WITHOUT ROWID row per (run, name, step), upserted in one transaction per batch, read by
// name and step range through the primary key and merged down to the asked number of records (db/distribution-rows.ts).
import { gwError, type Distribution, type DistributionsResponse } from '../../protocol/index.js';
import { Downsampler, packBatch, rowToDistribution, type DistributionRow } from '../distribution-rows.js';
import type { DistributionsRepo, RunRef } from '../store.js';
import type { Connection } from './connection.js';

const COLUMNS = 'step, wall, buckets, lo, hi, edges, counts, non_finite, total';
type RangeArgs = [number, string, number, number];

export class SqliteDistributionsRepo implements DistributionsRepo {
  private readonly upsert;
  private readonly runExists;
  private readonly countStmt;
  private readonly rangeStmt;
  private readonly namesStmt;
  private readonly exportStmt;
  private readonly writeTx;

  constructor(db: Connection) {
    this.runExists = db.prepare<[number], number>('SELECT 1 FROM runs WHERE rid = ?').pluck(true);
    this.upsert = db.prepare(
      `INSERT INTO distributions (rid, name, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rid, name, step) DO UPDATE SET wall = excluded.wall, buckets = excluded.buckets, lo = excluded.lo,
         hi = excluded.hi, edges = excluded.edges, counts = excluded.counts, non_finite = excluded.non_finite,
         total = excluded.total`,
    );
    const range = 'WHERE rid = ? AND name = ? AND step >= ? AND step <= ?';
    this.countStmt = db.prepare<RangeArgs, number>(`SELECT count(*) FROM distributions ${range}`).pluck(true);
    this.rangeStmt = db.prepare<RangeArgs, DistributionRow>(
      `SELECT ${COLUMNS} FROM distributions ${range} ORDER BY step`,
    );
    this.namesStmt = db.prepare<[number], { name: string; records: number; firstStep: number; lastStep: number }>(
      `SELECT name, count(*) AS records, min(step) AS firstStep, max(step) AS lastStep FROM distributions
       WHERE rid = ? GROUP BY name ORDER BY name`,
    );
    this.exportStmt = db.prepare<[number, string, string, number, number], DistributionRow & { name: string }>(
      `SELECT name, ${COLUMNS} FROM distributions WHERE rid = ? AND (name > ? OR (name = ? AND step > ?))
       ORDER BY name, step LIMIT ?`,
    );
    this.writeTx = db.transaction((rid: number, records: readonly Distribution[], serverWall: number): number => {
      const rows = packBatch(records, serverWall);
      for (const r of rows) {
        this.upsert.run(rid, r.name, r.step, r.wall, r.buckets, r.lo, r.hi, r.edges, r.counts, r.non_finite, r.total);
      }
      return rows.length;
    });
  }

  async write(
    run: Pick<RunRef, 'rid' | 'id'>,
    records: readonly Distribution[],
    serverWall = Date.now() / 1000,
  ): Promise<number> {
    try {
      return this.writeTx(run.rid, records, serverWall);
    } catch (err) {
      if (this.runExists.get(run.rid) === undefined) throw gwError('GW_ERR_RUN_NOT_FOUND', run.id);
      throw err;
    }
  }

  async read(
    rid: number,
    name: string,
    max: number,
    from = 0,
    to = Number.MAX_SAFE_INTEGER,
  ): Promise<DistributionsResponse> {
    const stored = this.countStmt.get(rid, name, from, to) ?? 0;
    const sampler = new Downsampler(stored, max);
    for (const row of this.rangeStmt.iterate(rid, name, from, to)) sampler.add(row);
    return { name, stored, downsampled: sampler.downsampled, records: sampler.finish() };
  }

  async names(rid: number): Promise<Array<{ name: string; records: number; firstStep: number; lastStep: number }>> {
    return this.namesStmt.all(rid);
  }

  async *exportRun(rid: number, pageSize = 2000): AsyncGenerator<Array<Distribution & { wall: number }>> {
    let name = '';
    let step = -1;
    for (;;) {
      const rows = this.exportStmt.all(rid, name, name, step, pageSize);
      if (rows.length === 0) return;
      yield rows.map((r) => rowToDistribution(r.name, r));
      const last = rows[rows.length - 1]!;
      name = last.name;
      step = last.step;
      if (rows.length < pageSize) return;
    }
  }
}
