// What the projection worker computes, as plain functions of the codes (so tests and the benchmark call them
// directly): a 2-D projection by one method, subsampled above the method's working limit and aligned with the
// previous epoch's, and the class separation (silhouette, Fisher ratio) of the codes.
import type { ProjectionAlignment, ProjectionContinuity, ProjectionMethod } from '../../protocol/index.js';
import { applySimilarity, fixAxisSigns, fixCoordinateSigns, procrustes, sharedCentroids } from './align.js';
import { assessCodes, collapseReason, freshOrContinued, type CodesAssessment } from './continuity.js';
import { fisherRatio, silhouette, stratifiedSubsample } from './latent-stats.js';
import { pca2d, principalComponents } from './pca.js';
import { TSNE_DEFAULTS, tsne, type TsneResult } from './tsne.js';
import { umap2d } from './umap.js';

/**
 * Most codes each method projects; larger sets get a deterministic class-stratified subsample. t-SNE: ~1 s per
 * 1,000 codes here, so 10,000 (as TensorBoard's projector) is ~10 s of one worker thread; UMAP (umap-js) is
 * slower, ~15 s at 5,000 (TensorBoard's UMAP limit); PCA is linear and takes every code (20,000 at most).
 */
export const PROJECTION_LIMITS: Record<ProjectionMethod, number> = { tsne: 10_000, pca: 20_000, umap: 5_000 };

/** Codes wider than this are reduced to it by PCA before t-SNE and UMAP. */
export const NEIGHBOUR_SEARCH_DIM = 50;

/**
 * The earlier epoch's projection by the same method that a new one builds on (the newest whose codes had not
 * collapsed: see ProjectionService).
 */
export interface PreviousProjection {
  epoch: number;
  sourceCount: number;
  xy: Float32Array;
  indices: Int32Array | null;
  labels: Int32Array | null;
  params: Record<string, unknown>;
}

export interface ProjectInput {
  method: ProjectionMethod;
  /** n × dim, row-major. */
  codes: Float32Array;
  dim: number;
  labels: Int32Array | null;
  /** Default PROJECTION_LIMITS[method]. */
  limit?: number;
  seed?: number;
  previous?: PreviousProjection | null;
  /** t-SNE iterations (default the t-SNE default). */
  iterations?: number;
}

export interface ProjectOutput {
  /** count × 2, row-major. */
  xy: Float32Array;
  /** Index in the latent set of each point, when subsampled. */
  indices: Int32Array | null;
  labels: Int32Array | null;
  stratified: boolean;
  aligned: ProjectionAlignment | null;
  params: Record<string, unknown>;
  ms: number;
}

/** Which codes a method projects: all, or a stratified subsample when there are more than `limit`. */
export function selectCodes(n: number, labels: Int32Array | null, limit: number): Int32Array | null {
  if (n <= limit) return null;
  return stratifiedSubsample(labels ?? new Int32Array(n), limit);
}

function gather(codes: Float32Array, dim: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let r = 0; r < idx.length; r++) out.set(codes.subarray(idx[r]! * dim, (idx[r]! + 1) * dim), r * dim);
  return out;
}

function sameInts(a: Int32Array | null, b: Int32Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The codes projected by t-SNE and UMAP: reduced by PCA when wider than NEIGHBOUR_SEARCH_DIM. */
function neighbourSpace(
  codes: Float32Array,
  n: number,
  dim: number,
): { data: Float32Array | Float64Array; dim: number; reduced: boolean } {
  if (dim <= NEIGHBOUR_SEARCH_DIM || n <= NEIGHBOUR_SEARCH_DIM) return { data: codes, dim, reduced: false };
  const r = principalComponents(codes, n, dim, NEIGHBOUR_SEARCH_DIM);
  return { data: r.values, dim: r.components, reduced: true };
}

export function projectCodes(input: ProjectInput): ProjectOutput {
  const t0 = performance.now();
  const { method, dim } = input;
  const total = input.codes.length / dim;
  const limit = input.limit ?? PROJECTION_LIMITS[method];
  const indices = selectCodes(total, input.labels, limit);
  const codes = indices ? gather(input.codes, dim, indices) : input.codes;
  const labels = input.labels ? (indices ? Int32Array.from(indices, (i) => input.labels![i]!) : input.labels) : null;
  const n = codes.length / dim;
  const prev = input.previous ?? null;
  // The previous layout's points are these codes' points when it came from a latent set of the same size, with
  // the same labels, subsampled the same way: the trainer encodes the same validation targets each epoch.
  const corresponds =
    prev !== null &&
    prev.sourceCount === total &&
    sameInts(prev.indices, indices) &&
    sameInts(prev.labels, labels) &&
    prev.xy.length === 2 * n;
  const codesNow = assessCodes(codes, n, dim, prev);
  const params: Record<string, unknown> = {};
  let xy: Float64Array;
  let aligned: ProjectionAlignment | null = null;
  let continuity: ProjectionContinuity = {
    ...codesNow,
    start: 'fresh',
    reason: codesNow.collapsed
      ? collapseReason(codesNow)
      : `${method === 'pca' ? 'PCA' : 'UMAP'} is computed afresh every epoch`,
  };

  if (method === 'pca') {
    const r = pca2d(codes, n, dim);
    xy = r.xy;
    params.explained = r.explained;
    params.axes = r.axes;
    // An axis's sign is arbitrary: take the one that agrees with the previous epoch's picture (on the
    // corresponding points when there are, else on the axes themselves).
    const prevAxes = prev?.params.axes;
    if (corresponds) {
      params.flipped = fixCoordinateSigns(xy, prev.xy, r.axes);
      aligned = 'sign';
    } else if (Array.isArray(prevAxes)) {
      params.flipped = fixAxisSigns(r.axes, prevAxes as number[][], xy);
      aligned = 'sign';
    }
  } else {
    const space = neighbourSpace(codes, n, dim);
    if (space.reduced) params.pca_dims = space.dim;
    if (method === 'tsne') {
      const r = projectTsne(space, input, corresponds ? prev : null, codesNow);
      xy = r.xy;
      continuity = r.continuity;
      Object.assign(params, r.params);
    } else {
      const r = umap2d(space.data, n, space.dim, { seed: input.seed });
      xy = r.xy;
      Object.assign(params, r.params);
    }
    if (prev) aligned = alignOnto(xy, labels, prev, corresponds, continuity.start === 'continued');
  }
  params.continuity = continuity;
  if (aligned && prev) params.aligned_to = prev.epoch;
  return {
    xy: Float32Array.from(xy),
    indices,
    labels,
    stratified: indices !== null && labels !== null,
    aligned,
    params,
    ms: performance.now() - t0,
  };
}

/**
 * t-SNE of an epoch. Continuing from the previous epoch's converged layout (its scale kept, no early exaggeration,
 * which would shuffle the clusters again) keeps the picture still where the codes did not change; it is checked
 * against a fresh start, so a layout that no longer fits the codes is never carried on. `from` is the previous
 * epoch's projection when its points are these codes'.
 */
function projectTsne(
  space: { data: Float32Array | Float64Array; dim: number },
  input: ProjectInput,
  from: PreviousProjection | null,
  codes: CodesAssessment,
): { xy: Float64Array; continuity: ProjectionContinuity; params: Record<string, unknown> } {
  const options = { seed: input.seed, iterations: input.iterations };
  let r: TsneResult;
  let continuity: ProjectionContinuity;
  let msAffinities: number;
  if (from && !codes.collapsed) {
    const c = freshOrContinued(space.data, space.dim, options, from);
    r = c.result;
    msAffinities = c.msAffinities;
    continuity = {
      ...codes,
      start: c.continued ? 'continued' : 'fresh',
      reason: c.reason,
      kl_continued: c.klContinued,
      kl_fresh: c.klFresh,
    };
  } else {
    r = tsne(space.data, space.dim, { ...options, init: 'pca' });
    msAffinities = r.ms.affinities;
    const reason =
      codes.reference === null
        ? 'the first t-SNE of these codes'
        : codes.collapsed
          ? collapseReason(codes)
          : `the codes are not those of epoch ${codes.reference} (other codes, labels or subsample)`;
    continuity = { ...codes, start: 'fresh', reason };
  }
  const continued = continuity.start === 'continued';
  return {
    xy: r.xy,
    continuity,
    params: {
      perplexity: r.perplexity,
      neighbours: r.neighbours,
      iterations: r.iterations,
      learning_rate: r.learningRate,
      exaggeration: TSNE_DEFAULTS.exaggeration,
      exaggeration_iterations: continued ? 0 : TSNE_DEFAULTS.exaggerationIterations,
      theta: TSNE_DEFAULTS.theta,
      init: continued ? `epoch ${from!.epoch}` : 'pca',
      kl: r.kl,
      ms_affinities: Math.round(msAffinities),
    },
  };
}

/** Rotates/reflects and shifts xy onto the previous layout (never scales it); returns how, or null when it could not. */
function alignOnto(
  xy: Float64Array,
  labels: Int32Array | null,
  prev: PreviousProjection,
  corresponds: boolean,
  initialised: boolean,
): ProjectionAlignment | null {
  if (corresponds) {
    applySimilarity(xy, procrustes(xy, prev.xy, undefined, { scale: false }));
    return initialised ? 'init+procrustes' : 'procrustes';
  }
  if (labels && prev.labels) {
    const c = sharedCentroids(xy, labels, prev.xy, prev.labels);
    if (c) {
      applySimilarity(xy, procrustes(c.current, c.previous, c.weights, { scale: false }));
      return 'centroids';
    }
  }
  return null;
}

export interface SeparationOutput {
  status: 'ready' | 'skipped';
  silhouette: number | null;
  fisher: number | null;
  reason: string | null;
  ms: number;
}

/** Silhouette and Fisher ratio of the codes by class label, or why they cannot be computed. */
export function separationOf(codes: Float32Array, dim: number, labels: Int32Array | null): SeparationOutput {
  const t0 = performance.now();
  if (!labels)
    return { status: 'skipped', silhouette: null, fisher: null, reason: 'the latent set has no class labels', ms: 0 };
  const classes = new Set(labels).size;
  if (classes < 2) {
    return {
      status: 'skipped',
      silhouette: null,
      fisher: null,
      reason: `every code has the same class label (${labels[0] ?? 'none'}): separation needs two classes or more`,
      ms: 0,
    };
  }
  const s = silhouette(codes, dim, labels);
  const f = fisherRatio(codes, dim, labels);
  return { status: 'ready', silhouette: s, fisher: f, reason: null, ms: performance.now() - t0 };
}
