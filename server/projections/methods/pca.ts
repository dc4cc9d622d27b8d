// PCA (ml-pca): the codes on their first two principal axes. Linear, so it takes every code (20,000 at most) and is
// recomputed every epoch; each axis's sign, which PCA leaves arbitrary, is chosen to agree with the previous epoch's.
import { fixAxisSigns, fixCoordinateSigns } from '../align.js';
import { pca2d } from '../pca.js';
import type { MethodInput, MethodLayout, ProjectionMethod } from './types.js';

function project(input: MethodInput): MethodLayout {
  const { codes, n, dim, previous: prev } = input;
  const r = pca2d(codes, n, dim);
  const params: Record<string, unknown> = { explained: r.explained, axes: r.axes };
  // On the corresponding points when there are, else on the axes themselves.
  let aligned: MethodLayout['aligned'] = null;
  const prevAxes = prev?.params.axes;
  if (prev && input.corresponds) {
    params.flipped = fixCoordinateSigns(r.xy, prev.xy, r.axes);
    aligned = 'sign';
  } else if (Array.isArray(prevAxes)) {
    params.flipped = fixAxisSigns(r.axes, prevAxes as number[][], r.xy);
    aligned = 'sign';
  }
  return { xy: r.xy, params, aligned };
}

export const pca: ProjectionMethod<Record<string, never>> = {
  name: 'pca',
  title: 'PCA',
  limit: 20_000,
  eager: true,
  defaults: {},
  project,
};
