// The Fréchet distance between two Gaussians fitted to feature sets (the number behind FID), in float64 JS:
//   d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2·tr (Σ₁^½ Σ₂ Σ₁^½)^½.
// tr (Σ₁^½ Σ₂ Σ₁^½)^½ = Σᵢ √λᵢ(Σ₁Σ₂), and the eigenvalues of Σ₁Σ₂ are those of the symmetric Fᵀ Σ₂ F for any
// factor Σ₁ = F Fᵀ. With F from a pivoted Cholesky factorisation this stays exact and stable when Σ₁ is singular
// (fewer samples than feature dimensions, the usual case for FID on a validation set), where scipy's sqrtm
// of Σ₁Σ₂, as pytorch-fid uses it, can fail and pytorch-fid retries with Σ + ε·I. That offset is available
// (`offset`) to reproduce pytorch-fid in that case; it is not needed for stability here.
// From raw features, when there are fewer samples than dimensions the same trace is the nuclear norm of the
// cross-Gram matrix X₁X₂ᵀ/√((n₁−1)(n₂−1)) (centred rows), which avoids every d × d matrix.
import { gwError } from '../../protocol/errors.js';
import { congruence, crossProducts, pivotedCholesky, selfProducts, symmetricEigenvalues } from './linalg.js';

/** n feature vectors of dimension d, row-major (n × d). */
export interface FeatureSet {
  features: Float64Array;
  n: number;
  d: number;
}

export interface GaussianFit {
  /** Mean, length d. */
  mu: Float64Array;
  /** Covariance, d × d row-major, normalised by n − 1 (numpy.cov(rowvar=False), as pytorch-fid). */
  sigma: Float64Array;
}

export interface FrechetOptions {
  /** Add offset·I to both covariances first (pytorch-fid uses 1e-6 when its sqrtm fails). Default 0. */
  offset?: number;
}

/** Mean and unbiased covariance of n feature vectors of dimension d (row-major n × d), n ≥ 2. */
export function meanAndCov(features: Float64Array | Float32Array, n: number, d: number): GaussianFit {
  checkFeatures(features, n, d, 'meanAndCov');
  const mu = columnMeans(features, n, d);
  // Centred features transposed (d × n), so that Σ = XcᵀXc/(n − 1) is a table of row dot products.
  const xt = new Float64Array(d * n);
  for (let s = 0; s < n; s++) {
    const row = s * d;
    for (let j = 0; j < d; j++) xt[j * n + s] = features[row + j]! - mu[j]!;
  }
  const sigma = selfProducts(xt, d, n);
  const inv = 1 / (n - 1);
  for (let i = 0; i < sigma.length; i++) sigma[i] = sigma[i]! * inv;
  return { mu, sigma };
}

/**
 * Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (covariances d × d row-major, symmetric positive
 * semi-definite). Rounding can make an exact 0 come out as −1e−13; results are clamped at 0.
 */
export function frechetDistance(
  mu1: Float64Array,
  sigma1: Float64Array,
  mu2: Float64Array,
  sigma2: Float64Array,
  options: FrechetOptions = {},
): number {
  const d = mu1.length;
  if (mu2.length !== d) throw gwError('GW_ERR_EVAL_INPUT', `Fréchet distance: means of lengths ${d} and ${mu2.length}`);
  if (sigma1.length !== d * d || sigma2.length !== d * d) {
    throw gwError(
      'GW_ERR_EVAL_INPUT',
      `Fréchet distance: covariances must be ${d}×${d} (${d * d} values), got ${sigma1.length} and ${sigma2.length}`,
    );
  }
  let s1 = sigma1;
  let s2 = sigma2;
  const offset = options.offset ?? 0;
  if (offset !== 0) {
    s1 = Float64Array.from(sigma1);
    s2 = Float64Array.from(sigma2);
    for (let i = 0; i < d; i++) {
      s1[i * d + i] = s1[i * d + i]! + offset;
      s2[i * d + i] = s2[i * d + i]! + offset;
    }
  }
  for (const v of [mu1, mu2, s1, s2]) if (!allFinite(v)) return Number.NaN;
  let tr = 0;
  for (let i = 0; i < d; i++) tr += s1[i * d + i]! + s2[i * d + i]!;
  return finish(squaredDistance(mu1, mu2), tr, traceSqrtProduct(s1, s2, d));
}

/** tr √(Σ₁^½ Σ₂ Σ₁^½) = Σ √λ(Σ₁Σ₂) for symmetric positive semi-definite d × d matrices. */
export function traceSqrtProduct(sigma1: Float64Array, sigma2: Float64Array, d: number): number {
  const f = pivotedCholesky(sigma1, d);
  if (f.rank === 0) return 0;
  return sumSqrt(symmetricEigenvalues(congruence(f, sigma2, d), f.rank));
}

/** Which computation frechetDistanceOfFeatures uses: d × d covariances, or n₁ × n₂ cross products. */
export type FrechetRoute = 'covariance' | 'gram';

/** The cheaper route for these sizes, from operation counts (both give the same value up to rounding). */
export function frechetRoute(n1: number, n2: number, d: number): FrechetRoute {
  const lo = Math.min(n1, n2);
  const hi = Math.max(n1, n2);
  // Multiply-adds; the eigenvalue step runs at about half the rate of the products, hence its weight.
  const gram = n1 * n2 * d + (lo * lo * hi) / 2 + 2 * lo ** 3;
  const covariance = ((n1 + n2) * d * d) / 2 + (5 / 6) * d ** 3 + 2 * d ** 3 + d ** 3 / 3;
  return gram <= covariance ? 'gram' : 'covariance';
}

/** Fréchet distance between Gaussians fitted to two feature sets (each n ≥ 2, same d). */
export function frechetDistanceOfFeatures(
  a: FeatureSet,
  b: FeatureSet,
  route: FrechetRoute = frechetRoute(a.n, b.n, a.d),
): number {
  checkFeatures(a.features, a.n, a.d, 'first feature set');
  checkFeatures(b.features, b.n, b.d, 'second feature set');
  if (a.d !== b.d) throw gwError('GW_ERR_EVAL_INPUT', `Fréchet distance: feature sets of dimensions ${a.d} and ${b.d}`);
  if (!allFinite(a.features) || !allFinite(b.features)) return Number.NaN;
  if (route === 'covariance') {
    const fa = meanAndCov(a.features, a.n, a.d);
    const fb = meanAndCov(b.features, b.n, b.d);
    return frechetDistance(fa.mu, fa.sigma, fb.mu, fb.sigma);
  }
  const d = a.d;
  const mu1 = columnMeans(a.features, a.n, d);
  const mu2 = columnMeans(b.features, b.n, d);
  const x1 = centred(a.features, a.n, d, mu1);
  const x2 = centred(b.features, b.n, d, mu2);
  let tr = 0;
  for (const v of x1) tr += (v * v) / (a.n - 1);
  for (const v of x2) tr += (v * v) / (b.n - 1);
  // Singular values of G = X₁X₂ᵀ are the square roots of the eigenvalues of the smaller of GGᵀ and GᵀG.
  const small = a.n <= b.n ? x1 : x2;
  const large = a.n <= b.n ? x2 : x1;
  const ns = Math.min(a.n, b.n);
  const nl = Math.max(a.n, b.n);
  const g = crossProducts(small, ns, large, nl, d);
  const ggt = selfProducts(g, ns, nl);
  const nuclear = sumSqrt(symmetricEigenvalues(ggt, ns));
  return finish(squaredDistance(mu1, mu2), tr, nuclear / Math.sqrt((a.n - 1) * (b.n - 1)));
}

function finish(meanTerm: number, traces: number, traceSqrt: number): number {
  const v = meanTerm + traces - 2 * traceSqrt;
  return v > 0 ? v : v === v ? 0 : v;
}

/**
 * Σ √λ over the eigenvalues above the rounding floor size·ε·λmax. Below it an eigenvalue is indistinguishable
 * from a zero one, and √ would turn each such rounding residue into √(ε·λmax), about 1e−8 of the largest term.
 */
function sumSqrt(eigenvalues: Float64Array): number {
  let max = 0;
  for (const l of eigenvalues) if (Math.abs(l) > max) max = Math.abs(l);
  const floor = eigenvalues.length * Number.EPSILON * max;
  let s = 0;
  for (const l of eigenvalues) if (l > floor) s += Math.sqrt(l);
  return s;
}

function squaredDistance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

function columnMeans(x: Float64Array | Float32Array, n: number, d: number): Float64Array {
  const mu = new Float64Array(d);
  for (let s = 0; s < n; s++) for (let j = 0; j < d; j++) mu[j] = mu[j]! + x[s * d + j]!;
  for (let j = 0; j < d; j++) mu[j] = mu[j]! / n;
  return mu;
}

function centred(x: Float64Array, n: number, d: number, mu: Float64Array): Float64Array {
  const out = new Float64Array(n * d);
  for (let s = 0; s < n; s++) for (let j = 0; j < d; j++) out[s * d + j] = x[s * d + j]! - mu[j]!;
  return out;
}

function allFinite(x: Float64Array | Float32Array): boolean {
  for (const v of x) if (!Number.isFinite(v)) return false;
  return true;
}

function checkFeatures(x: Float64Array | Float32Array, n: number, d: number, what: string): void {
  if (!Number.isInteger(n) || !Number.isInteger(d) || d < 1)
    throw gwError('GW_ERR_EVAL_INPUT', `${what}: bad sizes n=${n}, d=${d}`);
  if (n < 2) throw gwError('GW_ERR_EVAL_INPUT', `${what}: a covariance needs at least 2 samples, got ${n}`);
  if (x.length !== n * d)
    throw gwError('GW_ERR_EVAL_INPUT', `${what}: ${x.length} values for ${n} samples × ${d} dimensions`);
}
