// Specification of the server's Barnes-Hut t-SNE: it separates well-separated clusters, keeps neighbourhoods at
// least as well as tsne-js (the library the project started with) on the same data and iterations, and is
// deterministic for a seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tsneJs } from '../../bench/support/tsne-js.js';
import { knnAccuracy, trustworthiness } from '../../server/projections/quality.js';
import { TSNE_DEFAULTS, exactKnn, tsne } from '../../server/projections/tsne.js';
import { clusters } from '../../harness/clusters.js';

test('well-separated Gaussian clusters land in separate 2-D clusters (k-NN class accuracy ≥ 0.95)', () => {
  const { codes, labels } = clusters(1000, 8, 5, 4, 3);
  const { xy } = tsne(codes, 8);
  const acc = knnAccuracy(xy, labels, 10);
  assert.ok(acc >= 0.95, `k-NN accuracy ${acc}`);
  assert.ok(xy.every(Number.isFinite));
});

test('neighbourhoods are kept at least as well as by tsne-js on the same data and iterations', () => {
  const { codes, labels } = clusters(200, 8, 5, 2, 11);
  const ours = tsne(codes, 8);
  const theirs = tsneJs(codes, 8, TSNE_DEFAULTS.iterations);
  const tOurs = trustworthiness(codes, 8, ours.xy, 10);
  const tTheirs = trustworthiness(codes, 8, theirs.xy, 10);
  assert.ok(tOurs >= tTheirs - 1e-9, `trustworthiness ${tOurs} (ours) vs ${tTheirs} (tsne-js)`);
  assert.ok(knnAccuracy(ours.xy, labels, 10) >= knnAccuracy(theirs.xy, labels, 10) - 0.01);
});

test('the same codes and seed give the same layout; another seed gives another', () => {
  const { codes } = clusters(400, 8, 4, 3, 5);
  const a = tsne(codes, 8, { seed: 7, iterations: 300 });
  const b = tsne(codes, 8, { seed: 7, iterations: 300 });
  assert.deepEqual(a.xy, b.xy);
  const c = tsne(codes, 8, { seed: 8, iterations: 300, init: 'random' });
  const d = tsne(codes, 8, { seed: 9, iterations: 300, init: 'random' });
  assert.notDeepEqual(c.xy, d.xy);
});

test('Barnes-Hut forces (θ = 0.5) give the same picture quality as exact ones (θ = 0)', () => {
  const { codes, labels } = clusters(300, 8, 4, 2, 9);
  const approx = tsne(codes, 8, { theta: 0.5 });
  const exact = tsne(codes, 8, { theta: 0 });
  assert.ok(Math.abs(approx.kl - exact.kl) < 0.05 * exact.kl, `KL ${approx.kl} vs exact ${exact.kl}`);
  const ta = trustworthiness(codes, 8, approx.xy, 10);
  const te = trustworthiness(codes, 8, exact.xy, 10);
  assert.ok(Math.abs(ta - te) < 0.01, `trustworthiness ${ta} vs exact ${te}`);
  assert.ok(knnAccuracy(approx.xy, labels) >= 0.9);
});

test('starting from a given layout keeps its arrangement of the clusters', () => {
  const { codes, labels } = clusters(600, 8, 3, 4, 13);
  const first = tsne(codes, 8);
  // Class centroids of the first layout, and of a run started from it on slightly moved codes.
  const moved = codes.map((v, i) => v + 0.05 * Math.sin(i));
  const second = tsne(moved, 8, { init: first.xy });
  const centroid = (xy: Float64Array, c: number): [number, number] => {
    let x = 0;
    let y = 0;
    let k = 0;
    labels.forEach((l, i) => {
      if (l !== c) return;
      x += xy[2 * i]!;
      y += xy[2 * i + 1]!;
      k++;
    });
    return [x / k, y / k];
  };
  // The angle from cluster 0 to clusters 1 and 2 is the same in both (no reflection, no large turn).
  const angle = (xy: Float64Array): number => {
    const [a, b, c] = [centroid(xy, 0), centroid(xy, 1), centroid(xy, 2)];
    return Math.atan2(b[1] - a[1], b[0] - a[0]) - Math.atan2(c[1] - a[1], c[0] - a[0]);
  };
  const wrap = (t: number): number => Math.atan2(Math.sin(t), Math.cos(t));
  assert.ok(Math.abs(wrap(angle(first.xy) - angle(second.xy))) < 0.35, `${angle(first.xy)} vs ${angle(second.xy)}`);
});

test('the reported KL is KL(P‖Q) of the final layout with Q normalised over every pair, so it is ≥ 0', () => {
  const n = 300;
  const { codes } = clusters(n, 8, 4, 2, 9);
  const r = tsne(codes, 8);
  const d2 = (i: number, j: number): number =>
    (r.xy[2 * i]! - r.xy[2 * j]!) ** 2 + (r.xy[2 * i + 1]! - r.xy[2 * j + 1]!) ** 2;
  let Z = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) Z += 1 / (1 + d2(i, j));
  const { rowStart, col, val } = r.affinities;
  let kl = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let e = rowStart[i]!; e < rowStart[i + 1]!; e++) {
      kl += val[e]! * Math.log(val[e]! / (1 / (1 + d2(i, col[e]!)) / Z));
      total += val[e]!;
    }
  }
  assert.ok(Math.abs(total - 1) < 1e-12, `P sums to ${total}`);
  assert.ok(Math.abs(r.kl - kl) < 1e-9 * kl, `reported ${r.kl}, direct ${kl}`);
  assert.ok(r.kl > 0);
});

test('exact neighbours: each row holds the k nearest other codes, nearest first', () => {
  const { codes } = clusters(200, 3, 2, 1, 4);
  const k = 7;
  const knn = exactKnn(codes, 200, 3, k);
  for (const i of [0, 57, 199]) {
    const d = Array.from({ length: 200 }, (_, j) => ({
      j,
      d:
        (codes[3 * i]! - codes[3 * j]!) ** 2 +
        (codes[3 * i + 1]! - codes[3 * j + 1]!) ** 2 +
        (codes[3 * i + 2]! - codes[3 * j + 2]!) ** 2,
    }))
      .filter((e) => e.j !== i)
      .sort((a, b) => a.d - b.d);
    assert.deepEqual(
      Array.from(knn.index.subarray(i * k, i * k + k)),
      d.slice(0, k).map((e) => e.j),
    );
  }
});

test('tiny and degenerate inputs: one point, two points, identical codes', () => {
  assert.equal(tsne(new Float32Array([1, 2]), 2).xy.length, 2);
  const two = tsne(new Float32Array([0, 0, 1, 1]), 2, { iterations: 50 });
  assert.ok(two.xy.every(Number.isFinite));
  const same = tsne(new Float32Array(60).fill(3), 3, { iterations: 100 });
  assert.ok(same.xy.every(Number.isFinite));
});
