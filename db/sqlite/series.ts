// Reading metrics back from SQLite: per-metric summaries, raw points, bucketed envelopes, and the full export.
import type { MetricSummary } from '../../protocol/index.js';
import {
  ENVELOPE_COLUMNS,
  LEVELS,
  addEnvelope,
  emptyEnvelope,
  envelopeFromRow,
  type RawBlock,
  type WrittenPoint,
} from '../blocks.js';
import { readSeries, wire, type SeriesResult, type SeriesSource } from '../series-read.js';
import type { ExportRow, MetricRef, SeriesRepo } from '../store.js';
import type { Connection } from './connection.js';
import { prepareBlockRange, preparePointRange } from './ranges.js';

export class SqliteSeriesRepo implements SeriesRepo {
  private readonly metricStmt;
  private readonly metricsOfRun;
  private readonly rangeStmt;
  private readonly lastInRange;
  private readonly firstStmt;
  private readonly lastStmt;
  private readonly blocksStmt;
  private readonly topBlocks;
  private readonly exportPage;
  private readonly windowStmt;

  constructor(db: Connection) {
    this.metricStmt = db.prepare<[number, string], { mid: number }>(
      'SELECT mid FROM metrics WHERE rid = ? AND name = ?',
    );
    this.metricsOfRun = db.prepare<[number], { mid: number; name: string }>(
      'SELECT mid, name FROM metrics WHERE rid = ? ORDER BY name',
    );
    this.rangeStmt = preparePointRange(db);
    this.lastInRange = db.prepare<[number, number, number], { step: number }>(
      'SELECT step FROM points WHERE mid = ? AND step BETWEEN ? AND ? ORDER BY step DESC LIMIT 1',
    );
    this.firstStmt = db.prepare<[number], { step: number; value: number | null }>(
      'SELECT step, value FROM points WHERE mid = ? ORDER BY step LIMIT 1',
    );
    this.lastStmt = db.prepare<[number], { step: number; value: number | null }>(
      'SELECT step, value FROM points WHERE mid = ? ORDER BY step DESC LIMIT 1',
    );
    this.blocksStmt = prepareBlockRange(db);
    this.topBlocks = db
      .prepare<[number, number]>(`SELECT ${ENVELOPE_COLUMNS} FROM blocks WHERE mid = ? AND level = ? ORDER BY block`)
      .raw(true);
    this.exportPage = db
      .prepare<[number, number, number]>(
        'SELECT step, value, wall FROM points WHERE mid = ? AND step > ? ORDER BY step LIMIT ?',
      )
      .raw(true);
    this.windowStmt = db
      .prepare<[number, number, number]>(
        `SELECT p.step, m.name, p.value, p.wall FROM metrics m JOIN points p ON p.mid = m.mid
         WHERE m.rid = ? AND p.step >= ? AND p.step < ? ORDER BY p.step, m.name`,
      )
      .raw(true);
  }

  async metricId(rid: number, name: string): Promise<MetricRef | null> {
    const mid = this.metricStmt.get(rid, name)?.mid;
    return mid === undefined ? null : { rid, mid };
  }

  /** Count, first/last step, last value and finite min/max of every metric of a run, read from the coarsest blocks. */
  async summaries(rid: number): Promise<MetricSummary[]> {
    return this.metricsOfRun.all(rid).map(({ mid, name }) => {
      const total = emptyEnvelope(0);
      for (const row of this.topBlocks.iterate(mid, LEVELS) as Iterable<RawBlock>)
        addEnvelope(total, envelopeFromRow(row));
      const first = this.firstStmt.get(mid);
      const last = this.lastStmt.get(mid);
      return {
        name,
        count: total.cnt + total.nonfinite,
        first_step: first?.step ?? 0,
        last_step: last?.step ?? 0,
        last_value: wire(last ? last.value : null),
        min: total.vmin,
        max: total.vmax,
        nonfinite: total.nonfinite,
      };
    });
  }

  read(metric: MetricRef, buckets: number, from = 0, to = Number.MAX_SAFE_INTEGER): Promise<SeriesResult> {
    const { mid } = metric;
    const source: SeriesSource = {
      points: (a, b, limit) => this.rangeStmt.all(mid, a, b, limit) as WrittenPoint[],
      lastStep: (a, b) => this.lastInRange.get(mid, a, b)!.step,
      blocks: (level, b0, b1) => this.blocksStmt.all(mid, level, b0, b1) as RawBlock[],
    };
    return readSeries(source, buckets, from, to);
  }

  async window(rid: number, from: number, to: number): Promise<ExportRow[]> {
    return (this.windowStmt.all(rid, from, to) as Array<[number, string, number | null, number]>).map(
      ([step, metric, v, wall]) => ({ metric, step, value: wire(v), wall }),
    );
  }

  /** Every point of a run, metric by metric in step order, in pages so a huge run streams without holding the connection. */
  async *exportRun(rid: number, pageSize = 5000): AsyncGenerator<ExportRow[]> {
    for (const { mid, name } of this.metricsOfRun.all(rid)) {
      let after = -1;
      for (;;) {
        const rows = this.exportPage.all(mid, after, pageSize) as WrittenPoint[];
        if (rows.length === 0) break;
        yield rows.map(([step, v, wall]) => ({ metric: name, step, value: wire(v), wall }));
        after = rows[rows.length - 1]![0];
        if (rows.length < pageSize) break;
        await new Promise((r) => setImmediate(r));
      }
    }
  }
}
