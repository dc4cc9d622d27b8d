// The bucketed series read both stores share: raw points when few, else equal-width buckets assembled from exact block
// envelopes plus at most two partial blocks read raw. A store supplies the four reads; the arithmetic is here, once.
import { bucketGrid } from '../protocol/bucket-grid.js';
import { encodeValue, type Bucket, type RawPoint, type WireValue } from '../protocol/index.js';
import {
  addEnvelope,
  addPoint,
  blockSize,
  emptyEnvelope,
  envelopeFromRow,
  type Envelope,
  type RawBlock,
  type WrittenPoint,
} from './blocks.js';

export type SeriesResult = { mode: 'raw'; points: RawPoint[] } | { mode: 'buckets'; buckets: Bucket[] };

/** NaN is stored as NULL by SQLite and as NaN by PostgreSQL; both travel as "NaN". */
export const wire = (v: number | null): WireValue => encodeValue(v === null ? Number.NaN : v);

/** What a store reads for one metric's series (each in step or block order). */
export interface SeriesSource {
  /** Points with from ≤ step ≤ to, at most `limit` of them. */
  points(from: number, to: number, limit: number): Promise<WrittenPoint[]> | WrittenPoint[];
  /** The last step in [from, to] (called only when there is one). */
  lastStep(from: number, to: number): Promise<number> | number;
  /** Blocks of `level` numbered b0..b1, as rows in ENVELOPE_COLUMNS order. */
  blocks(level: number, b0: number, b1: number): Promise<RawBlock[]> | RawBlock[];
}

/**
 * Raw points when [from, to] holds at most `buckets` of them; otherwise at most `buckets` envelopes of equal step width.
 * Bucket widths are whole multiples of a block size, so every bucket is assembled from exact block envelopes plus
 * at most two partial blocks read raw at the range's ends.
 */
export async function readSeries(
  source: SeriesSource,
  buckets: number,
  from: number,
  to: number,
): Promise<SeriesResult> {
  const head = await source.points(from, to, buckets + 1);
  if (head.length <= buckets) return { mode: 'raw', points: head.map(([s, v, w]) => [s, wire(v), w]) };

  const lo = head[0]![0];
  const hi = await source.lastStep(from, to);
  const { level, width: bucketWidth, origin } = bucketGrid(lo, hi, buckets);
  const size = blockSize(level);

  const out = new Map<number, Envelope>();
  const bucketOf = (step: number): Envelope => {
    const i = Math.floor((step - origin) / bucketWidth);
    let env = out.get(i);
    if (!env) out.set(i, (env = emptyEnvelope(i)));
    return env;
  };
  const addRaw = async (a: number, b: number): Promise<void> => {
    if (a > b) return;
    for (const [s, v, w] of await source.points(a, b, Number.MAX_SAFE_INTEGER)) addPoint(bucketOf(s), s, v, w);
  };

  const firstFull = Math.ceil(lo / size);
  const lastFull = Math.floor((hi + 1) / size) - 1;
  if (level === 0 || firstFull > lastFull) {
    await addRaw(lo, hi);
  } else {
    await addRaw(lo, firstFull * size - 1);
    for (const row of await source.blocks(level, firstFull, lastFull)) {
      const env = envelopeFromRow(row);
      addEnvelope(bucketOf(env.block * size), env);
    }
    await addRaw((lastFull + 1) * size, hi);
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
