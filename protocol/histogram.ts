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

/** Quantiles at which histogramSeparation compares two histograms: enough that one bucket in 64 still counts. */
const SEPARATION_QUANTILES = 128;

/**
 * The probability that a value drawn from `high` exceeds one drawn from `low` (ties count half): the area under the
 * ROC curve of a classifier that scores `high` above `low`, e.g. a discriminator's verdicts on real (high) and fake
 * (low) patches. 1 = the two never overlap, 0.5 = indistinguishable. Computed on 128 evenly spaced quantiles of each
 * (values assumed spread evenly within a bucket), so it is exact to about 1/128. NaN when either is empty.
 */
export function histogramSeparation(high: Histogram, low: Histogram): number {
  if (histogramTotal(high) === 0 || histogramTotal(low) === 0) return Number.NaN;
  const n = SEPARATION_QUANTILES;
  const at = (h: Histogram): Float64Array =>
    Float64Array.from({ length: n }, (_, k) => histogramQuantile(h, (k + 0.5) / n));
  const a = at(high);
  const b = at(low);
  // Both are sorted: for each a[i], count the b below it and equal to it with two pointers.
  let wins = 0;
  let below = 0;
  let notAbove = 0;
  for (let i = 0; i < n; i++) {
    while (below < n && b[below]! < a[i]!) below++;
    while (notAbove < n && b[notAbove]! <= a[i]!) notAbove++;
    wins += below + 0.5 * (notAbove - below);
  }
  return wins / (n * n);
}

/** The target bucket holding x: equal-width buckets of `width` from `lo`, the last one closed. */
function bucketOf(x: number, lo: number, width: number, n: number): number {
  if (width === 0) return 0;
  const i = Math.floor((x - lo) / width);
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** Splits `count` over the target buckets in proportion to their overlap with [a, b], as integers summing to it. */
function spread(count: number, a: number, b: number, lo: number, width: number, into: number[]): void {
  const n = into.length;
  const first = bucketOf(a, lo, width, n);
  const last = b === a ? first : bucketOf(b, lo, width, n);
  if (first === last) {
    into[first]! += count;
    return;
  }
  // Cumulative rounding: each target gets round(F(end)) - round(F(start)), so the parts are integers summing to count.
  const perUnit = count / (b - a);
  let given = 0;
  for (let j = first; j < last; j++) {
    const upTo = Math.round(perUnit * (lo + (j + 1) * width - a));
    into[j]! += upTo - given;
    given = upTo;
  }
  into[last]! += count - given;
}

/**
 * One histogram holding every value of `parts` (consecutive steps merged for a downsampled read): its edges are
 * `buckets` equal-width buckets over the parts' overall min..max (default: the most buckets any part has), each
 * part's counts are rebinned onto them in proportion to overlap (as integers: totals are preserved exactly), and the
 * buckets holding the overall min and max are never left empty, so the extremes stay visible. Non-finite counts add.
 */
export function mergeHistograms(parts: readonly Histogram[], buckets?: number): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  let nonFinite = 0;
  let most = 1;
  for (const h of parts) {
    nonFinite += h.nonFinite;
    if (h.counts.length === 0 || histogramTotal(h) === 0) continue;
    lo = Math.min(lo, h.edges[0]!);
    hi = Math.max(hi, h.edges[h.edges.length - 1]!);
    most = Math.max(most, h.counts.length);
  }
  if (lo === Infinity) return { edges: [], counts: [], nonFinite };
  const n = hi === lo ? 1 : Math.max(1, Math.floor(buckets ?? most));
  const width = (hi - lo) / n;
  const edges = Array.from({ length: n + 1 }, (_, i) => (i === n ? hi : lo + i * width));
  const counts = new Array<number>(n).fill(0);
  let minHeld = false;
  let maxHeld = false;
  for (const h of parts) {
    for (let i = 0; i < h.counts.length; i++) {
      const c = h.counts[i]!;
      if (c === 0) continue;
      const a = h.edges[i]!;
      const b = h.edges[i + 1]!;
      if (a === lo) minHeld = true;
      if (b === hi) maxHeld = true;
      spread(c, a, b, lo, width, counts);
    }
  }
  if (minHeld) keepExtreme(counts, 0);
  if (maxHeld) keepExtreme(counts, n - 1);
  return { edges, counts, nonFinite };
}

/** Moves one value into the empty end bucket `at` from the nearest non-empty bucket (rounding may have moved it). */
function keepExtreme(counts: number[], at: number): void {
  if (counts[at]! > 0) return;
  const step = at === 0 ? 1 : -1;
  for (let j = at + step; j >= 0 && j < counts.length; j += step) {
    if (counts[j]! > 0) {
      counts[j]!--;
      counts[at]!++;
      return;
    }
  }
}
