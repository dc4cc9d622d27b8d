// PCA projections through ml-pca, the server's one PCA: the codes on their first principal axes. Used for the
// dashboard's PCA view, for t-SNE's starting layout and, to 50 dimensions, ahead of t-SNE and UMAP on wide codes
// (their neighbour search is O(n²·dim)).
import { PCA } from 'ml-pca';

/** Widths above this use NIPALS (only the components asked for) instead of the full covariance eigenproblem. */
const COVARIANCE_MAX_DIM = 128;

export interface PcaResult {
  /** n × components, row-major. */
  values: Float64Array;
  components: number;
  /** The principal axes (unit vectors in code space), one per component. */
  axes: number[][];
  /** Fraction of the variance along each returned axis. */
  explained: number[];
}

function rows(codes: Float32Array | Float64Array, n: number, dim: number): number[][] {
  const out = new Array<number[]>(n);
  for (let i = 0; i < n; i++) out[i] = Array.from(codes.subarray(i * dim, (i + 1) * dim));
  return out;
}

/** The codes (n × dim, row-major) on their first `components` principal axes, centred. */
export function principalComponents(
  codes: Float32Array | Float64Array,
  n: number,
  dim: number,
  components: number,
): PcaResult {
  const k = Math.max(1, Math.min(components, dim, n));
  const data = rows(codes, n, dim);
  const nipals = dim > COVARIANCE_MAX_DIM;
  const model = new PCA(data, nipals ? { method: 'NIPALS', nCompNIPALS: k } : { method: 'covarianceMatrix' });
  const projected = model.predict(data, { nComponents: k });
  const values = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) values[i * k + c] = projected.get(i, c);
  const vectors = model.getEigenvectors();
  const axes: number[][] = [];
  for (let c = 0; c < k; c++) axes.push(Array.from({ length: dim }, (_, t) => vectors.get(t, c)));
  const variance = model.getExplainedVariance();
  return { values, components: k, axes, explained: Array.from({ length: k }, (_, c) => variance[c] ?? 0) };
}

/** The 2-D PCA picture: the first two components (the second is 0 for 1-d codes). */
export function pca2d(
  codes: Float32Array | Float64Array,
  n: number,
  dim: number,
): { xy: Float64Array; axes: number[][]; explained: number[] } {
  const r = principalComponents(codes, n, dim, 2);
  if (r.components === 2) return { xy: r.values, axes: r.axes, explained: r.explained };
  const xy = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) xy[2 * i] = r.values[i]!;
  return { xy, axes: r.axes, explained: r.explained };
}

/** Codes wider than this are reduced to it by PCA before t-SNE and UMAP (their neighbour search is O(n²·dim)). */
export const NEIGHBOUR_SEARCH_DIM = 50;

/** The codes a neighbour-based method (t-SNE, UMAP) projects: reduced by PCA when wider than NEIGHBOUR_SEARCH_DIM. */
export function neighbourSpace(
  codes: Float32Array,
  n: number,
  dim: number,
): { data: Float32Array | Float64Array; dim: number; reduced: boolean } {
  if (dim <= NEIGHBOUR_SEARCH_DIM || n <= NEIGHBOUR_SEARCH_DIM) return { data: codes, dim, reduced: false };
  const r = principalComponents(codes, n, dim, NEIGHBOUR_SEARCH_DIM);
  return { data: r.values, dim: r.components, reduced: true };
}
