// tsne-js, the t-SNE library the project started with, as the baseline of the t-SNE benchmark and quality test:
// exact O(N²) gradients, run with a seeded Math.random so that its result is reproducible.
import { createRequire } from 'node:module';
import { seededRandom } from '../../server/projections/random.js';

interface TsneJsModel {
  init(opts: { data: number[][]; type: 'dense' }): void;
  run(): [number, number];
  getOutput(): number[][];
}
type TsneJsCtor = new (config: Record<string, unknown>) => TsneJsModel;

const required = createRequire(import.meta.url)('tsne-js') as { default?: TsneJsCtor } | TsneJsCtor;
const TSNE: TsneJsCtor = typeof required === 'function' ? required : required.default!;

/**
 * tsne-js on n codes (row-major) for `iterations` iterations at perplexity 30, with the parameters of its README
 * (early exaggeration 4, learning rate 100); returns the layout (n × 2) and the time.
 */
export function tsneJs(
  codes: Float32Array,
  dim: number,
  iterations: number,
  seed = 1,
): { xy: Float64Array; ms: number; iterations: number } {
  const n = codes.length / dim;
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(codes.subarray(i * dim, (i + 1) * dim)));
  const random = Math.random;
  Math.random = seededRandom(seed);
  try {
    const t0 = performance.now();
    const model = new TSNE({
      dim: 2,
      perplexity: 30,
      earlyExaggeration: 4,
      learningRate: 100,
      nIter: iterations,
      metric: 'euclidean',
    });
    model.init({ data: rows, type: 'dense' });
    const [, iter] = model.run();
    const ms = performance.now() - t0;
    return { xy: Float64Array.from(model.getOutput().flat()), ms, iterations: iter };
  } finally {
    Math.random = random;
  }
}
