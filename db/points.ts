// Writing metric points: one transaction per batch, upsert per (run, metric, step), block envelopes kept current, and
// the run's last step and last-seen time recorded in the same commit.
import { decodeValue, type Point } from '../protocol/index.js';
import { BlockIndex, type WrittenPoint } from './blocks.js';
import type { Connection } from './connection.js';
import type { RunsRepo } from './runs.js';

export class PointsRepo {
  private readonly upsert;
  private readonly findMetric;
  private readonly insertMetric;
  private readonly blocks: BlockIndex;
  /** rid → name → mid. Cleared whenever a write fails or a run is deleted, so it never holds a rolled-back id. */
  private readonly metricIds = new Map<number, Map<string, number>>();
  private readonly writeTx;

  constructor(
    private readonly db: Connection,
    private readonly runs: RunsRepo,
  ) {
    this.upsert = db.prepare(
      `INSERT INTO points (mid, step, value, wall) VALUES (?, ?, ?, ?)
       ON CONFLICT (mid, step) DO UPDATE SET value = excluded.value, wall = excluded.wall`,
    );
    this.findMetric = db.prepare<[number, string], { mid: number }>('SELECT mid FROM metrics WHERE rid = ? AND name = ?');
    this.insertMetric = db.prepare('INSERT INTO metrics (rid, name) VALUES (?, ?)');
    this.blocks = new BlockIndex(db);
    this.writeTx = db.transaction((rid: number, points: readonly Point[], serverWall: number): number => {
      const written = new Map<number, WrittenPoint[]>();
      let accepted = 0;
      let maxStep = -1;
      let ids = this.metricIds.get(rid);
      if (!ids) this.metricIds.set(rid, (ids = new Map()));
      for (const p of points) {
        const wall = p.wall ?? serverWall;
        if (p.step > maxStep) maxStep = p.step;
        for (const name in p.values) {
          const mid = ids.get(name) ?? this.metricId(rid, name, ids);
          const v = decodeValue(p.values[name]!);
          const value = Number.isNaN(v) ? null : v;
          this.upsert.run(mid, p.step, value, wall);
          let list = written.get(mid);
          if (!list) written.set(mid, (list = []));
          list.push([p.step, value, wall]);
          accepted++;
        }
      }
      for (const [mid, list] of written) this.blocks.refresh(mid, list);
      // In the batch's own commit: a second one per batch would cost a second fsync on a --durable server.
      this.runs.touch(rid, maxStep);
      return accepted;
    });
  }

  /**
   * Stores a batch atomically (either every value is committed or none is) and touches the run (RunsRepo.touch);
   * returns the number of values stored (one per metric per step).
   */
  write(rid: number, points: readonly Point[], serverWall = Date.now() / 1000): number {
    try {
      return this.writeTx(rid, points, serverWall);
    } catch (err) {
      this.metricIds.clear();
      throw err;
    }
  }

  forgetRun(): void {
    this.metricIds.clear();
  }

  private metricId(rid: number, name: string, ids: Map<string, number>): number {
    const mid = this.findMetric.get(rid, name)?.mid ?? Number(this.insertMetric.run(rid, name).lastInsertRowid);
    ids.set(name, mid);
    return mid;
  }
}
