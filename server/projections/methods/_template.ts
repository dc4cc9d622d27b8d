// Template for a new projection method: a real, minimal one (a sparse random projection, Achlioptas 2003 / Li et al.
// 2006: distances are kept in expectation, in linear time), deliberately NOT registered in index.ts, so no server
// offers it. test/projections/template.test.ts copies it, renames it and registers the copy, which proves the steps
// below give a working method.
//
// What it does: the codes times a seeded dim × 2 matrix whose entries are ±1/√density with probability density/2 each
// and 0 otherwise, centred; the same seed gives the same matrix every epoch, and each epoch is then rotated onto the
// previous one (align.ts) so the picture stays put.
//
// How to add a projection method:
//   1. Copy this file to server/projections/methods/<name>.ts (one method per module).
//   2. Set `name` (lowercase [a-z0-9_]: it is the API's `?method=` and is stored with every projection, so keep it
//      stable), `title` (how people write it, for messages), `limit` (most codes it projects: measure its time, and
//      larger latent sets get a class-stratified subsample of this many) and `eager` (computed for every epoch as
//      the codes arrive, or only once someone asks for it).
//   3. Declare its parameters with their defaults (numbers only, each documented) in `defaults`, and refuse unusable
//      values in `check`; methodParams() merges overrides and refuses names the method does not declare.
//   4. Write project(input, params): input.codes is n × dim row-major (wide codes: ../pca.ts neighbourSpace reduces
//      them to 50 dimensions first); return xy (n × 2), the params to store with it (what was used and found), and
//      `aligned`: how it was made to agree with input.previous (alignOnto from ../align.ts rotates it onto the
//      previous epoch's layout; PCA fixes signs instead). Return `continuity` only if the layout starts from the
//      previous one (as t-SNE does); otherwise the server notes "computed afresh". Draw every random number from
//      input.seed (../random.ts), so the same codes and seed give the same picture.
//   5. Register it in index.ts's PROJECTION_METHODS (its place is its place in the API's error message and list).
//      The API then accepts the name, GET /runs/:id/projections lists its limit, and the worker computes it.
//   6. Offer it in the dashboard: add [name, title] to METHODS in web/src/components/latent-panel.ts.
//   7. Test it as test/projections/template.test.ts does (through runJob, the worker's path), and describe it in the
//      README's "The latent space".
import { alignOnto } from '../align.js';
import { gaussian, seededRandom } from '../random.js';
import type { MethodInput, MethodLayout, ProjectionMethod } from './types.js';

interface RandomProjectionParams extends Record<string, number> {
  /** Fraction of the matrix's entries that are not 0, in (0, 1] (1: every entry ±1; Li et al. suggest 1/√dim). */
  density: number;
}

/** dim × 2, row-major: entries ±1/√density with probability density/2 each, else 0; never an all-zero column. */
function projectionMatrix(dim: number, density: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const r = new Float64Array(dim * 2);
  const v = 1 / Math.sqrt(density);
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < dim; t++) {
      const u = random();
      r[t * 2 + c] = u < density / 2 ? v : u < density ? -v : 0;
    }
    // A column of zeros would draw every code on one line: give it one Gaussian entry.
    if ([...Array(dim).keys()].every((t) => r[t * 2 + c] === 0))
      r[Math.floor(random() * dim) * 2 + c] = gaussian(random);
  }
  return r;
}

function project(input: MethodInput, p: Readonly<RandomProjectionParams>): MethodLayout {
  const { codes, n, dim } = input;
  const r = projectionMatrix(dim, p.density, input.seed);
  const xy = new Float64Array(2 * n);
  const mean = [0, 0];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += codes[i * dim + t]! * r[t * 2 + c]!;
      xy[2 * i + c] = s;
      mean[c]! += s / n;
    }
  }
  for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) xy[2 * i + c]! -= mean[c]!;
  const prev = input.previous;
  const aligned = prev ? alignOnto(xy, input.labels, prev, input.corresponds, false) : null;
  return { xy, params: { density: p.density, seed: input.seed }, aligned };
}

export const randomProjection: ProjectionMethod<RandomProjectionParams> = {
  name: 'template_random',
  title: 'Random projection (template)',
  limit: 20_000,
  eager: false,
  defaults: { density: 1 },
  check: (p) => (p.density > 0 && p.density <= 1 ? null : `density must be in (0, 1], not ${p.density}`),
  project,
};
