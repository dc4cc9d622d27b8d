// UMAP projections through umap-js (pinned), made deterministic: a seeded random generator and exact neighbours
// computed here (umap-js's own NN-descent is randomised and slower at these sizes).
import { UMAP } from 'umap-js';
import { seededRandom } from './random.js';
import { exactKnn } from './tsne.js';

export const UMAP_DEFAULTS = { neighbours: 15, minDist: 0.1, seed: 1 } as const;

export interface UmapOptions {
  neighbours?: number;
  minDist?: number;
  seed?: number;
}

/** The codes (n × dim, row-major) in 2-D; returns n × 2 row-major and the parameters used. */
export function umap2d(
  codes: Float32Array | Float64Array,
  n: number,
  dim: number,
  options: UmapOptions = {},
): { xy: Float64Array; params: Record<string, unknown> } {
  const seed = options.seed ?? UMAP_DEFAULTS.seed;
  const minDist = options.minDist ?? UMAP_DEFAULTS.minDist;
  // umap-js counts the point itself among its neighbours.
  const k = Math.min(options.neighbours ?? UMAP_DEFAULTS.neighbours, n);
  const xy = new Float64Array(2 * n);
  const params = { neighbours: k, minDist, seed };
  if (n < 4) {
    // Too few points for a graph: spread them on a line in code order.
    for (let i = 0; i < n; i++) xy[2 * i] = i;
    return { xy, params: { ...params, degenerate: true } };
  }
  const knn = exactKnn(codes, n, dim, k - 1);
  const indices: number[][] = [];
  const distances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = [i];
    const dist = [0];
    for (let t = 0; t < k - 1; t++) {
      idx.push(knn.index[i * (k - 1) + t]!);
      dist.push(Math.sqrt(knn.dist2[i * (k - 1) + t]!));
    }
    indices.push(idx);
    distances.push(dist);
  }
  const model = new UMAP({ nComponents: 2, nNeighbors: k, minDist, random: seededRandom(seed) });
  model.setPrecomputedKNN(indices, distances);
  const data = new Array<number[]>(n);
  for (let i = 0; i < n; i++) data[i] = Array.from(codes.subarray(i * dim, (i + 1) * dim));
  const epochs = model.initializeFit(data);
  for (let e = 0; e < epochs; e++) model.step();
  const out = model.getEmbedding();
  for (let i = 0; i < n; i++) {
    xy[2 * i] = out[i]![0]!;
    xy[2 * i + 1] = out[i]![1]!;
  }
  return { xy, params: { ...params, epochs } };
}
