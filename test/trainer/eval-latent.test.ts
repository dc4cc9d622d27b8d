// Specification of the latent-code statistics: silhouette and Fisher ratio, against hand-computed cases and
// scikit-learn, and the deterministic stratified subsample used above 5,000 codes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fisherRatio, silhouette, stratifiedSubsample } from '../../server/projections/latent-stats.js';
import { park } from '../support/streams.js';

function close(actual: number, expected: number, tol: number): void {
  assert.ok(Math.abs(actual - expected) <= tol, `got ${actual}, expected ${expected}`);
}

test('silhouette of two tight pairs on a line: (3.5/4.5 + 2.5/3.5)/2', () => {
  const codes = Float32Array.from([0, 1, 4, 5]);
  close(silhouette(codes, 1, Int32Array.from([0, 0, 1, 1])), (3.5 / 4.5 + 2.5 / 3.5) / 2, 1e-12);
});

test('a single-member class contributes silhouette 0', () => {
  // {0} alone; {3, 4}: s(3) = (3 − 1)/3, s(4) = (4 − 1)/4 → mean (0 + 2/3 + 3/4)/3 (scikit-learn: 0.47222222222222215).
  close(silhouette(Float32Array.from([0, 3, 4]), 1, Int32Array.from([0, 1, 1])), (2 / 3 + 3 / 4) / 3, 1e-12);
});

test('fewer than two classes: silhouette and Fisher ratio are NaN', () => {
  const codes = Float32Array.from([0, 1, 2]);
  assert.ok(Number.isNaN(silhouette(codes, 1, Int32Array.from([4, 4, 4]))));
  assert.ok(Number.isNaN(fisherRatio(codes, 1, Int32Array.from([4, 4, 4]))));
});

test('Fisher ratio of two pairs on a line: between 16 over within 1', () => {
  // Means 0.5 and 4.5 around 2.5: S_B = 2·4 + 2·4 = 16; S_W = 4·0.25 = 1.
  close(fisherRatio(Float32Array.from([0, 1, 4, 5]), 1, Int32Array.from([0, 0, 1, 1])), 16, 1e-12);
});

test('Fisher ratio is 0 when the class means coincide, and unchanged by relabelling', () => {
  const codes = Float32Array.from([-1, 1, -2, 2]);
  close(fisherRatio(codes, 1, Int32Array.from([0, 0, 1, 1])), 0, 1e-12);
  const c2 = Float32Array.from([0, 1, 4, 5]);
  close(fisherRatio(c2, 1, Int32Array.from([70, 70, -3, -3])), 16, 1e-12);
});

// ---------- scikit-learn references ----------
// Printed by test/fixtures/eval/latent_fixtures.py (`/usr/bin/python3 test/fixtures/eval/latent_fixtures.py`) with
// Debian 12's python3-sklearn 1.2.1: silhouette_score(X, y, metric='euclidean') and calinski_harabasz_score(X, y),
// fisher = CH·(C − 1)/(n − C), on the codes regenerated below (same Park–Miller stream, rounded to float32).

function codesOf(
  n: number,
  dim: number,
  values: readonly number[],
  spread: number,
  seed: number,
): { codes: Float32Array; labels: Int32Array } {
  const r = park(seed);
  const C = values.length;
  const codes = new Float32Array(n * dim);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < dim; k++) codes[i * dim + k] = (k === i % C ? 2 : 0) + spread * (r() - 0.5);
  return { codes, labels: Int32Array.from({ length: n }, (_, i) => values[i % C]!) };
}

const SKLEARN = [
  { n: 60, dim: 4, values: [0, 1, 2], spread: 1.0, seed: 7, silhouette: 0.7188725012508353, fisher: 8.526798054264288 },
  {
    n: 45,
    dim: 3,
    values: [5, 9, 12],
    spread: 4.0,
    seed: 8,
    silhouette: 0.25056628619263344,
    fisher: 1.0151027408613957,
  },
  { n: 31, dim: 2, values: [3, 1], spread: 6.0, seed: 9, silhouette: 0.15895045606748973, fisher: 0.2762853654663794 },
] as const;

for (const c of SKLEARN) {
  test(`silhouette and Fisher ratio of ${c.n} codes in ${c.dim}-d (spread ${c.spread}) match scikit-learn`, () => {
    const { codes, labels } = codesOf(c.n, c.dim, c.values, c.spread, c.seed);
    close(silhouette(codes, c.dim, labels), c.silhouette, 1e-10);
    close(fisherRatio(codes, c.dim, labels), c.fisher, 1e-10 * c.fisher);
  });
}

// ---------- subsampling ----------

test('the stratified subsample keeps class shares, at least one code per class, and is deterministic', () => {
  // 900 of class 0, 90 of class 1, 10 of class 2 → 100 codes: 90, 9, 1.
  const labels = Int32Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : i < 990 ? 1 : 2));
  const idx = stratifiedSubsample(labels, 100);
  assert.equal(idx.length, 100);
  const count = (c: number) => [...idx].filter((i) => labels[i] === c).length;
  assert.deepEqual([count(0), count(1), count(2)], [90, 9, 1]);
  assert.deepEqual([...stratifiedSubsample(labels, 100)], [...idx]);
  assert.deepEqual(
    [...idx],
    [...idx].sort((a, b) => a - b),
  );
  const rare = Int32Array.from({ length: 1000 }, (_, i) => (i === 500 ? 7 : 0));
  assert.ok([...stratifiedSubsample(rare, 10)].includes(500));
});

test('above maxSamples the silhouette is that of the stated subsample, and close to the full value', () => {
  const { codes, labels } = codesOf(600, 4, [0, 1, 2], 2.0, 11);
  const full = silhouette(codes, 4, labels);
  const sub = silhouette(codes, 4, labels, { maxSamples: 200 });
  const idx = stratifiedSubsample(labels, 200);
  const subCodes = new Float32Array(idx.length * 4);
  idx.forEach((i, j) => subCodes.set(codes.subarray(i * 4, i * 4 + 4), j * 4));
  close(
    sub,
    silhouette(
      subCodes,
      4,
      Int32Array.from(idx, (i) => labels[i]!),
    ),
    1e-12,
  );
  close(sub, full, 0.03);
});

test('5,000 codes of dimension 8 give a silhouette in (0, 1) for separated classes', () => {
  const { codes, labels } = codesOf(5000, 8, [0, 1, 2, 3], 1.5, 12);
  const s = silhouette(codes, 8, labels);
  assert.ok(s > 0 && s < 1);
});

test('codes and labels of mismatched lengths are GW_ERR_EVAL_INPUT', () => {
  assert.throws(() => silhouette(new Float32Array(5), 2, new Int32Array(3)), { code: 'GW_ERR_EVAL_INPUT' });
  assert.throws(() => fisherRatio(new Float32Array(6), 0, new Int32Array(3)), { code: 'GW_ERR_EVAL_INPUT' });
});
