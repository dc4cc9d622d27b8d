// The two range reads of one metric that both the block index (refreshing blocks on a write) and the series reads
// (assembling buckets) run: one definition of each query, prepared once per user.
import { ENVELOPE_COLUMNS } from '../blocks.js';
import type { Connection } from './connection.js';

/** Points of metric `mid` with from ≤ step ≤ to in step order, at most `limit`, as raw WrittenPoint rows. */
export function preparePointRange(db: Connection) {
  return db
    .prepare<[mid: number, from: number, to: number, limit: number]>(
      'SELECT step, value, wall FROM points WHERE mid = ? AND step BETWEEN ? AND ? ORDER BY step LIMIT ?',
    )
    .raw(true);
}

/** Blocks of metric `mid` at `level` numbered b0..b1 in block order, as raw rows in ENVELOPE_COLUMNS order. */
export function prepareBlockRange(db: Connection) {
  return db
    .prepare<[mid: number, level: number, b0: number, b1: number]>(
      `SELECT ${ENVELOPE_COLUMNS} FROM blocks
       WHERE mid = ? AND level = ? AND block BETWEEN ? AND ? ORDER BY block`,
    )
    .raw(true);
}
