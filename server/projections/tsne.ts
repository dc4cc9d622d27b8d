// Barnes-Hut t-SNE (van der Maaten 2014) on typed arrays: the projection the dashboard's latent-space view draws.
//
// Why a hand-written one: tsne-js, the library the project started with, computes the exact O(N²) gradient through
// ndarray and needs ~63 s for 1,000 8-d points; the other t-SNEs on npm (@keckelt/tsne, druidjs) are exact too
// (10 s and 2.3 s for 1,000 points, and quadratic beyond). No maintained Barnes-Hut or FFT-accelerated t-SNE is
// published on npm. This one follows the reference bhtsne and openTSNE choices:
//   - affinities on a sparse k-NN graph (k = 3·perplexity, exact neighbours), σ_i by binary search on the entropy,
//     P symmetrised and normalised;
//   - 2-D embedding optimised by gradient descent with momentum (0.5, then 0.8) and per-coordinate gains, early
//     exaggeration 12 for the first 250 iterations, learning rate max(200, N/12) (Belkina et al. 2019);
//   - repulsive forces from a quadtree with the Barnes-Hut criterion of bhtsne: a cell is taken as one point when
//     its half-width / distance < θ = 0.5 (scikit-learn and openTSNE measure the full width, so this is their θ = 1;
//     on 2,000 codes it costs a third less time than their θ = 0.5 for the same trustworthiness, see bench/tsne.ts).
// The initial layout is the first two principal components rescaled to a standard deviation of 1e-4 as in
// openTSNE, or a given layout (the previous epoch's embedding, continued at its own scale without exaggeration, so
// successive pictures stay alike), plus a tiny seeded jitter so that identical codes do not start on one spot.
// Same input and seed → same output.
import { pca2d } from './pca.js';
import { gaussian, seededRandom } from './random.js';

export interface TsneOptions {
  /** Effective number of neighbours (default 30); capped at (N − 1)/3. */
  perplexity?: number;
  /** Total gradient-descent iterations (default 750: 250 exaggerated, then 500, as openTSNE). */
  iterations?: number;
  /** Early exaggeration factor (default 12) and how many iterations it lasts (default 250). */
  exaggeration?: number;
  exaggerationIterations?: number;
  /** Barnes-Hut accuracy: a cell is summarised when its half-width / distance < θ (bhtsne; default 0.5; 0 = exact). */
  theta?: number;
  /** Default max(200, N/12). */
  learningRate?: number;
  /** Seed for the jitter (and the random start when init is 'random'). Default 1. */
  seed?: number;
  /** 'pca' (default), 'random', or a starting layout of N × 2 values (row-major). */
  init?: 'pca' | 'random' | Float32Array | Float64Array;
  /**
   * Shrink a given starting layout to a standard deviation of 1e-4 first (default true). False keeps its scale,
   * for continuing from a converged layout (e.g. the previous epoch's) with exaggerationIterations 0.
   */
  rescaleInit?: boolean;
  /** The affinities of an earlier call on the same codes with the same perplexity (its `affinities`), to skip recomputing them. */
  affinities?: SparseP;
}

export interface TsneResult {
  /** N × 2, row-major. */
  xy: Float64Array;
  /** KL(P‖Q) of the final layout, Q exact (see exactKl): ≥ 0. */
  kl: number;
  perplexity: number;
  neighbours: number;
  learningRate: number;
  iterations: number;
  /** The joint probabilities P the layout was fitted to (reusable by another call on the same codes). */
  affinities: SparseP;
  /** Milliseconds spent on neighbours + affinities (0 when given), and on the optimisation. */
  ms: { affinities: number; optimise: number };
}

export const TSNE_DEFAULTS = {
  perplexity: 30,
  iterations: 750,
  exaggeration: 12,
  exaggerationIterations: 250,
  theta: 0.5,
  seed: 1,
} as const;

/** Projects n = codes.length / dim points to 2-D. */
export function tsne(codes: Float32Array | Float64Array, dim: number, options: TsneOptions = {}): TsneResult {
  const n = Math.floor(codes.length / dim);
  if (n * dim !== codes.length || dim < 1)
    throw new RangeError(`tsne: ${codes.length} values are not a whole number of ${dim}-d codes`);
  const iterations = options.iterations ?? TSNE_DEFAULTS.iterations;
  const exaggeration = options.exaggeration ?? TSNE_DEFAULTS.exaggeration;
  const exaggerationIterations = options.exaggerationIterations ?? TSNE_DEFAULTS.exaggerationIterations;
  const theta = options.theta ?? TSNE_DEFAULTS.theta;
  const seed = options.seed ?? TSNE_DEFAULTS.seed;
  const learningRate = options.learningRate ?? Math.max(200, n / 12);
  const perplexity = Math.max(1, Math.min(options.perplexity ?? TSNE_DEFAULTS.perplexity, (n - 1) / 3));
  const k = Math.min(n - 1, Math.floor(3 * perplexity));
  const result: TsneResult = {
    xy: new Float64Array(2 * n),
    kl: 0,
    perplexity,
    neighbours: k,
    learningRate,
    iterations,
    affinities: { rowStart: new Int32Array(n + 1), col: new Int32Array(0), val: new Float64Array(0) },
    ms: { affinities: 0, optimise: 0 },
  };
  if (n <= 1) return result;

  const t0 = performance.now();
  const P = options.affinities ?? jointProbabilities(exactKnn(codes, n, dim, k), n, k, perplexity);
  if (P.rowStart.length !== n + 1)
    throw new RangeError(`tsne: affinities for ${P.rowStart.length - 1} points, not ${n}`);
  result.affinities = P;
  const t1 = performance.now();

  const Y = result.xy;
  initialLayout(Y, codes, n, dim, options.init ?? 'pca', seed, options.rescaleInit ?? true);
  result.kl = optimise(Y, P, n, { iterations, exaggeration, exaggerationIterations, theta, learningRate });
  result.ms = { affinities: t1 - t0, optimise: performance.now() - t1 };
  return result;
}

// ---------- neighbours and affinities ----------

interface Knn {
  /** n × k neighbour indices, each row nearest first. */
  index: Int32Array;
  /** n × k squared distances, matching. */
  dist2: Float64Array;
}

/**
 * Exact k nearest neighbours by brute force over pairs (i < j), keeping a bounded max-heap per point. O(n²·dim):
 * 0.1 s for 10,000 8-d codes, which is less than the optimisation costs; a VP-tree would gain little at dim 8–50.
 */
export function exactKnn(codes: Float32Array | Float64Array, n: number, dim: number, k: number): Knn {
  const X = codes instanceof Float64Array ? codes : Float64Array.from(codes);
  const hd = new Float64Array(n * k).fill(Infinity); // heap of distances, max at [i·k]
  const hi = new Int32Array(n * k).fill(-1);
  const size = new Int32Array(n);
  // Each heap's admission bar (its root once full) in one small array: the heaps themselves are n·k values, too
  // many to touch per pair without thrashing the cache.
  const worst = new Float64Array(n).fill(Infinity);
  const push = (i: number, j: number, d: number): void => {
    const base = i * k;
    let s = size[i]!;
    if (s < k) {
      // sift up
      let c = s;
      size[i] = s + 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (hd[base + p]! >= d) break;
        hd[base + c] = hd[base + p]!;
        hi[base + c] = hi[base + p]!;
        c = p;
      }
      hd[base + c] = d;
      hi[base + c] = j;
      if (s + 1 === k) worst[i] = hd[base]!;
      return;
    }
    // replace the root and sift down
    s = k;
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= s) break;
      const r = l + 1;
      const m = r < s && hd[base + r]! > hd[base + l]! ? r : l;
      if (hd[base + m]! <= d) break;
      hd[base + c] = hd[base + m]!;
      hi[base + c] = hi[base + m]!;
      c = m;
    }
    hd[base + c] = d;
    hi[base + c] = j;
    worst[i] = hd[base]!;
  };
  for (let i = 0; i < n; i++) {
    const oi = i * dim;
    for (let j = i + 1; j < n; j++) {
      const oj = j * dim;
      let d = 0;
      for (let t = 0; t < dim; t++) {
        const u = X[oi + t]! - X[oj + t]!;
        d += u * u;
      }
      if (d < worst[i]!) push(i, j, d);
      if (d < worst[j]!) push(j, i, d);
    }
  }
  // Sort each row ascending (heap order is not sorted).
  const order = new Int32Array(k);
  const td = new Float64Array(k);
  const ti = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const base = i * k;
    for (let t = 0; t < k; t++) order[t] = t;
    order.sort((a, b) => hd[base + a]! - hd[base + b]! || hi[base + a]! - hi[base + b]!);
    for (let t = 0; t < k; t++) {
      td[t] = hd[base + order[t]!]!;
      ti[t] = hi[base + order[t]!]!;
    }
    hd.set(td, base);
    hi.set(ti, base);
  }
  return { index: hi, dist2: hd };
}

/** Symmetric sparse P in CSR form: row i's entries are col[rowStart[i] .. rowStart[i+1]). Sums to 1. */
export interface SparseP {
  rowStart: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

/**
 * p_{j|i} ∝ exp(−β_i·d²_ij) over i's k neighbours with β_i found by bisection so that the entropy is
 * log(perplexity); then P = (P_cond + P_condᵀ) / sum.
 */
function jointProbabilities(knn: Knn, n: number, k: number, perplexity: number): SparseP {
  const cond = new Float64Array(n * k);
  const target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    const base = i * k;
    const dmin = knn.dist2[base]!;
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    for (let iter = 0; iter < 200; iter++) {
      let sum = 0;
      let dsum = 0;
      for (let t = 0; t < k; t++) {
        const d = knn.dist2[base + t]! - dmin;
        const p = Math.exp(-beta * d);
        cond[base + t] = p;
        sum += p;
        dsum += d * p;
      }
      const H = Math.log(sum) + (beta * dsum) / sum;
      const diff = H - target;
      if (Math.abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    let sum = 0;
    for (let t = 0; t < k; t++) sum += cond[base + t]!;
    for (let t = 0; t < k; t++) cond[base + t] = cond[base + t]! / sum;
  }
  // Symmetrise: row i gets (i → j) and (j → i) for each neighbour pair; merge duplicates.
  const count = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      count[i + 1]!++;
      count[knn.index[i * k + t]! + 1]!++;
    }
  }
  for (let i = 0; i < n; i++) count[i + 1] = count[i + 1]! + count[i]!;
  const rawCol = new Int32Array(count[n]!);
  const rawVal = new Float64Array(count[n]!);
  const fill = count.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = knn.index[i * k + t]!;
      const v = cond[i * k + t]!;
      let e = fill[i]!++;
      rawCol[e] = j;
      rawVal[e] = v;
      e = fill[j]!++;
      rawCol[e] = i;
      rawVal[e] = v;
    }
  }
  const rowStart = new Int32Array(n + 1);
  const col = new Int32Array(count[n]!);
  const val = new Float64Array(count[n]!);
  const slot = new Int32Array(n).fill(-1);
  let out = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    rowStart[i] = out;
    for (let e = count[i]!; e < count[i + 1]!; e++) {
      const j = rawCol[e]!;
      if (slot[j]! >= 0) val[slot[j]!] = val[slot[j]!]! + rawVal[e]!;
      else {
        slot[j] = out;
        col[out] = j;
        val[out] = rawVal[e]!;
        out++;
      }
      total += rawVal[e]!;
    }
    for (let e = rowStart[i]!; e < out; e++) slot[col[e]!] = -1;
  }
  rowStart[n] = out;
  const P: SparseP = { rowStart, col: col.slice(0, out), val: val.slice(0, out) };
  for (let e = 0; e < out; e++) P.val[e] = P.val[e]! / total;
  return P;
}

// ---------- initial layout ----------

function initialLayout(
  Y: Float64Array,
  X: Float32Array | Float64Array,
  n: number,
  dim: number,
  init: NonNullable<TsneOptions['init']>,
  seed: number,
  rescale: boolean,
): void {
  const random = seededRandom(seed);
  if (init === 'random') {
    for (let i = 0; i < 2 * n; i++) Y[i] = 1e-4 * gaussian(random);
    return;
  }
  if (init === 'pca') principalLayout(Y, X, n, dim);
  else {
    if (init.length !== 2 * n) throw new RangeError(`tsne: init has ${init.length} values for ${n} points × 2`);
    Y.set(init);
  }
  // Centre, scale to std 1e-4 along x (openTSNE), jitter by 1e-4 of that so no two points coincide.
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += Y[2 * i]!;
    my += Y[2 * i + 1]!;
  }
  mx /= n;
  my /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (Y[2 * i]! - mx) ** 2;
  const sd = Math.sqrt(v / n);
  const scale = !rescale && sd > 0 && Number.isFinite(sd) ? 1 : sd > 0 && Number.isFinite(sd) ? 1e-4 / sd : 0;
  for (let i = 0; i < n; i++) {
    Y[2 * i] = (Y[2 * i]! - mx) * scale + 1e-8 * gaussian(random);
    Y[2 * i + 1] = (Y[2 * i + 1]! - my) * scale + 1e-8 * gaussian(random);
  }
}

/**
 * The codes on their first two principal axes (ml-pca, as the PCA view); the second is 0 for 1-d codes. Each axis is
 * oriented so its loadings sum to a positive number (the orientation a power iteration from a positive start finds),
 * so the start does not depend on the sign the eigen-solver happens to return.
 */
function principalLayout(Y: Float64Array, X: Float32Array | Float64Array, n: number, dim: number): void {
  const { xy, axes } = pca2d(X, n, dim);
  const sign = [0, 1].map((c) => ((axes[c] ?? []).reduce((s, v) => s + v, 0) < 0 ? -1 : 1));
  for (let i = 0; i < n; i++) {
    Y[2 * i] = sign[0]! * xy[2 * i]!;
    Y[2 * i + 1] = sign[1]! * xy[2 * i + 1]!;
  }
}

// ---------- optimisation ----------

interface Schedule {
  iterations: number;
  exaggeration: number;
  exaggerationIterations: number;
  theta: number;
  learningRate: number;
}

function optimise(Y: Float64Array, P: SparseP, n: number, s: Schedule): number {
  const grad = new Float64Array(2 * n);
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const repulse = new Float64Array(2 * n);
  const tree = new QuadTree(n);
  const upper = upperTriangle(P, n);
  for (let iter = 0; iter < s.iterations; iter++) {
    const early = iter < s.exaggerationIterations;
    const exag = early ? s.exaggeration : 1;
    const momentum = early ? 0.5 : 0.8;
    tree.build(Y, n, s.theta);
    const sumQ = tree.repulsion(Y, n, repulse);
    attraction(Y, upper, n, exag, grad);
    const invQ = 1 / sumQ;
    let mx = 0;
    let my = 0;
    for (let c = 0; c < 2 * n; c++) {
      const g = grad[c]! - repulse[c]! * invQ;
      let gain = gains[c]!;
      gain = g > 0 !== update[c]! > 0 ? gain + 0.2 : gain * 0.8;
      if (gain < 0.01) gain = 0.01;
      gains[c] = gain;
      const u = momentum * update[c]! - s.learningRate * gain * g;
      update[c] = u;
      Y[c] = Y[c]! + u;
    }
    for (let i = 0; i < n; i++) {
      mx += Y[2 * i]!;
      my += Y[2 * i + 1]!;
    }
    mx /= n;
    my /= n;
    for (let i = 0; i < n; i++) {
      Y[2 * i] = Y[2 * i]! - mx;
      Y[2 * i + 1] = Y[2 * i + 1]! - my;
    }
  }
  return exactKl(Y, P, n);
}

/**
 * KL(P‖Q) of a layout with Q computed exactly: q_ij = (1 + |y_i − y_j|²)⁻¹ / Z with Z summed over every pair, O(n²)
 * (about 0.2 s at 10,000 points, a few per cent of the optimisation). The optimisation's Barnes-Hut Z is off by a
 * few per cent, enough to make the sum negative for a layout that fits well; with the exact Z, Σ q over P's
 * support is at most 1 = Σ p, so the result is ≥ 0 (Gibbs' inequality).
 */
export function exactKl(Y: Float64Array, P: SparseP, n: number): number {
  let sumW = 0;
  for (let i = 0; i < n; i++) {
    const xi = Y[2 * i]!;
    const yi = Y[2 * i + 1]!;
    for (let j = i + 1; j < n; j++) {
      const dx = xi - Y[2 * j]!;
      const dy = yi - Y[2 * j + 1]!;
      sumW += 1 / (1 + dx * dx + dy * dy);
    }
  }
  const logZ = Math.log(2 * sumW);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const xi = Y[2 * i]!;
    const yi = Y[2 * i + 1]!;
    for (let e = P.rowStart[i]!; e < P.rowStart[i + 1]!; e++) {
      const p = P.val[e]!;
      if (!(p > 0)) continue;
      const j = P.col[e]!;
      const dx = xi - Y[2 * j]!;
      const dy = yi - Y[2 * j + 1]!;
      // log(p / q) = log p + log(1 + d²) + log Z
      kl += p * (Math.log(p) + Math.log1p(dx * dx + dy * dy) + logZ);
    }
  }
  return kl;
}

/** The entries of P above the diagonal (j > i), in the same CSR form: each pair once. */
function upperTriangle(P: SparseP, n: number): SparseP {
  const rowStart = new Int32Array(n + 1);
  let out = 0;
  for (let i = 0; i < n; i++) for (let e = P.rowStart[i]!; e < P.rowStart[i + 1]!; e++) if (P.col[e]! > i) out++;
  const col = new Int32Array(out);
  const val = new Float64Array(out);
  out = 0;
  for (let i = 0; i < n; i++) {
    rowStart[i] = out;
    for (let e = P.rowStart[i]!; e < P.rowStart[i + 1]!; e++) {
      if (P.col[e]! <= i) continue;
      col[out] = P.col[e]!;
      val[out++] = P.val[e]!;
    }
  }
  rowStart[n] = out;
  return { rowStart, col, val };
}

/**
 * grad_i = exag · Σ_j p_ij (y_i − y_j) / (1 + |y_i − y_j|²). P is symmetric: each pair is visited once (`upper`)
 * and acts on both ends.
 */
function attraction(Y: Float64Array, upper: SparseP, n: number, exag: number, grad: Float64Array): void {
  const { rowStart, col, val } = upper;
  grad.fill(0);
  for (let i = 0; i < n; i++) {
    const xi = Y[2 * i]!;
    const yi = Y[2 * i + 1]!;
    let fx = 0;
    let fy = 0;
    const end = rowStart[i + 1]!;
    for (let e = rowStart[i]!; e < end; e++) {
      const j = col[e]!;
      const dx = xi - Y[2 * j]!;
      const dy = yi - Y[2 * j + 1]!;
      const w = val[e]! / (1 + dx * dx + dy * dy);
      const wx = w * dx;
      const wy = w * dy;
      fx += wx;
      fy += wy;
      grad[2 * j] = grad[2 * j]! - wx;
      grad[2 * j + 1] = grad[2 * j + 1]! - wy;
    }
    grad[2 * i] = grad[2 * i]! + fx;
    grad[2 * i + 1] = grad[2 * i + 1]! + fy;
  }
  if (exag !== 1) for (let c = 0; c < 2 * n; c++) grad[c] = grad[c]! * exag;
}

/** Levels of the quadtree: a cell at the last level is 2^-16 of the layout's width, where points are merged. */
const LEVELS = 16;

/**
 * A quadtree over the layout, rebuilt every iteration into reused typed arrays, linear-quadtree style: each point
 * gets a 32-bit Morton key (its 16-bit cell coordinates interleaved), the points are radix-sorted by key, and the
 * tree is read off the sorted keys, depth first, keeping only non-empty cells. Each node is stored as [centre of
 * mass x, y, count, (half-width/θ)²] with the index just past its subtree, so a traversal is one forward scan:
 * summarise a node and jump past its subtree, or step into it. Leaves (a single point, or points closer than the
 * last level's cell) always summarise; point i so meets itself once, at distance 0, adding exactly 1 to Z, which
 * is subtracted.
 */
class QuadTree {
  private flat: Float64Array;
  private skip: Int32Array;
  private size = 0;
  private readonly keys: Uint32Array;
  private readonly sortedKeys: Uint32Array;
  private readonly tmp: Int32Array;
  private readonly tmpKeys: Uint32Array;
  private readonly counts = new Int32Array(256);
  /** Points sorted by Morton key: a space-filling order, so consecutive queries walk alike paths. */
  readonly order: Int32Array;
  private Y: Float64Array = new Float64Array(0);
  private invTheta2 = 0;

  constructor(n: number) {
    this.keys = new Uint32Array(n);
    this.sortedKeys = new Uint32Array(n);
    this.tmpKeys = new Uint32Array(n);
    this.tmp = new Int32Array(n);
    this.order = new Int32Array(n);
    this.flat = new Float64Array(4 * (2 * n + 1));
    this.skip = new Int32Array(2 * n + 1);
  }

  build(Y: Float64Array, n: number, theta: number): void {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = Y[2 * i]!;
      const y = Y[2 * i + 1]!;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    const width = Math.max(maxX - minX, maxY - minY) * (1 + 1e-9) + 1e-300;
    const scale = 65536 / width;
    const keys = this.keys;
    for (let i = 0; i < n; i++) {
      const qx = Math.min(65535, Math.floor((Y[2 * i]! - minX) * scale));
      const qy = Math.min(65535, Math.floor((Y[2 * i + 1]! - minY) * scale));
      keys[i] = ((spread16(qy) << 1) | spread16(qx)) >>> 0;
    }
    this.sortByKey(n);
    this.Y = Y;
    this.invTheta2 = theta > 0 ? 1 / (theta * theta) : Infinity;
    this.size = 0;
    this.node(0, n, 0, width);
  }

  /** order ← 0..n−1 sorted by keys (LSD radix, 4 passes of 8 bits); sortedKeys alongside. */
  private sortByKey(n: number): void {
    let src = this.order;
    let srcKeys = this.sortedKeys;
    let dst = this.tmp;
    let dstKeys = this.tmpKeys;
    for (let i = 0; i < n; i++) {
      src[i] = i;
      srcKeys[i] = this.keys[i]!;
    }
    const counts = this.counts;
    for (let shift = 0; shift < 32; shift += 8) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(srcKeys[i]! >>> shift) & 255]!++;
      let sum = 0;
      for (let b = 0; b < 256; b++) {
        const c = counts[b]!;
        counts[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const key = srcKeys[i]!;
        const at = counts[(key >>> shift) & 255]!++;
        dst[at] = src[i]!;
        dstKeys[at] = key;
      }
      [src, dst] = [dst, src];
      [srcKeys, dstKeys] = [dstKeys, srcKeys];
    }
    // Four passes: the sorted result is back in order / sortedKeys.
  }

  /** Lays out the cell holding sorted points [lo, hi) at `level` (cell width `width`); returns its node index. */
  private node(lo: number, hi: number, level: number, width: number): number {
    const k = this.size++;
    const f = 4 * k;
    const flat = this.flat;
    if (hi - lo === 1 || level === LEVELS) {
      const Y = this.Y;
      let sx = 0;
      let sy = 0;
      for (let s = lo; s < hi; s++) {
        const p = this.order[s]!;
        sx += Y[2 * p]!;
        sy += Y[2 * p + 1]!;
      }
      const m = hi - lo;
      flat[f] = sx / m;
      flat[f + 1] = sy / m;
      flat[f + 2] = m;
      flat[f + 3] = -1;
      this.skip[k] = this.size;
      return k;
    }
    const keys = this.sortedKeys;
    const shift = 30 - 2 * level;
    let sx = 0;
    let sy = 0;
    let start = lo;
    for (let quadrant = 0; quadrant < 4 && start < hi; quadrant++) {
      // keys in [lo, hi) share their bits above `shift`, so the quadrant number is non-decreasing along them
      let a = start;
      let b = hi;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (((keys[mid]! >>> shift) & 3) <= quadrant) a = mid + 1;
        else b = mid;
      }
      if (a > start) {
        const c = this.node(start, a, level + 1, width / 2);
        const m = flat[4 * c + 2]!;
        sx += flat[4 * c]! * m;
        sy += flat[4 * c + 1]! * m;
      }
      start = a;
    }
    const m = hi - lo;
    flat[f] = sx / m;
    flat[f + 1] = sy / m;
    flat[f + 2] = m;
    flat[f + 3] = 0.25 * width * width * this.invTheta2;
    this.skip[k] = this.size;
    return k;
  }

  /**
   * For every point i, out_i = Σ_j q_ij² (y_i − y_j) with q_ij = 1/(1 + |y_i − y_j|²), cells far enough away taken
   * as one point at their centre of mass; returns Z = Σ_{i≠j} q_ij.
   */
  repulsion(Y: Float64Array, n: number, out: Float64Array): number {
    const { flat, skip, order } = this;
    const size = this.size;
    let sumQ = 0;
    for (let s = 0; s < n; s++) {
      const i = order[s]!;
      const xi = Y[2 * i]!;
      const yi = Y[2 * i + 1]!;
      let fx = 0;
      let fy = 0;
      let z = 0;
      let k = 0;
      while (k < size) {
        const f = 4 * k;
        const dx = xi - flat[f]!;
        const dy = yi - flat[f + 1]!;
        const d2 = dx * dx + dy * dy;
        if (flat[f + 3]! < d2) {
          const q = 1 / (1 + d2);
          const mq = flat[f + 2]! * q;
          z += mq;
          const mq2 = mq * q;
          fx += mq2 * dx;
          fy += mq2 * dy;
          k = skip[k]!;
        } else k++;
      }
      sumQ += z - 1;
      out[2 * i] = fx;
      out[2 * i + 1] = fy;
    }
    return sumQ;
  }
}

/** The 16 low bits of v spread to the even bits of a 32-bit word. */
function spread16(v: number): number {
  v &= 0xffff;
  v = (v | (v << 8)) & 0x00ff00ff;
  v = (v | (v << 4)) & 0x0f0f0f0f;
  v = (v | (v << 2)) & 0x33333333;
  v = (v | (v << 1)) & 0x55555555;
  return v;
}
