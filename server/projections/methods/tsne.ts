// t-SNE (../tsne.ts, Barnes-Hut): ~1 s per 1,000 codes here, so up to 10,000 (as TensorBoard's projector), ~10 s of
// one worker thread. Continuing from the previous epoch's converged layout (its scale kept, no early exaggeration,
// which would shuffle the clusters again) keeps the picture still where the codes did not change; it is checked
// against a fresh start, so a layout that no longer fits the codes is never carried on.
import type { ProjectionContinuity } from '../../../protocol/index.js';
import { alignOnto } from '../align.js';
import { collapseReason, freshOrContinued } from '../continuity.js';
import { neighbourSpace } from '../pca.js';
import { TSNE_DEFAULTS, tsne as tsneLayout, type TsneResult } from '../tsne.js';
import type { MethodInput, MethodLayout, ProjectionMethod } from './types.js';

interface TsneParams extends Record<string, number> {
  /** Gradient-descent iterations of a fresh layout (a continued one takes at most CONTINUE_ITERATIONS). */
  iterations: number;
}

function project(input: MethodInput, p: Readonly<TsneParams>): MethodLayout {
  const space = neighbourSpace(input.codes, input.n, input.dim);
  const options = { seed: input.seed, iterations: p.iterations };
  const codes = input.assessment;
  const from = input.corresponds ? input.previous : null;
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
    r = tsneLayout(space.data, space.dim, { ...options, init: 'pca' });
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
  const params: Record<string, unknown> = {
    ...(space.reduced ? { pca_dims: space.dim } : {}),
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
  };
  const prev = input.previous;
  const aligned = prev ? alignOnto(r.xy, input.labels, prev, input.corresponds, continued) : null;
  return { xy: r.xy, params, aligned, continuity };
}

export const tsne: ProjectionMethod<TsneParams> = {
  name: 'tsne',
  title: 't-SNE',
  limit: 10_000,
  eager: true,
  defaults: { iterations: TSNE_DEFAULTS.iterations },
  check: (p) => (Number.isInteger(p.iterations) && p.iterations >= 1 ? null : 'iterations must be an integer ≥ 1'),
  project,
};
