// Block envelopes: the exact min/max/sum/count/last of every 16^L-step block (L = 1..4), kept current on every write.
// Bucketed reads combine whole blocks, so a 1M-point series becomes a few thousand rows to read and no spike is lost.
// The arithmetic both stores share (SQLite keeps the blocks from JS, PostgreSQL in SQL with the same definitions).

import { BLOCK_BITS, BLOCK_FANOUT, LEVELS, blockSize } from '../protocol/bucket-grid.js';

export { BLOCK_BITS, BLOCK_FANOUT, LEVELS, blockSize };

/** The exact summary of the points of one block (or of a bucket assembled from blocks). */
export interface Envelope {
  block: number;
  cnt: number;
  nonfinite: number;
  vmin: number | null;
  vmax: number | null;
  vsum: number;
  vlast: number | null;
  lastStep: number;
  wall: number;
}

export function emptyEnvelope(block: number): Envelope {
  return { block, cnt: 0, nonfinite: 0, vmin: null, vmax: null, vsum: 0, vlast: null, lastStep: -1, wall: 0 };
}

/** Adds one raw point (value null or NaN = NaN) to an envelope; points must arrive in step order. */
export function addPoint(env: Envelope, step: number, value: number | null, wall: number): void {
  if (value === null || !Number.isFinite(value)) {
    env.nonfinite++;
  } else {
    env.cnt++;
    env.vsum += value;
    if (env.vmin === null || value < env.vmin) env.vmin = value;
    if (env.vmax === null || value > env.vmax) env.vmax = value;
    env.vlast = value;
  }
  env.lastStep = step;
  env.wall = wall;
}

/** Adds a finer envelope to a coarser one; children must arrive in step order. */
export function addEnvelope(env: Envelope, child: Envelope): void {
  env.cnt += child.cnt;
  env.nonfinite += child.nonfinite;
  env.vsum += child.vsum;
  if (child.vmin !== null && (env.vmin === null || child.vmin < env.vmin)) env.vmin = child.vmin;
  if (child.vmax !== null && (env.vmax === null || child.vmax > env.vmax)) env.vmax = child.vmax;
  if (child.cnt > 0) env.vlast = child.vlast;
  env.lastStep = child.lastStep;
  env.wall = child.wall;
}

/** A block row's columns in Envelope's field order: what envelopeFromRow reads from a .raw() row. */
export const ENVELOPE_COLUMNS = 'block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall';
export type RawBlock = [number, number, number, number | null, number | null, number, number | null, number, number];

export function envelopeFromRow(r: RawBlock): Envelope {
  return {
    block: r[0],
    cnt: r[1],
    nonfinite: r[2],
    vmin: r[3],
    vmax: r[4],
    vsum: r[5],
    vlast: r[6],
    lastStep: r[7],
    wall: r[8],
  };
}

/** One value as written or read: step, value (null or NaN = NaN), wall time. */
export type WrittenPoint = [step: number, value: number | null, wall: number];
