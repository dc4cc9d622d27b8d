// SQLite's run summaries (db/summaries.ts): read, extended by a write's values and stored again, in the write's own
// transaction and after the block envelopes (an overwritten extreme is found again from those).
import { BLOCK_FANOUT, LEVELS, type WrittenPoint } from '../blocks.js';
import { extendSummary, type Summary } from '../summaries.js';
import type { Statement } from 'better-sqlite3';
import type { Connection } from './connection.js';

type Extreme = 'min' | 'max';

export class SummaryIndex {
  private readonly read;
  private readonly write;
  private readonly top: Record<Extreme, Statement<[number]>>;
  private readonly child: Record<Extreme, Statement<[number, number, number, number, number]>>;
  private readonly point;

  constructor(db: Connection) {
    this.read = db.prepare<[number], Summary>(
      `SELECT last_step AS lastStep, last_value AS lastValue, min_value AS minValue, min_step AS minStep,
         max_value AS maxValue, max_step AS maxStep FROM metrics WHERE mid = ?`,
    );
    this.write = db.prepare(
      `UPDATE metrics SET last_step = @lastStep, last_value = @lastValue, min_value = @minValue, min_step = @minStep,
         max_value = @maxValue, max_step = @maxStep WHERE mid = @mid`,
    );
    const top = (col: string, dir: string) =>
      db.prepare<[number]>(
        `SELECT block, ${col} FROM blocks WHERE mid = ? AND level = ${LEVELS} AND ${col} IS NOT NULL
         ORDER BY ${col} ${dir}, block LIMIT 1`,
      );
    const child = (col: string) =>
      db
        .prepare<[number, number, number, number, number]>(
          `SELECT block FROM blocks WHERE mid = ? AND level = ? AND block BETWEEN ? AND ? AND ${col} = ?
           ORDER BY block LIMIT 1`,
        )
        .pluck(true);
    this.top = { min: top('vmin', 'ASC').raw(true), max: top('vmax', 'DESC').raw(true) };
    this.child = { min: child('vmin'), max: child('vmax') };
    this.point = db
      .prepare<[number, number, number, number]>(
        'SELECT step FROM points WHERE mid = ? AND step BETWEEN ? AND ? AND value = ? ORDER BY step LIMIT 1',
      )
      .pluck(true);
  }

  /** Brings the summary of metric `mid` up to date after `written` was stored (and its blocks refreshed). */
  refresh(mid: number, written: readonly WrittenPoint[]): void {
    const { summary, staleMin, staleMax } = extendSummary(this.read.get(mid)!, written);
    if (staleMin) [summary.minStep, summary.minValue] = this.extreme(mid, 'min');
    if (staleMax) [summary.maxStep, summary.maxValue] = this.extreme(mid, 'max');
    this.write.run({ ...summary, mid });
  }

  /** The earliest step holding the metric's finite min (max): down the block levels, 16 children at a time. */
  private extreme(mid: number, which: Extreme): [number | null, number | null] {
    const top = this.top[which].get(mid) as [number, number] | undefined;
    if (!top) return [null, null];
    let [block] = top;
    const value = top[1];
    for (let level = LEVELS - 1; level >= 1; level--)
      block = this.child[which].get(
        mid,
        level,
        block * BLOCK_FANOUT,
        block * BLOCK_FANOUT + BLOCK_FANOUT - 1,
        value,
      ) as number;
    const step = this.point.get(mid, block * BLOCK_FANOUT, block * BLOCK_FANOUT + BLOCK_FANOUT - 1, value) as number;
    return [step, value];
  }
}
