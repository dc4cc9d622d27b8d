// Distributions as stored rows, the same on SQLite and PostgreSQL: one row per (run, name, step). Equal-width edges
// (what every client sends) are kept as just their min and max; other edges as Float64 bytes. Counts are Uint32
// bytes, or Float64 bytes when one exceeds 2^32 - 1 (the blob's length per bucket tells which). 64 buckets cost 256
// bytes of counts and no edge bytes. Reads merge consecutive rows down to `max` records (protocol/histogram.ts).
import {
  histogramTotal,
  mergeHistograms,
  type Distribution,
  type DistributionRecord,
  type Histogram,
} from '../protocol/index.js';

/** The columns of one stored distribution. */
export interface DistributionRow {
  step: number;
  wall: number;
  buckets: number;
  /** Null for an empty histogram (no finite values). */
  lo: number | null;
  hi: number | null;
  /** Null when the edges are equal-width over lo..hi. */
  edges: Buffer | null;
  counts: Buffer;
  non_finite: number;
  total: number;
}

/** The edges histogramOf would make over lo..hi with n buckets (the exact same arithmetic, so a round trip is exact). */
function equalEdges(lo: number, hi: number, n: number): number[] {
  const width = (hi - lo) / n;
  const edges = new Array<number>(n + 1);
  for (let i = 0; i < n; i++) edges[i] = lo + i * width;
  edges[n] = hi;
  return edges;
}

function isEqualWidth(edges: readonly number[]): boolean {
  const n = edges.length - 1;
  const expected = equalEdges(edges[0]!, edges[n]!, n);
  for (let i = 0; i <= n; i++) if (!Object.is(edges[i], expected[i])) return false;
  return true;
}

function packCounts(counts: readonly number[]): Buffer {
  const wide = counts.some((c) => c > 0xffffffff);
  const buf = Buffer.allocUnsafe(counts.length * (wide ? 8 : 4));
  if (wide) for (let i = 0; i < counts.length; i++) buf.writeDoubleLE(counts[i]!, i * 8);
  else for (let i = 0; i < counts.length; i++) buf.writeUInt32LE(counts[i]!, i * 4);
  return buf;
}

// Read value by value: a Buffer's bytes need not be aligned for a typed-array view, and copying them costs more.
function unpackCounts(buf: Buffer, n: number): number[] {
  const counts = new Array<number>(n);
  if (buf.length === n * 8) for (let i = 0; i < n; i++) counts[i] = buf.readDoubleLE(i * 8);
  else for (let i = 0; i < n; i++) counts[i] = buf.readUInt32LE(i * 4);
  return counts;
}

function packEdges(edges: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(edges.length * 8);
  for (let i = 0; i < edges.length; i++) buf.writeDoubleLE(edges[i]!, i * 8);
  return buf;
}

function unpackEdges(buf: Buffer, n: number): number[] {
  const edges = new Array<number>(n + 1);
  for (let i = 0; i <= n; i++) edges[i] = buf.readDoubleLE(i * 8);
  return edges;
}

/** A validated record as its row; `serverWall` when the record has no wall time. */
export function packDistribution(d: Distribution, serverWall: number): DistributionRow & { name: string } {
  const n = d.counts.length;
  const edges = n === 0 || isEqualWidth(d.edges) ? null : packEdges(d.edges);
  return {
    name: d.name,
    step: d.step,
    wall: d.wall ?? serverWall,
    buckets: n,
    lo: n === 0 ? null : d.edges[0]!,
    hi: n === 0 ? null : d.edges[n]!,
    edges,
    counts: packCounts(d.counts),
    non_finite: d.nonFinite ?? 0,
    total: histogramTotal({ edges: d.edges, counts: d.counts, nonFinite: 0 }),
  };
}

export function unpackHistogram(row: DistributionRow): Histogram {
  const n = row.buckets;
  let edges: number[] = [];
  if (n > 0) {
    edges = row.edges ? unpackEdges(row.edges, n) : equalEdges(row.lo!, row.hi!, n);
  }
  return { edges, counts: unpackCounts(row.counts, n), nonFinite: row.non_finite };
}

/** A stored row as an export record (the wire's Distribution with its wall time). */
export function rowToDistribution(name: string, row: DistributionRow): Distribution & { wall: number } {
  const h = unpackHistogram(row);
  return { name, step: row.step, wall: row.wall, edges: h.edges, counts: h.counts, nonFinite: h.nonFinite };
}

/**
 * Turns the `stored` rows of a range, in step order, into at most `max` records: consecutive rows are merged in
 * groups of nearly equal size (group g takes rows [floor(g·stored/max), floor((g+1)·stored/max))). Rows are consumed
 * as they come, so memory holds one group, however long the range.
 */
export class Downsampler {
  readonly records: DistributionRecord[] = [];
  private group: DistributionRow[] = [];
  private index = 0;
  private g = 0;

  constructor(
    private readonly stored: number,
    private readonly max: number,
  ) {}

  get downsampled(): boolean {
    return this.stored > this.max;
  }

  add(row: DistributionRow): void {
    if (!this.downsampled) {
      const h = unpackHistogram(row);
      this.records.push({ step: row.step, fromStep: row.step, toStep: row.step, merged: 1, wall: row.wall, ...h });
      return;
    }
    this.group.push(row);
    this.index++;
    if (this.index >= Math.floor(((this.g + 1) * this.stored) / this.max)) this.closeGroup();
  }

  /** Call after the last row (a range that shrank between the count and the read still ends its group). */
  finish(): DistributionRecord[] {
    if (this.group.length > 0) this.closeGroup();
    return this.records;
  }

  private closeGroup(): void {
    const rows = this.group;
    this.group = [];
    this.g++;
    if (rows.length === 0) return;
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const h = mergeHistograms(rows.map(unpackHistogram));
    this.records.push({
      step: last.step,
      fromStep: first.step,
      toStep: last.step,
      merged: rows.length,
      wall: last.wall,
      ...h,
    });
  }
}

/** The batch as rows, a later record of the same name and step replacing an earlier one (as a second write would). */
export function packBatch(
  records: readonly Distribution[],
  serverWall: number,
): Array<DistributionRow & { name: string }> {
  const byKey = new Map<string, DistributionRow & { name: string }>();
  for (const d of records) byKey.set(`${d.step}\u0000${d.name}`, packDistribution(d, serverWall));
  return [...byKey.values()];
}

/**
 * The consistency check's query (the same SQL on SQLite and PostgreSQL): rows whose packed bytes do not match their
 * bucket count, with one example.
 */
export const DISTRIBUTION_PROBLEMS_SQL = `SELECT count(*) AS n, min('run ' || rid || ' ' || name || ' step ' || step) AS example
  FROM distributions
  WHERE length(counts) NOT IN (4 * buckets, 8 * buckets)
     OR (edges IS NOT NULL AND length(edges) <> 8 * (buckets + 1))
     OR (buckets > 0 AND (lo IS NULL OR hi IS NULL OR lo > hi))`;

/** The check's line for `n` bad rows, or null. */
export function distributionProblem(n: number, example: string | null): string | null {
  return n > 0 ? `${n} distributions have packed bytes that do not match their bucket count (e.g. ${example})` : null;
}
