// Test support: labelled latent-like codes in Gaussian classes, seeded, for the projection tests and the t-SNE benchmark.
import { gaussian, seededRandom } from '../server/projections/random.js';

/** n codes of dimension dim around C class centres drawn with spread `separation` (unit noise), classes i mod C. */
export function clusters(
  n: number,
  dim: number,
  C: number,
  separation: number,
  seed: number,
): { codes: Float32Array; labels: Int32Array } {
  const r = seededRandom(seed);
  const centres = Array.from({ length: C }, () => Array.from({ length: dim }, () => separation * gaussian(r)));
  const codes = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % C;
    for (let t = 0; t < dim; t++) codes[i * dim + t] = centres[i % C]![t]! + gaussian(r);
  }
  return { codes, labels };
}
