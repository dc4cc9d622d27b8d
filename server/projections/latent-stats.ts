// How well encoder latent codes separate by class (the synthetic set's palette): the mean silhouette and the
// Fisher ratio. The projection worker computes them from each stored latent set (val/latent_silhouette,
// val/latent_fisher); plain TypeScript, no tfjs.
// Codes are row-major: code i is codes[i·dim .. (i+1)·dim). Labels are any integers (not necessarily 0..C−1).
import { gwError } from '../../protocol/errors.js';

/** Codes beyond this count are subsampled for the silhouette (its cost is O(n²·dim)). */
export const SILHOUETTE_MAX_SAMPLES = 5000;

export interface SilhouetteOptions {
  /** Largest number of codes used; more are reduced by stratifiedSubsample. Default SILHOUETTE_MAX_SAMPLES. */
  maxSamples?: number;
}

/**
 * Mean silhouette coefficient with Euclidean distance, as scikit-learn's silhouette_score: for code i with own
 * class A, a(i) = mean distance to the other members of A, b(i) = min over other classes B of the mean distance
 * to B's members, s(i) = (b − a)/max(a, b), and s(i) = 0 when A has a single member. Returns the mean over codes,
 * in [−1, 1] (1: tight, well-separated classes), or NaN when there are fewer than 2 classes (undefined).
 * Above maxSamples codes it is computed on stratifiedSubsample(labels, maxSamples), a fixed subset.
 */
export function silhouette(
  codes: Float32Array | Float64Array,
  dim: number,
  labels: Int32Array,
  options: SilhouetteOptions = {},
): number {
  const n = checkCodes(codes, dim, labels, 'silhouette');
  const max = options.maxSamples ?? SILHOUETTE_MAX_SAMPLES;
  if (!Number.isInteger(max) || max < 2)
    throw gwError('GW_ERR_EVAL_INPUT', `silhouette: maxSamples must be an integer ≥ 2, got ${max}`);
  const idx = n > max ? stratifiedSubsample(labels, max) : Int32Array.from({ length: n }, (_, i) => i);
  const m = idx.length;
  const { classOf, counts } = classIndex(labels, idx);
  const C = counts.length;
  if (C < 2) return Number.NaN;
  // sums[i·C + c] = total distance from code idx[i] to the selected codes of class c.
  const sums = new Float64Array(m * C);
  for (let i = 0; i < m; i++) {
    const oi = idx[i]! * dim;
    const ci = classOf[i]!;
    for (let j = i + 1; j < m; j++) {
      const oj = idx[j]! * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const t = codes[oi + k]! - codes[oj + k]!;
        s += t * t;
      }
      const dist = Math.sqrt(s);
      sums[i * C + classOf[j]!] = sums[i * C + classOf[j]!]! + dist;
      sums[j * C + ci] = sums[j * C + ci]! + dist;
    }
  }
  let total = 0;
  for (let i = 0; i < m; i++) {
    const ci = classOf[i]!;
    if (counts[ci]! < 2) continue; // s(i) = 0
    const a = sums[i * C + ci]! / (counts[ci]! - 1);
    let b = Infinity;
    for (let c = 0; c < C; c++) if (c !== ci) b = Math.min(b, sums[i * C + c]! / counts[c]!);
    const den = Math.max(a, b);
    total += den > 0 ? (b - a) / den : 0;
  }
  return total / m;
}

/**
 * A deterministic class-stratified subset of `size` indices (ascending): class c keeps its share
 * size·n_c/n (largest remainders, at least one code per class while size allows), taken evenly spaced
 * through the class's codes in their original order. No randomness, so epochs are compared on the same rule.
 */
export function stratifiedSubsample(labels: Int32Array, size: number): Int32Array {
  const n = labels.length;
  if (size >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = members.get(labels[i]!);
    if (list) list.push(i);
    else members.set(labels[i]!, [i]);
  }
  const classes = [...members.keys()].sort((x, y) => x - y);
  const exact = classes.map((c) => (size * members.get(c)!.length) / n);
  const take = exact.map((x) => Math.floor(x));
  let left = size - take.reduce((s, x) => s + x, 0);
  // Every class gets one code first (if room), then the largest remainders, ties to the smaller label.
  for (let c = 0; c < classes.length && left > 0; c++) {
    if (take[c] === 0) {
      take[c] = 1;
      left--;
    }
  }
  const order = classes.map((_, c) => c).sort((x, y) => exact[y]! - take[y]! - (exact[x]! - take[x]!) || x - y);
  for (const c of order) {
    if (left === 0) break;
    if (take[c]! < members.get(classes[c]!)!.length) {
      take[c] = take[c]! + 1;
      left--;
    }
  }
  const out: number[] = [];
  classes.forEach((label, c) => {
    const list = members.get(label)!;
    const k = take[c]!;
    for (let j = 0; j < k; j++) out.push(list[Math.floor(((j + 0.5) * list.length) / k)]!);
  });
  return Int32Array.from(out.sort((x, y) => x - y));
}

/**
 * Fisher ratio tr(S_B)/tr(S_W): between-class scatter S_B = Σ_c n_c (μ_c − μ)(μ_c − μ)ᵀ over within-class scatter
 * S_W = Σ_c Σ_{i∈c} (x_i − μ_c)(x_i − μ_c)ᵀ (sums, not averages). It equals scikit-learn's calinski_harabasz_score
 * times (C − 1)/(n − C). Large: classes far apart relative to their spread; 0: all class means equal.
 * NaN with fewer than 2 classes; Infinity when every class is a single point and the classes differ.
 */
export function fisherRatio(codes: Float32Array | Float64Array, dim: number, labels: Int32Array): number {
  const n = checkCodes(codes, dim, labels, 'fisherRatio');
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const { classOf, counts } = classIndex(labels, idx);
  const C = counts.length;
  if (C < 2) return Number.NaN;
  const means = new Float64Array(C * dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const c = classOf[i]!;
    for (let k = 0; k < dim; k++) {
      means[c * dim + k] = means[c * dim + k]! + codes[i * dim + k]!;
      mean[k] = mean[k]! + codes[i * dim + k]!;
    }
  }
  for (let c = 0; c < C; c++) for (let k = 0; k < dim; k++) means[c * dim + k] = means[c * dim + k]! / counts[c]!;
  for (let k = 0; k < dim; k++) mean[k] = mean[k]! / n;
  let between = 0;
  for (let c = 0; c < C; c++)
    for (let k = 0; k < dim; k++) between += counts[c]! * (means[c * dim + k]! - mean[k]!) ** 2;
  let within = 0;
  for (let i = 0; i < n; i++) {
    const c = classOf[i]!;
    for (let k = 0; k < dim; k++) within += (codes[i * dim + k]! - means[c * dim + k]!) ** 2;
  }
  return between / within;
}

/** Dense class numbers 0..C−1 (in ascending label order) for the codes in idx, and each class's count there. */
function classIndex(labels: Int32Array, idx: Int32Array): { classOf: Int32Array; counts: number[] } {
  const distinct = [...new Set(Array.from(idx, (i) => labels[i]!))].sort((x, y) => x - y);
  const dense = new Map(distinct.map((l, c) => [l, c]));
  const counts = new Array<number>(distinct.length).fill(0);
  const classOf = Int32Array.from(idx, (i) => {
    const c = dense.get(labels[i]!)!;
    counts[c] = counts[c]! + 1;
    return c;
  });
  return { classOf, counts };
}

function checkCodes(codes: Float32Array | Float64Array, dim: number, labels: Int32Array, what: string): number {
  if (!Number.isInteger(dim) || dim < 1)
    throw gwError('GW_ERR_EVAL_INPUT', `${what}: dim must be a positive integer, got ${dim}`);
  if (codes.length !== labels.length * dim) {
    throw gwError(
      'GW_ERR_EVAL_INPUT',
      `${what}: ${codes.length} code values for ${labels.length} labels × ${dim} dimensions`,
    );
  }
  return labels.length;
}
