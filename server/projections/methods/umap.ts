// UMAP (umap-js, seeded, exact neighbours): ~15 s at 5,000 codes here (TensorBoard's UMAP limit), so computed on
// first request; afresh every epoch, then rotated onto the previous epoch's layout.
import { alignOnto } from '../align.js';
import { neighbourSpace } from '../pca.js';
import { UMAP_DEFAULTS, umap2d } from '../umap.js';
import type { MethodInput, MethodLayout, ProjectionMethod } from './types.js';

interface UmapParams extends Record<string, number> {
  neighbours: number;
  minDist: number;
}

function project(input: MethodInput, p: Readonly<UmapParams>): MethodLayout {
  const space = neighbourSpace(input.codes, input.n, input.dim);
  const r = umap2d(space.data, input.n, space.dim, { seed: input.seed, neighbours: p.neighbours, minDist: p.minDist });
  const params: Record<string, unknown> = space.reduced ? { pca_dims: space.dim } : {};
  Object.assign(params, r.params);
  const aligned = input.previous ? alignOnto(r.xy, input.labels, input.previous, input.corresponds, false) : null;
  return { xy: r.xy, params, aligned };
}

export const umap: ProjectionMethod<UmapParams> = {
  name: 'umap',
  title: 'UMAP',
  limit: 5_000,
  eager: false,
  defaults: { neighbours: UMAP_DEFAULTS.neighbours, minDist: UMAP_DEFAULTS.minDist },
  check: (p) =>
    Number.isInteger(p.neighbours) && p.neighbours >= 2
      ? p.minDist >= 0
        ? null
        : `minDist must be ≥ 0, not ${p.minDist}`
      : `neighbours must be an integer ≥ 2, not ${p.neighbours}`,
  project,
};
