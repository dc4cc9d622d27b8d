// Streaming statistics shared by the alert detectors (docs/detectors.md §0): ring buffers, median/MAD and
// quantiles by selection, robust z, EWMA, block means, Mann-Kendall Z, linear detrend, lag-1 autocorrelation, a real
// periodogram by radix-2 FFT, and Fisher's g with its critical value. Everything works on Float64Array scratch space
// so that a detector allocates nothing per point.

/** MAD × 1.4826 estimates σ for normal data; 0.6745 = 1/1.4826 is the modified-z factor (Iglewicz & Hoaglin). */
export const MAD_TO_SIGMA = 1.4826;
export const MODIFIED_Z = 0.6745;

/** The MAD floor of §0: max(MAD, 1e-3·|median|, 1e-12), so a constant series does not divide by zero. */
export function madFloor(mad: number, median: number): number {
  return Math.max(mad, 1e-3 * Math.abs(median), 1e-12);
}

/** Modified z-score 0.6745·(x − median)/MAD with the MAD floor. */
export function robustZ(x: number, median: number, mad: number): number {
  return (MODIFIED_Z * (x - median)) / madFloor(mad, median);
}

/** A fixed-capacity FIFO of numbers; index 0 is the oldest. */
export class Ring {
  readonly capacity: number;
  private readonly buf: Float64Array;
  private head = 0;
  private n = 0;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`ring capacity must be ≥ 1, got ${capacity}`);
    this.capacity = Math.floor(capacity);
    this.buf = new Float64Array(this.capacity);
  }

  get size(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n === this.capacity;
  }

  push(x: number): void {
    this.buf[this.head] = x;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    if (this.n < this.capacity) this.n++;
  }

  /** The i-th oldest value (0 ≤ i < size). */
  get(i: number): number {
    let j = this.head - this.n + i;
    if (j < 0) j += this.capacity;
    return this.buf[j] as number;
  }

  /** The newest value (NaN when empty). */
  last(): number {
    return this.n === 0 ? Number.NaN : this.get(this.n - 1);
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
  }

  /** Copies the newest `count` values (default all), oldest first, into `out`; returns how many. */
  copyTo(out: Float64Array, count = this.n): number {
    const m = Math.min(count, this.n, out.length);
    const start = this.n - m;
    for (let i = 0; i < m; i++) out[i] = this.get(start + i);
    return m;
  }
}

/**
 * Rearranges a[0..n) so that a[k] is the k-th smallest (Hoare selection); returns a[k]. The pivot is the median of the
 * values at 1/4, 1/2 and 3/4 of the range, which stays O(n) on sorted input and on the V-shaped |x − median| arrays
 * a MAD selects from (a median of the ends and the middle degrades there).
 */
export function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const q = (hi - lo) >> 2;
    let x = a[lo + q] as number;
    let y = a[(lo + hi) >> 1] as number;
    const z = a[hi - q] as number;
    if (x > y) [x, y] = [y, x];
    if (y > z) y = z;
    if (x > y) y = x; // only the median of the three is needed
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] as number;
}

/** Quantile q ∈ [0, 1] of a[0..n) with linear interpolation (type 7); reorders a. NaN when n = 0. */
export function quantileInPlace(a: Float64Array, n: number, q: number): number {
  if (n === 0) return Number.NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const k = Math.floor(h);
  const lo = select(a, n, k);
  if (k + 1 >= n || h === k) return lo;
  let next = Infinity;
  for (let i = k + 1; i < n; i++) if ((a[i] as number) < next) next = a[i] as number;
  return lo + (h - k) * (next - lo);
}

/** Median of a[0..n); reorders a. */
export function medianInPlace(a: Float64Array, n: number): number {
  return quantileInPlace(a, n, 0.5);
}

export interface MedianMad {
  median: number;
  mad: number;
}

/** Median and MAD (unscaled) of a[0..n); overwrites a. */
export function medianMadInPlace(a: Float64Array, n: number): MedianMad {
  if (n === 0) return { median: Number.NaN, mad: Number.NaN };
  const median = medianInPlace(a, n);
  for (let i = 0; i < n; i++) a[i] = Math.abs((a[i] as number) - median);
  return { median, mad: medianInPlace(a, n) };
}

/** Median and MAD of a ring's newest `count` values, using `scratch` (≥ count long). */
export function ringMedianMad(ring: Ring, scratch: Float64Array, count = ring.size): MedianMad {
  return medianMadInPlace(scratch, ring.copyTo(scratch, count));
}

/** Exponentially weighted moving average with span N (α = 2/(N+1)); the first value seeds it. */
export class Ewma {
  readonly alpha: number;
  value = Number.NaN;
  count = 0;

  constructor(span: number) {
    this.alpha = 2 / (span + 1);
  }

  push(x: number): number {
    this.value = this.count === 0 ? x : this.value + this.alpha * (x - this.value);
    this.count++;
    return this.value;
  }

  reset(): void {
    this.value = Number.NaN;
    this.count = 0;
  }
}

/** Means of non-overlapping groups of b points, the newest `capacity` kept in a ring. */
export class BlockMeans {
  readonly b: number;
  readonly blocks: Ring;
  private sum = 0;
  private n = 0;

  constructor(b: number, capacity: number) {
    this.b = Math.max(1, Math.floor(b));
    this.blocks = new Ring(capacity);
  }

  /** Adds a point; returns the block mean when this point completed a block, else null. */
  push(x: number): number | null {
    this.sum += x;
    this.n++;
    if (this.n < this.b) return null;
    const mean = this.sum / this.n;
    this.blocks.push(mean);
    this.sum = 0;
    this.n = 0;
    return mean;
  }

  /** Points in the unfinished block. */
  get partial(): number {
    return this.n;
  }

  clear(): void {
    this.blocks.clear();
    this.sum = 0;
    this.n = 0;
  }
}

/**
 * Mann-Kendall trend statistic Z of x[0..n): S = Σ_{i<j} sign(x_j − x_i), Var S = n(n−1)(2n+5)/18 (no tie
 * correction), Z = (S ∓ 1)/√Var (continuity correction). Positive Z = upward trend. O(n²); n is ≤ 60 here.
 */
export function mannKendallZ(x: ArrayLike<number>, n = x.length): number {
  if (n < 3) return 0;
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    const xi = x[i] as number;
    for (let j = i + 1; j < n; j++) {
      const d = (x[j] as number) - xi;
      s += d > 0 ? 1 : d < 0 ? -1 : 0;
    }
  }
  const sd = Math.sqrt((n * (n - 1) * (2 * n + 5)) / 18);
  return s > 0 ? (s - 1) / sd : s < 0 ? (s + 1) / sd : 0;
}

/** Mann-Kendall Z of a ring's newest `count` values. */
export function ringMannKendallZ(ring: Ring, scratch: Float64Array, count = ring.size): number {
  return mannKendallZ(scratch, ring.copyTo(scratch, count));
}

/** Writes y[0..n) minus its least-squares line into out (may alias y); returns the slope per index. */
export function detrendLinear(y: ArrayLike<number>, n: number, out: Float64Array): number {
  if (n === 0) return 0;
  const tMean = (n - 1) / 2;
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += y[i] as number;
  yMean /= n;
  let sty = 0;
  let stt = 0;
  for (let i = 0; i < n; i++) {
    const dt = i - tMean;
    sty += dt * ((y[i] as number) - yMean);
    stt += dt * dt;
  }
  const slope = stt > 0 ? sty / stt : 0;
  for (let i = 0; i < n; i++) out[i] = (y[i] as number) - yMean - slope * (i - tMean);
  return slope;
}

export function mean(y: ArrayLike<number>, n = y.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += y[i] as number;
  return n > 0 ? s / n : Number.NaN;
}

/** Population standard deviation of y[0..n). */
export function std(y: ArrayLike<number>, n = y.length): number {
  const m = mean(y, n);
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (y[i] as number) - m;
    ss += d * d;
  }
  return n > 0 ? Math.sqrt(ss / n) : Number.NaN;
}

/** Lag-1 autocorrelation Σ(y_t − ȳ)(y_{t−1} − ȳ) / Σ(y_t − ȳ)²; 0 for a constant series. */
export function lag1Autocorr(y: ArrayLike<number>, n = y.length): number {
  if (n < 3) return 0;
  const m = mean(y, n);
  let num = 0;
  let den = 0;
  let prev = (y[0] as number) - m;
  den += prev * prev;
  for (let i = 1; i < n; i++) {
    const d = (y[i] as number) - m;
    num += d * prev;
    den += d * d;
    prev = d;
  }
  return den > 0 ? num / den : 0;
}

/** Periodogram of a real series of fixed power-of-two length n by an in-place radix-2 FFT: P_k = |X_k|²/n, k = 0..n/2. */
export class Periodogram {
  readonly n: number;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;

  constructor(n: number) {
    if (n < 2 || (n & (n - 1)) !== 0) throw new RangeError(`periodogram length must be a power of two, got ${n}`);
    this.n = n;
    this.re = new Float64Array(n);
    this.im = new Float64Array(n);
    this.cos = new Float64Array(n / 2);
    this.sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / n);
      this.sin[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    this.rev = new Uint32Array(n);
    const bits = Math.log2(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  /** Fills out[0..n/2] with the periodogram of x[0..n). */
  compute(x: ArrayLike<number>, out: Float64Array): void {
    const { n, re, im, cos, sin, rev } = this;
    for (let i = 0; i < n; i++) {
      re[rev[i] as number] = x[i] as number;
      im[i] = 0;
    }
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let j = 0; j < half; j++) {
          const wr = cos[j * step] as number;
          const wi = sin[j * step] as number;
          const a = start + j;
          const b = a + half;
          const br = re[b] as number;
          const bi = im[b] as number;
          const tr = wr * br - wi * bi;
          const ti = wr * bi + wi * br;
          re[b] = (re[a] as number) - tr;
          im[b] = (im[a] as number) - ti;
          re[a] = (re[a] as number) + tr;
          im[a] = (im[a] as number) + ti;
        }
      }
    }
    for (let k = 0; k <= n / 2; k++) out[k] = ((re[k] as number) ** 2 + (im[k] as number) ** 2) / n;
  }
}

export interface FisherG {
  /** max P_k / Σ P_k over the bins considered (0 when the sum is 0). */
  g: number;
  /** The bin of the maximum (−1 when none). */
  k: number;
}

/** Fisher's g over bins kFrom..kTo of a periodogram, leaving out bins for which `skip(k)` is true. */
export function fisherG(p: ArrayLike<number>, kFrom: number, kTo: number, skip?: (k: number) => boolean): FisherG {
  let max = 0;
  let arg = -1;
  let sum = 0;
  for (let k = kFrom; k <= kTo; k++) {
    if (skip?.(k)) continue;
    const v = p[k] as number;
    sum += v;
    if (v > max) {
      max = v;
      arg = k;
    }
  }
  return { g: sum > 0 ? max / sum : 0, k: arg };
}

/** Critical g of Fisher's test for m bins at level α, from p ≈ m(1 − g)^(m−1): 127 bins, α = 0.001 → 0.0891. */
export function fisherGCritical(m: number, alpha: number): number {
  return 1 - Math.pow(alpha / m, 1 / (m - 1));
}
