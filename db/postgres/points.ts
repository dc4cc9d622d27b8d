// Writing metric points on PostgreSQL: a batch is one call of gw_write_points (db/postgres/migrations), so one
// statement, one transaction and one round trip: metrics created, values upserted from arrays, every touched block
// envelope recomputed in SQL, the run touched. Resolves after the commit.
import type pg from 'pg';
import { decodeValue, gwError, type Point } from '../../protocol/index.js';
import type { PointsRepo, RunRef } from '../store.js';
import { mapError, numberArray } from './pool.js';

export class PgPointsRepo implements PointsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async write(
    run: Pick<RunRef, 'rid' | 'id'>,
    points: readonly Point[],
    serverWall = Date.now() / 1000,
  ): Promise<number> {
    const names: string[] = [];
    const index = new Map<string, number>();
    const metric: number[] = [];
    const step: number[] = [];
    const value: number[] = [];
    const wall: number[] = [];
    let maxStep = -1;
    for (const p of points) {
      const w = p.wall ?? serverWall;
      if (p.step > maxStep) maxStep = p.step;
      for (const name in p.values) {
        let i = index.get(name);
        if (i === undefined) index.set(name, (i = names.push(name)));
        metric.push(i);
        step.push(p.step);
        value.push(decodeValue(p.values[name]!));
        wall.push(w);
      }
    }
    try {
      await this.pool.query('SELECT gw_write_points($1, $2, $3, $4, $5, $6, $7, $8)', [
        run.rid,
        names,
        numberArray(metric),
        numberArray(step),
        numberArray(value),
        numberArray(wall),
        maxStep,
        Date.now() / 1000,
      ]);
    } catch (err) {
      if ((err as { code?: string }).code === 'GW404') throw gwError('GW_ERR_RUN_NOT_FOUND', run.id);
      throw mapError(err);
    }
    return value.length;
  }
}
