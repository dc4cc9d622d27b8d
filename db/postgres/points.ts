// Writing metric points on PostgreSQL: the server prepares a batch (point-batch.ts) and writes it with one call of
// gw_write_points (db/postgres/migrations, 010), so one statement, one transaction and one round trip: metrics created,
// values stored in their blocks' slots, touched envelopes and summaries brought up to date, the run touched. Resolves
// after the commit.
import type pg from 'pg';
import { gwError, type Point } from '../../protocol/index.js';
import type { Envelope } from '../blocks.js';
import type { PointsRepo, RunRef } from '../store.js';
import { preparePointBatch, slotColumns, type Level1Block } from './point-batch.js';
import { float8Array, mapError, numberArray } from './pool.js';

const WRITE_POINTS = `SELECT gw_write_points(${Array.from({ length: 25 }, (_, i) => `$${i + 1}`).join(', ')})`;

export class PgPointsRepo implements PointsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async write(
    run: Pick<RunRef, 'rid' | 'id'>,
    points: readonly Point[],
    serverWall = Date.now() / 1000,
  ): Promise<number> {
    const b = preparePointBatch(points, serverWall);
    // Doubles go in binary: printing and parsing them as text cost both sides more than the rest of the write did.
    // Integers print cheaply. b.blocks holds the level-1 blocks first, in the order of their slots.
    const ints = (pick: (e: Envelope) => number | null): string => numberArray(b.blocks.map((x) => pick(x.envelope)));
    const floats = (pick: (e: Envelope) => number | null): Buffer => float8Array(b.blocks.map((x) => pick(x.envelope)));
    const slots = slotColumns(b.blocks.filter((x): x is Level1Block => x.level === 1));
    try {
      await this.pool.query(WRITE_POINTS, [
        run.rid,
        b.names,
        b.highestStep,
        Date.now() / 1000,
        numberArray(b.firstStep),
        numberArray(b.lastStep),
        float8Array(b.lastValue),
        numberArray(b.minStep),
        float8Array(b.minValue),
        numberArray(b.maxStep),
        float8Array(b.maxValue),
        numberArray(b.blocks.map((x) => x.metric)),
        numberArray(b.blocks.map((x) => x.level)),
        ints((e) => e.block),
        ints((e) => e.cnt),
        ints((e) => e.nonfinite),
        floats((e) => e.vmin),
        floats((e) => e.vmax),
        floats((e) => e.vsum),
        floats((e) => e.vlast),
        ints((e) => e.lastStep),
        floats((e) => e.wall),
        numberArray(slots.mask),
        float8Array(slots.values),
        float8Array(slots.walls),
      ]);
    } catch (err) {
      if ((err as { code?: string }).code === 'GW404') throw gwError('GW_ERR_RUN_NOT_FOUND', run.id);
      throw mapError(err);
    }
    return b.received;
  }
}
