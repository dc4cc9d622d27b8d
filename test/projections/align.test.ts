// Specification of how successive epochs' pictures are kept in place (Procrustes with reflection and scale, class
// centroids, PCA signs, t-SNE started from the previous layout), of subsampling above a method's working limit,
// and of when the class-separation figures are skipped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applySimilarity,
  fixAxisSigns,
  procrustes,
  rmsDistance,
  sharedCentroids,
} from '../../server/projections/align.js';
import { projectCodes, separationOf, type PreviousProjection } from '../../server/projections/compute.js';
import { gaussian, seededRandom } from '../../server/projections/random.js';
import { clusters } from '../../harness/clusters.js';

function cloud(n: number, seed: number): Float64Array {
  const r = seededRandom(seed);
  return Float64Array.from({ length: 2 * n }, () => 3 * gaussian(r));
}

/** y = s·Q·x + t for a rotation by phi, reflected (x ↦ −x first) when asked. */
function transform(X: Float64Array, phi: number, s: number, t: [number, number], reflect: boolean): Float64Array {
  const out = new Float64Array(X.length);
  for (let i = 0; i < X.length; i += 2) {
    const x = reflect ? -X[i]! : X[i]!;
    const y = X[i + 1]!;
    out[i] = s * (Math.cos(phi) * x - Math.sin(phi) * y) + t[0];
    out[i + 1] = s * (Math.sin(phi) * x + Math.cos(phi) * y) + t[1];
  }
  return out;
}

test('Procrustes maps a rotated, scaled and shifted copy back onto the original (error ≈ 0)', () => {
  const ref = cloud(200, 1);
  const moved = transform(ref, 2.1, 0.37, [5, -8], false);
  const t = procrustes(moved, ref);
  assert.equal(t.reflected, false);
  applySimilarity(moved, t);
  assert.ok(rmsDistance(moved, ref) < 1e-9, `rms ${rmsDistance(moved, ref)}`);
});

test('Procrustes undoes a reflection too', () => {
  const ref = cloud(150, 2);
  const mirrored = transform(ref, -0.7, 4.2, [-1, 3], true);
  const t = procrustes(mirrored, ref);
  assert.equal(t.reflected, true);
  applySimilarity(mirrored, t);
  assert.ok(rmsDistance(mirrored, ref) < 1e-9, `rms ${rmsDistance(mirrored, ref)}`);
});

test('with noise, Procrustes is the least-squares fit: no other angle or scale does better', () => {
  const ref = cloud(100, 3);
  const r = seededRandom(4);
  const noisy = transform(ref, 1.0, 2, [1, 1], false).map((v) => v + 0.3 * gaussian(r));
  const fit = Float64Array.from(noisy);
  applySimilarity(fit, procrustes(noisy, ref));
  const best = rmsDistance(fit, ref);
  for (const [dphi, ds] of [
    [0.02, 1],
    [-0.02, 1],
    [0, 1.02],
    [0, 0.98],
  ] as const) {
    const t = procrustes(noisy, ref);
    const phi = Math.atan2(t.q[2], t.q[0]) + dphi;
    const other = Float64Array.from(noisy);
    applySimilarity(other, {
      ...t,
      q: [Math.cos(phi), -Math.sin(phi), Math.sin(phi), Math.cos(phi)],
      scale: t.scale * ds,
    });
    assert.ok(rmsDistance(other, ref) >= best - 1e-12);
  }
});

test('without scaling, a layout fitted onto an unrelated one keeps its size (least squares would shrink it to a dot)', () => {
  const ref = cloud(200, 10);
  const other = cloud(200, 11);
  const size = (Y: Float64Array): number => rmsDistance(Y, new Float64Array(Y.length));
  assert.ok(procrustes(other, ref).scale < 0.2, 'the least-squares scale of two unrelated clouds is near 0');
  const t = procrustes(other, ref, undefined, { scale: false });
  assert.equal(t.scale, 1);
  const moved = Float64Array.from(other);
  applySimilarity(moved, t);
  const centred = (Y: Float64Array): Float64Array => {
    const m = [0, 1].map((c) => Y.filter((_, i) => i % 2 === c).reduce((s, v) => s + v, 0) / (Y.length / 2));
    return Y.map((v, i) => v - m[i % 2]!);
  };
  assert.ok(Math.abs(size(centred(moved)) - size(centred(other))) < 1e-9 * size(other));
});

test('class centroids carry the fit when the points do not correspond one to one', () => {
  const ref = cloud(90, 5);
  const labels = Int32Array.from({ length: 90 }, (_, i) => i % 3);
  // Shift each class apart so the centroids are distinct, then move the whole layout.
  for (let i = 0; i < 90; i++) ref[2 * i] = ref[2 * i]! + 20 * (i % 3);
  const moved = transform(ref, 0.9, 1.5, [2, 2], true);
  const c = sharedCentroids(moved, labels, ref, labels)!;
  applySimilarity(moved, procrustes(c.current, c.previous, c.weights));
  assert.ok(rmsDistance(moved, ref) < 1e-9);
  assert.equal(
    sharedCentroids(moved, new Int32Array(90), ref, new Int32Array(90)),
    null,
    'one shared class: nothing to fit',
  );
});

test('PCA axes take the sign of the previous epoch’s axes, and the points follow', () => {
  const axes = [
    [0.6, 0.8],
    [-0.8, 0.6],
  ];
  const Y = Float64Array.from([1, 2, 3, 4]);
  const flipped = fixAxisSigns(
    axes,
    [
      [-0.6, -0.8],
      [-0.8, 0.6],
    ],
    Y,
  );
  assert.deepEqual(flipped, [true, false]);
  assert.deepEqual(axes[0], [-0.6, -0.8]);
  assert.deepEqual(Array.from(Y), [-1, 2, -3, 4]);
});

test('PCA of an epoch whose codes flipped sign is drawn the same way round as the previous epoch', () => {
  const { codes, labels } = clusters(300, 6, 3, 3, 6);
  const first = projectCodes({ method: 'pca', codes, dim: 6, labels });
  const previous: PreviousProjection = {
    epoch: 5,
    sourceCount: 300,
    xy: first.xy,
    indices: null,
    labels,
    params: first.params,
  };
  const negated = codes.map((v) => -v);
  const second = projectCodes({ method: 'pca', codes: negated, dim: 6, labels, previous });
  assert.equal(second.aligned, 'sign');
  assert.deepEqual(second.params.flipped, [true, true]);
  assert.ok(rmsDistance(second.xy, first.xy) < 1e-4, `rms ${rmsDistance(second.xy, first.xy)}`);
});

test('PCA of a set that does not correspond to the previous one takes the previous axes’ signs', () => {
  const { codes, labels } = clusters(300, 6, 3, 3, 6);
  const first = projectCodes({ method: 'pca', codes, dim: 6, labels });
  // As if the previous epoch's solver had returned the first axis the other way round (and had other codes).
  const axes = (first.params.axes as number[][]).map((a, c) => (c === 0 ? a.map((v) => -v) : a));
  const previous: PreviousProjection = {
    epoch: 5,
    sourceCount: 999,
    xy: new Float32Array(2 * 999),
    indices: null,
    labels: null,
    params: { axes },
  };
  const second = projectCodes({ method: 'pca', codes, dim: 6, labels, previous });
  assert.deepEqual(second.params.flipped, [true, false]);
  for (let i = 0; i < 300; i++) {
    assert.ok(Math.abs(second.xy[2 * i]! + first.xy[2 * i]!) < 1e-5);
    assert.ok(Math.abs(second.xy[2 * i + 1]! - first.xy[2 * i + 1]!) < 1e-5);
  }
});

test('t-SNE of the next epoch continues from the previous layout and stays much closer to it than a fresh one', () => {
  const { codes, labels } = clusters(500, 8, 4, 3, 7);
  const first = projectCodes({ method: 'tsne', codes, dim: 8, labels });
  const previous: PreviousProjection = {
    epoch: 5,
    sourceCount: 500,
    xy: first.xy,
    indices: null,
    labels,
    params: first.params,
  };
  const r = seededRandom(8);
  const next = codes.map((v) => v + 0.1 * gaussian(r));
  const second = projectCodes({ method: 'tsne', codes: next, dim: 8, labels, previous });
  assert.equal(second.aligned, 'init+procrustes');
  assert.equal(second.params.init, 'epoch 5');
  // A fresh layout of the same codes, only rotated/scaled onto the first (what Procrustes alone achieves).
  const fresh = Float64Array.from(projectCodes({ method: 'tsne', codes: next, dim: 8, labels }).xy);
  applySimilarity(fresh, procrustes(fresh, first.xy));
  let spread = 0;
  for (let i = 0; i < first.xy.length; i++) spread += first.xy[i]! ** 2;
  spread = Math.sqrt(spread / 500);
  const moved = rmsDistance(second.xy, first.xy);
  assert.ok(moved < 0.15 * spread, `rms ${moved} vs spread ${spread}`);
  assert.ok(moved < 0.5 * rmsDistance(fresh, first.xy), `continued ${moved} vs fresh ${rmsDistance(fresh, first.xy)}`);
});

test('above the working limit the codes are subsampled, stratified by class and deterministic', () => {
  const n = 1200;
  const labels = Int32Array.from({ length: n }, (_, i) => (i < 1000 ? 0 : i < 1150 ? 1 : 2));
  const r = seededRandom(9);
  const codes = Float32Array.from({ length: n * 4 }, (_, k) => labels[Math.floor(k / 4)]! * 5 + gaussian(r));
  const a = projectCodes({ method: 'pca', codes, dim: 4, labels, limit: 300 });
  assert.equal(a.xy.length, 600);
  assert.equal(a.stratified, true);
  const count = (c: number) => Array.from(a.labels!).filter((l) => l === c).length;
  assert.deepEqual([count(0), count(1), count(2)], [250, 38, 12]);
  assert.deepEqual(
    Array.from(a.labels!),
    Array.from(a.indices!, (i) => labels[i]!),
  );
  const b = projectCodes({ method: 'pca', codes, dim: 4, labels, limit: 300 });
  assert.deepEqual(b.indices, a.indices);
  assert.deepEqual(b.xy, a.xy);
});

test('separation is skipped, with the reason, without labels or with a single class', () => {
  const codes = Float32Array.from({ length: 40 }, (_, i) => i);
  assert.match(separationOf(codes, 2, null).reason!, /no class labels/);
  const single = separationOf(codes, 2, new Int32Array(20).fill(3));
  assert.equal(single.status, 'skipped');
  assert.match(single.reason!, /same class label \(3\)/);
  const two = separationOf(
    codes,
    2,
    Int32Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 1)),
  );
  assert.equal(two.status, 'ready');
  assert.ok(two.silhouette! > 0.5 && two.fisher! > 1);
});
