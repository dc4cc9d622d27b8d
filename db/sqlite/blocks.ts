// SQLite's block index: brings the blocks table up to date for the steps a write touched, inside the write's
// transaction. The envelope arithmetic is shared with PostgreSQL (db/blocks.ts).
import {
  BLOCK_FANOUT,
  LEVELS,
  addEnvelope,
  addPoint,
  emptyEnvelope,
  envelopeFromRow,
  type Envelope,
  type RawBlock,
  type WrittenPoint,
} from '../blocks.js';
import type { Connection } from './connection.js';
import { prepareBlockRange, preparePointRange } from './ranges.js';

/** Maintains the blocks table for the steps a write touched. */
export class BlockIndex {
  private readonly readPoints;
  private readonly readBlocks;
  private readonly existingBlocks;
  private readonly upsert;

  constructor(db: Connection) {
    this.readPoints = preparePointRange(db);
    this.readBlocks = prepareBlockRange(db);
    this.existingBlocks = db
      .prepare<[number, number, number]>(
        'SELECT block FROM blocks WHERE mid = ? AND level = 1 AND block BETWEEN ? AND ?',
      )
      .pluck(true);
    this.upsert = db.prepare(
      `INSERT INTO blocks (mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (mid, level, block) DO UPDATE SET cnt = excluded.cnt, nonfinite = excluded.nonfinite,
         vmin = excluded.vmin, vmax = excluded.vmax, vsum = excluded.vsum, vlast = excluded.vlast,
         last_step = excluded.last_step, wall = excluded.wall`,
    );
  }

  /**
   * Brings every level up to date after `written` (this write's values of one metric, in write order) was stored.
   * Call inside the write's transaction. A level-1 block that did not exist before holds only this write's points,
   * so its envelope comes straight from `written`; only blocks that already held points are re-read.
   */
  refresh(mid: number, written: WrittenPoint[]): void {
    const points = sortedLastWins(written);
    const first = Math.floor(points[0]![0] / BLOCK_FANOUT);
    const last = Math.floor(points[points.length - 1]![0] / BLOCK_FANOUT);
    const existed = new Set(this.existingBlocks.all(mid, first, last) as number[]);

    const fresh = new Map<number, Envelope>();
    const reread: number[] = [];
    for (const [step, value, wall] of points) {
      const b = Math.floor(step / BLOCK_FANOUT);
      if (existed.has(b)) {
        if (reread[reread.length - 1] !== b) reread.push(b);
        continue;
      }
      let env = fresh.get(b);
      if (!env) fresh.set(b, (env = emptyEnvelope(b)));
      addPoint(env, step, value, wall);
    }
    for (const e of fresh.values()) this.store(mid, 1, e);
    for (const [b0, b1] of consecutiveRanges(reread)) this.recompute(mid, 1, b0, b1);

    let blocks = parentsOf(uniqueBlocks(points));
    for (let level = 2; level <= LEVELS; level++) {
      for (const [b0, b1] of consecutiveRanges(blocks)) this.recompute(mid, level, b0, b1);
      blocks = parentsOf(blocks);
    }
  }

  private store(mid: number, level: number, e: Envelope): void {
    this.upsert.run(mid, level, e.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.lastStep, e.wall);
  }

  private recompute(mid: number, level: number, b0: number, b1: number): void {
    const envs = new Map<number, Envelope>();
    if (level === 1) {
      for (const [step, value, wall] of this.readPoints.iterate(
        mid,
        b0 * BLOCK_FANOUT,
        b1 * BLOCK_FANOUT + BLOCK_FANOUT - 1,
        Number.MAX_SAFE_INTEGER,
      ) as Iterable<WrittenPoint>) {
        const b = Math.floor(step / BLOCK_FANOUT);
        let env = envs.get(b);
        if (!env) envs.set(b, (env = emptyEnvelope(b)));
        addPoint(env, step, value, wall);
      }
    } else {
      for (const row of this.readBlocks.iterate(
        mid,
        level - 1,
        b0 * BLOCK_FANOUT,
        b1 * BLOCK_FANOUT + BLOCK_FANOUT - 1,
      ) as Iterable<RawBlock>) {
        const child = envelopeFromRow(row);
        const b = Math.floor(child.block / BLOCK_FANOUT);
        let env = envs.get(b);
        if (!env) envs.set(b, (env = emptyEnvelope(b)));
        addEnvelope(env, child);
      }
    }
    for (const e of envs.values()) this.store(mid, level, e);
  }
}

/** The written points in step order, keeping the last write of a step written twice (as the upsert did). */
function sortedLastWins(written: WrittenPoint[]): WrittenPoint[] {
  let ordered = true;
  for (let i = 1; i < written.length; i++) if (written[i]![0] <= written[i - 1]![0]) ordered = false;
  if (ordered) return written;
  const byStep = new Map<number, WrittenPoint>();
  for (const p of written) byStep.set(p[0], p);
  return [...byStep.values()].sort((a, b) => a[0] - b[0]);
}

function uniqueBlocks(points: WrittenPoint[]): number[] {
  const out: number[] = [];
  for (const [step] of points) {
    const b = Math.floor(step / BLOCK_FANOUT);
    if (out[out.length - 1] !== b) out.push(b);
  }
  return out;
}

function* consecutiveRanges(sorted: number[]): Generator<[number, number]> {
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i]!;
    yield [start, end];
    i++;
  }
}

function parentsOf(sorted: number[]): number[] {
  const out: number[] = [];
  for (const b of sorted) {
    const p = Math.floor(b / BLOCK_FANOUT);
    if (out[out.length - 1] !== p) out.push(p);
  }
  return out;
}
