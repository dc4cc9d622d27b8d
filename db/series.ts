// Reading metrics back: per-metric summaries, raw points, bucketed envelopes, and the full export.
import { encodeValue, type Bucket, type MetricSummary, type RawPoint, type WireValue } from '../protocol/index.js';
import {
  ENVELOPE_COLUMNS,
  LEVELS,
  addEnvelope,
  addPoint,
  blockSize,
  emptyEnvelope,
  envelopeFromRow,
  type Envelope,
  type RawBlock,
} from './blocks.js';
import type { Connection } from './connection.js';

export type SeriesResult = { mode: 'raw'; points: RawPoint[] } | { mode: 'buckets'; buckets: Bucket[] };

export interface ExportRow {
  metric: string;
  step: number;
  value: WireValue;
  wall: number;
}

type RawRow = [number, number | null, number];

const wire = (v: number | null): WireValue => encodeValue(v === null ? Number.NaN : v);

export class SeriesRepo {
  private readonly metricStmt;
  private readonly metricsOfRun;
  private readonly rangeStmt;
  private readonly lastInRange;
  private readonly firstStmt;
  private readonly lastStmt;
  private readonly blocksStmt;
  private readonly topBlocks;
  private readonly exportPage;

  constructor(db: Connection) {
    this.metricStmt = db.prepare<[number, string], { mid: number }>(
      'SELECT mid FROM metrics WHERE rid = ? AND name = ?',
    );
    this.metricsOfRun = db.prepare<[number], { mid: number; name: string }>(
      'SELECT mid, name FROM metrics WHERE rid = ? ORDER BY name',
    );
    this.rangeStmt = db
      .prepare<[number, number, number, number]>(
        'SELECT step, value, wall FROM points WHERE mid = ? AND step BETWEEN ? AND ? ORDER BY step LIMIT ?',
      )
      .raw(true);
    this.lastInRange = db.prepare<[number, number, number], { step: number }>(
      'SELECT step FROM points WHERE mid = ? AND step BETWEEN ? AND ? ORDER BY step DESC LIMIT 1',
    );
    this.firstStmt = db.prepare<[number], { step: number; value: number | null }>(
      'SELECT step, value FROM points WHERE mid = ? ORDER BY step LIMIT 1',
    );
    this.lastStmt = db.prepare<[number], { step: number; value: number | null }>(
      'SELECT step, value FROM points WHERE mid = ? ORDER BY step DESC LIMIT 1',
    );
    this.blocksStmt = db
      .prepare<[number, number, number, number]>(
        `SELECT ${ENVELOPE_COLUMNS} FROM blocks
         WHERE mid = ? AND level = ? AND block BETWEEN ? AND ? ORDER BY block`,
      )
      .raw(true);
    this.topBlocks = db
      .prepare<[number, number]>(`SELECT ${ENVELOPE_COLUMNS} FROM blocks WHERE mid = ? AND level = ? ORDER BY block`)
      .raw(true);
    this.exportPage = db
      .prepare<[number, number, number]>(
        'SELECT step, value, wall FROM points WHERE mid = ? AND step > ? ORDER BY step LIMIT ?',
      )
      .raw(true);
  }

  metricId(rid: number, name: string): number | null {
    return this.metricStmt.get(rid, name)?.mid ?? null;
  }

  /** Count, first/last step, last value and finite min/max of every metric of a run, read from the coarsest blocks. */
  summaries(rid: number): MetricSummary[] {
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

  /**
   * Raw points when [from, to] holds at most `buckets` of them; otherwise at most `buckets` envelopes of equal step width.
   * Bucket widths are whole multiples of a block size, so every bucket is assembled from exact block envelopes plus
   * at most two partial blocks read raw at the range's ends.
   */
  read(mid: number, buckets: number, from = 0, to = Number.MAX_SAFE_INTEGER): SeriesResult {
    const head = this.rangeStmt.all(mid, from, to, buckets + 1) as RawRow[];
    if (head.length <= buckets) return { mode: 'raw', points: head.map(([s, v, w]) => [s, wire(v), w]) };

    const lo = head[0]![0];
    const hi = this.lastInRange.get(mid, from, to)!.step;
    const width = Math.ceil((hi - lo + 1) / buckets);
    let level = 0;
    while (level < LEVELS && blockSize(level + 1) <= width) level++;
    const size = blockSize(level);
    const bucketWidth = Math.ceil(width / size) * size;
    const origin = Math.floor(lo / size) * size;

    const out = new Map<number, Envelope>();
    const bucketOf = (step: number): Envelope => {
      const i = Math.floor((step - origin) / bucketWidth);
      let env = out.get(i);
      if (!env) out.set(i, (env = emptyEnvelope(i)));
      return env;
    };
    const addRaw = (a: number, b: number): void => {
      if (a > b) return;
      for (const [s, v, w] of this.rangeStmt.iterate(mid, a, b, Number.MAX_SAFE_INTEGER) as Iterable<RawRow>)
        addPoint(bucketOf(s), s, v, w);
    };

    const firstFull = Math.ceil(lo / size);
    const lastFull = Math.floor((hi + 1) / size) - 1;
    if (level === 0 || firstFull > lastFull) {
      addRaw(lo, hi);
    } else {
      addRaw(lo, firstFull * size - 1);
      for (const row of this.blocksStmt.iterate(mid, level, firstFull, lastFull) as Iterable<RawBlock>) {
        const env = envelopeFromRow(row);
        addEnvelope(bucketOf(env.block * size), env);
      }
      addRaw((lastFull + 1) * size, hi);
    }

    const result: Bucket[] = [];
    for (const [i, e] of [...out.entries()].sort((a, b) => a[0] - b[0])) {
      result.push({
        start: Math.max(lo, origin + i * bucketWidth),
        end: Math.min(hi, origin + (i + 1) * bucketWidth - 1),
        min: e.vmin,
        max: e.vmax,
        mean: e.cnt > 0 ? e.vsum / e.cnt : null,
        last: e.vlast,
        count: e.cnt,
        nonfinite: e.nonfinite,
        wall: e.wall,
      });
    }
    return { mode: 'buckets', buckets: result };
  }

  /** Every point of a run, metric by metric in step order, in pages so a huge run streams without holding the connection. */
  async *exportRun(rid: number, pageSize = 5000): AsyncGenerator<ExportRow[]> {
    for (const { mid, name } of this.metricsOfRun.all(rid)) {
      let after = -1;
      for (;;) {
        const rows = this.exportPage.all(mid, after, pageSize) as RawRow[];
        if (rows.length === 0) break;
        yield rows.map(([step, v, wall]) => ({ metric: name, step, value: wire(v), wall }));
        after = rows[rows.length - 1]![0];
        if (rows.length < pageSize) break;
        await new Promise((r) => setImmediate(r));
      }
    }
  }
}
