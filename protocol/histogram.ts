// The arithmetic of distributions (histograms of a named quantity at one step), shared by the trainer, the clients,
// the server and the browser. No schema library here, so the web bundle may import it directly.

/** Buckets a client uses when it is not told otherwise: fine enough for a band chart, 64 numbers per step. */
export const DEFAULT_HISTOGRAM_BUCKETS = 64;

/**
 * A histogram of one quantity at one step. `edges` has one more entry than `counts`; bucket i holds the values in
 * [edges[i], edges[i+1]) and the last bucket also holds its right edge, so edges[0] and edges[n] are the exact min
 * and max of the finite values. Non-finite values are not bucketed; `nonFinite` counts them, since a D whose outputs
 * went NaN is itself what the user must see.
 */
export interface Histogram {
  edges: number[];
  counts: number[];
  nonFinite: number;
}

/** Equal-width buckets over the finite values' range; a single distinct value gets one zero-width bucket. */
export function histogramOf(values: ArrayLike<number>, buckets = DEFAULT_HISTOGRAM_BUCKETS): Histogram {
  let min = Infinity;
  let max = -Infinity;
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) nonFinite++;
    else {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (min === Infinity) return { edges: [], counts: [], nonFinite };
  const n = max === min ? 1 : Math.max(1, Math.floor(buckets));
  const width = (max - min) / n;
  const edges = Array.from({ length: n + 1 }, (_, i) => (i === n ? max : min + i * width));
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) counts[width === 0 ? 0 : Math.min(n - 1, Math.floor((v - min) / width))]!++;
  }
  return { edges, counts, nonFinite };
}

/**
 * What is wrong with a histogram's shape, or null: counts are non-negative integers, one per bucket, and the edges
 * are finite and non-decreasing (equal only for a one-bucket histogram of a single value).
 */
export function histogramProblem(h: Histogram): string | null {
  if (h.counts.length === 0) return h.edges.length === 0 ? null : 'edges without counts';
  if (h.edges.length !== h.counts.length + 1) {
    return `has ${h.edges.length} edges for ${h.counts.length} counts (edges must be one more than counts)`;
  }
  for (let i = 0; i < h.edges.length; i++) {
    if (!Number.isFinite(h.edges[i])) return `edge ${i} is not a finite number`;
    if (i > 0 && h.edges[i]! < h.edges[i - 1]!) return `edge ${i} is smaller than edge ${i - 1}`;
    if (i > 0 && h.edges[i] === h.edges[i - 1] && h.counts.length > 1) return `bucket ${i - 1} has zero width`;
  }
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i]!;
    if (!Number.isInteger(c) || c < 0) return `count ${i} is not a non-negative integer`;
  }
  return null;
}

/** Total finite values a histogram holds. */
export function histogramTotal(h: Histogram): number {
  let total = 0;
  for (const c of h.counts) total += c;
  return total;
}

/**
 * The value below which a fraction q of the finite values lies, interpolated linearly inside its bucket (values are
 * assumed spread evenly within a bucket). q = 0 and q = 1 are the exact min and max. NaN for an empty histogram.
 */
export function histogramQuantile(h: Histogram, q: number): number {
  const total = histogramTotal(h);
  if (total === 0) return Number.NaN;
  if (q <= 0) return h.edges[0]!;
  if (q >= 1) return h.edges[h.edges.length - 1]!;
  const target = q * total;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i]!;
    if (c > 0 && below + c >= target) {
      const lo = h.edges[i]!;
      const hi = h.edges[i + 1]!;
      return lo + ((target - below) / c) * (hi - lo);
    }
    below += c;
  }
  return h.edges[h.edges.length - 1]!;
}
