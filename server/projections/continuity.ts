// Whether an epoch's projection may build on an earlier epoch's, so that the picture stays put from one epoch to the
// next without ever carrying a degenerate state forward:
//   - codes whose spread fell below a tenth of the reference epoch's have collapsed: they are projected afresh, and a
//     later epoch takes its reference from before the collapse (the service looks past collapsed epochs);
//   - a t-SNE layout continued from the reference's (no early exaggeration, so the clusters keep their places) is kept
//     only when it fits the codes about as well as a fresh start on the same affinities (KL within 10% + 0.01) and is
//     of about its size (spread within ×2). Continuing from a layout of codes whose neighbourhoods have since changed
//     fits them much worse (KL ×7 and more on a demo run's codes) while looking tidy; and on codes in a few tight
//     clumps, epoch after epoch of continuing drives the clumps apart (the spread grew ×7.5 in 7 epochs of a demo
//     run) at almost no cost in KL, until each is a dot.
import type { ProjectionContinuity } from '../../protocol/index.js';
import { tsne, type TsneResult } from './tsne.js';

/** Codes whose spread is below this fraction of the reference epoch's have collapsed. */
export const COLLAPSE_RATIO = 0.1;

/** A continued t-SNE layout is kept when KL(continued) ≤ KL(fresh) · (1 + relative) + absolute... */
export const KL_TOLERANCE = { relative: 0.1, absolute: 0.01 } as const;

/** ... and its spread within this factor of the fresh layout's, either way. */
export const SPREAD_TOLERANCE = 2;

/**
 * Iterations of a continued t-SNE (from a converged layout, without exaggeration): a third of a fresh run's, enough to
 * follow codes that moved; longer runs without exaggeration drift on codes in tight clumps. With the fresh run beside
 * it, an epoch after the first costs 1.6 × one t-SNE (2,000 codes, `npm run bench -- tsne`).
 */
export const CONTINUE_ITERATIONS = 250;

/** Root-mean-square distance of the codes (n × dim, row-major) from their mean. */
export function codeSpread(codes: ArrayLike<number>, n: number, dim: number): number {
  if (n === 0) return 0;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) mean[t] = mean[t]! + codes[i * dim + t]!;
  for (let t = 0; t < dim; t++) mean[t] = mean[t]! / n;
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < dim; t++) {
      const u = codes[i * dim + t]! - mean[t]!;
      s += u * u;
    }
  }
  return Math.sqrt(s / n);
}

/** Root-mean-square distance of a 2-D layout's points from their centroid. */
export function layoutSpread(xy: ArrayLike<number>): number {
  return codeSpread(xy, Math.floor(xy.length / 2), 2);
}

/** The continuity record of an earlier projection, when it has one (projections stored before it existed do not). */
export function continuityOf(params: Record<string, unknown> | undefined): ProjectionContinuity | null {
  const c = params?.continuity;
  return c && typeof c === 'object' && typeof (c as ProjectionContinuity).code_spread === 'number'
    ? (c as ProjectionContinuity)
    : null;
}

/** What the codes are, relative to the reference epoch's: their spread, and whether they collapsed. */
export interface CodesAssessment {
  reference: number | null;
  code_spread: number;
  spread_ratio: number | null;
  collapsed: boolean;
}

export function assessCodes(
  codes: ArrayLike<number>,
  n: number,
  dim: number,
  reference: { epoch: number; params: Record<string, unknown> } | null,
): CodesAssessment {
  const spread = codeSpread(codes, n, dim);
  const before = continuityOf(reference?.params)?.code_spread;
  const ratio = before !== undefined && before > 0 ? spread / before : null;
  return {
    reference: reference?.epoch ?? null,
    code_spread: spread,
    spread_ratio: ratio,
    collapsed: ratio !== null && ratio < COLLAPSE_RATIO,
  };
}

/** Why the codes were projected afresh, when they collapsed. */
export function collapseReason(a: CodesAssessment): string {
  const pct = (a.spread_ratio ?? 0) * 100;
  return `the codes collapsed: their spread is ${pct < 1 ? pct.toPrecision(1) : pct.toFixed(0)}% of epoch ${a.reference}'s`;
}

/** A continued t-SNE and a fresh one of the same codes, and which of the two is served. */
export interface TsneChoice {
  result: TsneResult;
  continued: boolean;
  klContinued: number;
  klFresh: number;
  reason: string;
  /** Time spent on the affinities (shared by both runs). */
  msAffinities: number;
}

/**
 * A fresh t-SNE of `data` and one continued from `from` (the reference epoch's layout of the same codes in the same
 * order) on the same affinities; the continued one is chosen when it fits about as well.
 */
export function freshOrContinued(
  data: Float32Array | Float64Array,
  dim: number,
  options: { seed?: number; iterations?: number },
  from: { epoch: number; xy: Float32Array },
): TsneChoice {
  const fresh = tsne(data, dim, { seed: options.seed, iterations: options.iterations, init: 'pca' });
  const continued = tsne(data, dim, {
    seed: options.seed,
    iterations: Math.min(CONTINUE_ITERATIONS, options.iterations ?? CONTINUE_ITERATIONS),
    init: Float64Array.from(from.xy),
    rescaleInit: false,
    exaggerationIterations: 0,
    affinities: fresh.affinities,
  });
  const kl = `KL ${continued.kl.toPrecision(3)} continued from epoch ${from.epoch}, ${fresh.kl.toPrecision(3)} from a fresh start`;
  const fits = continued.kl <= fresh.kl * (1 + KL_TOLERANCE.relative) + KL_TOLERANCE.absolute;
  const size = layoutSpread(continued.xy) / layoutSpread(fresh.xy);
  const sized = size <= SPREAD_TOLERANCE && size >= 1 / SPREAD_TOLERANCE;
  const keep = fits && sized;
  return {
    result: keep ? continued : fresh,
    continued: keep,
    reason: keep
      ? `continued: it fits as well (${kl})`
      : !fits
        ? `a fresh start fits better (${kl})`
        : `the layout continued from epoch ${from.epoch} drifted to ${size.toPrecision(2)} × a fresh start's spread`,
    klContinued: continued.kl,
    klFresh: fresh.kl,
    msAffinities: fresh.ms.affinities,
  };
}
