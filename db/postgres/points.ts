// Writing metric points on PostgreSQL: the server prepares a batch (point-batch.ts) and writes it with one call of
// gw_write_points (db/postgres/migrations, 010), so one statement, one transaction and one round trip: metrics created,
// values stored in their blocks' slots, touched envelopes and summaries brought up to date, the run touched. Resolves
// after the commit.
import type pg from 'pg';
import { gwError, type Point } from '../../protocol/index.js';
import type { Envelope } from '../blocks.js';
import type { PointsRepo, RunRef } from '../store.js';
import { preparePointBatch, type Level1Block } from './point-batch.js';
import { mapError, numberArray } from './pool.js';

const WRITE_POINTS = `SELECT gw_write_points(${Array.from({ length: 24 }, (_, i) => `$${i + 1}`).join(', ')})`;

export class PgPointsRepo implements PointsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async write(
    run: Pick<RunRef, 'rid' | 'id'>,
    points: readonly Point[],
    serverWall = Date.now() / 1000,
  ): Promise<number> {
    const b = preparePointBatch(points, serverWall);
    const column = (pick: (e: Envelope) => number | null): string => numberArray(b.blocks.map((x) => pick(x.envelope)));
    const slots = (pick: (x: Level1Block) => Array<number | null>): Array<string | null> =>
      b.blocks.map((x) => (x.level === 1 ? numberArray(pick(x)) : null));
    try {
      await this.pool.query(WRITE_POINTS, [
        run.rid,
        b.names,
        b.highestStep,
        Date.now() / 1000,
        numberArray(b.firstStep),
        numberArray(b.lastStep),
        numberArray(b.lastValue),
        numberArray(b.minStep),
        numberArray(b.minValue),
        numberArray(b.maxStep),
        numberArray(b.maxValue),
        numberArray(b.blocks.map((x) => x.metric)),
        numberArray(b.blocks.map((x) => x.level)),
        column((e) => e.block),
        column((e) => e.cnt),
        column((e) => e.nonfinite),
        column((e) => e.vmin),
        column((e) => e.vmax),
        column((e) => e.vsum),
        column((e) => e.vlast),
        column((e) => e.lastStep),
        column((e) => e.wall),
        slots((x) => x.values),
        slots((x) => x.walls),
      ]);
    } catch (err) {
      if ((err as { code?: string }).code === 'GW404') throw gwError('GW_ERR_RUN_NOT_FOUND', run.id);
      throw mapError(err);
    }
    return b.received;
  }
}
