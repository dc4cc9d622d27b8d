// What the projection worker computes, as plain functions of the codes (so tests and the benchmark call them
// directly): a 2-D projection by one registered method (methods/), subsampled above the method's working limit, with
// how it relates to the previous epoch's layout, and the class separation (silhouette, Fisher ratio) of the codes.
import type { ProjectionAlignment, ProjectionContinuity } from '../../protocol/index.js';
import { assessCodes, collapseReason } from './continuity.js';
import { fisherRatio, silhouette, stratifiedSubsample } from './latent-stats.js';
import { methodParams, PROJECTION_METHODS, type PreviousProjection, type ProjectionMethods } from './methods/index.js';

export type { PreviousProjection } from './methods/index.js';

export interface ProjectInput {
  /** A method's name in `methods`. */
  method: string;
  /** n × dim, row-major. */
  codes: Float32Array;
  dim: number;
  labels: Int32Array | null;
  /** Default: the method's limit. */
  limit?: number;
  seed?: number;
  previous?: PreviousProjection | null;
  /** Overrides of the method's parameter defaults (e.g. t-SNE's iterations). */
  params?: Readonly<Record<string, unknown>>;
  /** Where `method` is looked up (default every registered method). */
  methods?: ProjectionMethods;
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

export function projectCodes(input: ProjectInput): ProjectOutput {
  const t0 = performance.now();
  const method = (input.methods ?? PROJECTION_METHODS).get(input.method);
  const params = methodParams(method, input.params);
  const { dim } = input;
  const total = input.codes.length / dim;
  const indices = selectCodes(total, input.labels, input.limit ?? method.limit);
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
  const assessment = assessCodes(codes, n, dim, prev);
  const layout = method.project(
    { codes, n, dim, labels, seed: input.seed ?? 1, previous: prev, corresponds, assessment },
    params,
  );
  const continuity: ProjectionContinuity = layout.continuity ?? {
    ...assessment,
    start: 'fresh',
    reason: assessment.collapsed ? collapseReason(assessment) : `${method.title} is computed afresh every epoch`,
  };
  const out: Record<string, unknown> = { ...layout.params, continuity };
  if (layout.aligned && prev) out.aligned_to = prev.epoch;
  return {
    xy: Float32Array.from(layout.xy),
    indices,
    labels,
    stratified: indices !== null && labels !== null,
    aligned: layout.aligned,
    params: out,
    ms: performance.now() - t0,
  };
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
