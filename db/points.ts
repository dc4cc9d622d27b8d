// Writing metric points: one transaction per batch, upsert per (run, metric, step), block envelopes kept current.
import { decodeValue, type Point } from '../protocol/index.js';
import { BLOCK_FANOUT, BlockIndex } from './blocks.js';
import type { Connection } from './connection.js';

export interface WriteResult {
  /** Values stored (one per metric per step). */
  accepted: number;
  maxStep: number;
}

export class PointsRepo {
  private readonly upsert;
  private readonly findMetric;
  private readonly insertMetric;
  private readonly blocks: BlockIndex;
  /** (rid, name) → mid. Cleared whenever a write fails or a run is deleted, so it never holds a rolled-back id. */
  private readonly metricIds = new Map<string, number>();
  private readonly writeTx;

  constructor(private readonly db: Connection) {
    this.upsert = db.prepare(
      `INSERT INTO points (mid, step, value, wall) VALUES (?, ?, ?, ?)
       ON CONFLICT (mid, step) DO UPDATE SET value = excluded.value, wall = excluded.wall`,
    );
    this.findMetric = db.prepare<[number, string], { mid: number }>('SELECT mid FROM metrics WHERE rid = ? AND name = ?');
    this.insertMetric = db.prepare('INSERT INTO metrics (rid, name) VALUES (?, ?)');
    this.blocks = new BlockIndex(db);
    this.writeTx = db.transaction((rid: number, points: readonly Point[], serverWall: number): WriteResult => {
      const touched = new Map<number, number[]>();
      let accepted = 0;
      let maxStep = -1;
      for (const p of points) {
        const wall = p.wall ?? serverWall;
        const block = Math.floor(p.step / BLOCK_FANOUT);
        if (p.step > maxStep) maxStep = p.step;
        for (const name in p.values) {
          const mid = this.metricId(rid, name);
          const v = decodeValue(p.values[name]!);
          this.upsert.run(mid, p.step, Number.isNaN(v) ? null : v, wall);
          let list = touched.get(mid);
          if (!list) touched.set(mid, (list = []));
          list.push(block);
          accepted++;
        }
      }
      for (const [mid, list] of touched) this.blocks.refresh(mid, uniqueSorted(list));
      return { accepted, maxStep };
    });
  }

  /** Stores a batch atomically: either every value is committed or none is. */
  write(rid: number, points: readonly Point[], serverWall = Date.now() / 1000): WriteResult {
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

  private metricId(rid: number, name: string): number {
    const key = rid + '\u0000' + name;
    let mid = this.metricIds.get(key);
    if (mid === undefined) {
      mid = this.findMetric.get(rid, name)?.mid ?? Number(this.insertMetric.run(rid, name).lastInsertRowid);
      this.metricIds.set(key, mid);
    }
    return mid;
  }
}

function uniqueSorted(list: number[]): number[] {
  let sorted = true;
  for (let i = 1; i < list.length; i++) if (list[i]! < list[i - 1]!) sorted = false;
  if (!sorted) list.sort((a, b) => a - b);
  const out: number[] = [];
  for (const v of list) if (out[out.length - 1] !== v) out.push(v);
  return out;
}
