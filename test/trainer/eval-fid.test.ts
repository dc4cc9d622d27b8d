// Specification of FID: the Fréchet distance in float64 (closed forms, scipy references, both routes agree),
// and the feature-model evaluator (loading from disk or URL, features, FID, and saying why when it cannot).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import {
  FidEvaluator,
  frechetDistance,
  frechetDistanceOfFeatures,
  isFidUnavailable,
  meanAndCov,
} from '../../trainer/eval/fid.js';
import type { FeatureSet } from '../../trainer/eval/fid.js';
import { frechetRoute } from '../../trainer/eval/frechet.js';
import { crossProducts, selfProducts, symmetricEigenvalues } from '../../trainer/eval/linalg.js';
import { fileModelSaver } from '../../trainer/eval/model-files.js';
import { park } from '../support/streams.js';

function take(seed: number, count: number): Float64Array {
  const r = park(seed);
  return Float64Array.from({ length: count }, r);
}

/** Σ = A·Aᵀ/m, A (d × m) = park(seed) − 0.5 row-major; as fid_fixtures.py's wishart(). */
function wishart(d: number, m: number, seed: number): Float64Array {
  const a = take(seed, d * m).map((v) => v - 0.5);
  const s = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < m; k++) acc += a[i * m + k]! * a[j * m + k]!;
      s[i * d + j] = acc / m;
    }
  }
  return s;
}

function mean(d: number, seed: number): Float64Array {
  return take(seed, d).map((v) => (v - 0.5) * 2);
}

function diag(values: number[]): Float64Array {
  const d = values.length;
  const m = new Float64Array(d * d);
  values.forEach((v, i) => (m[i * d + i] = v));
  return m;
}

function close(actual: number, expected: number, relTol: number, what = ''): void {
  assert.ok(
    Math.abs(actual - expected) <= relTol * Math.max(1, Math.abs(expected)),
    `${what} got ${actual}, expected ${expected}`,
  );
}

// ---------- Fréchet distance: closed forms ----------

test('identical Gaussians are at distance 0', () => {
  const s = wishart(16, 19, 5);
  const mu = mean(16, 6);
  close(frechetDistance(mu, s, mu, s), 0, 1e-10);
});

test('equal covariances and shifted means give ‖Δμ‖²', () => {
  const s = wishart(32, 40, 7);
  const mu1 = mean(32, 8);
  const mu2 = mu1.map((v, i) => v + 0.1 * (i % 3) - 0.05);
  const dm2 = mu1.reduce((acc, v, i) => acc + (v - mu2[i]!) ** 2, 0);
  close(frechetDistance(mu1, s, mu2, s), dm2, 1e-9);
});

test('diagonal covariances give Σ(σ1 + σ2 − 2√(σ1σ2)) + ‖Δμ‖²', () => {
  const v1 = [1, 4, 0.25, 9, 2.5, 0.01];
  const v2 = [4, 1, 1, 0.5, 2.5, 3];
  const mu1 = new Float64Array([0, 1, 2, 3, 4, 5]);
  const mu2 = new Float64Array([1, 1, 2, 2, 4, 5.5]);
  const expected = v1.reduce((acc, a, i) => acc + a + v2[i]! - 2 * Math.sqrt(a * v2[i]!), 0) + 1 + 1 + 0.25;
  close(frechetDistance(mu1, diag(v1), mu2, diag(v2)), expected, 1e-12);
});

test('singular covariances are exact: rank-1 Σ1 = aaᵀ, Σ2 = bbᵀ give ‖a‖² + ‖b‖² − 2|a·b|', () => {
  const d = 12;
  const a = mean(d, 9);
  const b = mean(d, 10);
  const outer = (v: Float64Array) => Float64Array.from({ length: d * d }, (_, k) => v[Math.floor(k / d)]! * v[k % d]!);
  const dot = a.reduce((acc, v, i) => acc + v * b[i]!, 0);
  const expected = a.reduce((s, v) => s + v * v, 0) + b.reduce((s, v) => s + v * v, 0) - 2 * Math.abs(dot);
  const zero = new Float64Array(d);
  close(frechetDistance(zero, outer(a), zero, outer(b)), expected, 1e-9);
  // A zero covariance on either side leaves the other one's trace.
  close(
    frechetDistance(zero, new Float64Array(d * d), zero, outer(b)),
    b.reduce((s, v) => s + v * v, 0),
    1e-12,
  );
});

test("the offset option is pytorch-fid's Σ + ε·I on both sides", () => {
  const d = 16;
  const s1 = wishart(d, 19, 1);
  const s2 = wishart(d, 19, 2);
  const mu = mean(d, 3);
  const eps = 0.01;
  const plus = (s: Float64Array) => s.map((v, k) => (Math.floor(k / d) === k % d ? v + eps : v));
  close(frechetDistance(mu, s1, mu, s2, { offset: eps }), frechetDistance(mu, plus(s1), mu, plus(s2)), 1e-12);
});

test('tiled products equal plain dot products at odd sizes and across column tiles', () => {
  const [ra, rb, len] = [37, 29, 530];
  const a = take(81, ra * len).map((v) => v - 0.5);
  const b = take(82, rb * len).map((v) => v - 0.5);
  const naive = (x: Float64Array, i: number, y: Float64Array, j: number) => {
    let s = 0;
    for (let k = 0; k < len; k++) s += x[i * len + k]! * y[j * len + k]!;
    return s;
  };
  const c = crossProducts(a, ra, b, rb, len);
  for (let i = 0; i < ra; i++) for (let j = 0; j < rb; j++) close(c[i * rb + j]!, naive(a, i, b, j), 1e-12);
  const g = selfProducts(a, ra, len);
  for (let i = 0; i < ra; i++) for (let j = 0; j < ra; j++) close(g[i * ra + j]!, naive(a, i, a, j), 1e-12);
});

test('symmetric eigenvalues: a known spectrum comes back from Q·diag·Qᵀ', () => {
  // Q = Householder reflection I − 2uuᵀ/uᵀu.
  const d = 7;
  const u = mean(d, 77);
  const uu = u.reduce((s, v) => s + v * v, 0);
  const lambdas = [-3, 0, 0.5, 1, 1, 2, 10];
  const q = (i: number, j: number) => (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu;
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++)
      for (let k = 0; k < d; k++) m[i * d + j] = m[i * d + j]! + q(i, k) * lambdas[k]! * q(j, k);
  const got = symmetricEigenvalues(m, d);
  lambdas.forEach((l, i) => close(got[i]!, l, 1e-12, `eigenvalue ${i}`));
});

test('symmetric eigenvalues converge on a rank-deficient Gram matrix: rank-many nonzero, summing to the trace', () => {
  // G·Gᵀ with G 200 × 31: rank 31, 169 eigenvalues at rounding level. A purely relative QL split test stalls on
  // exactly this matrix ('did not converge'); the ε·‖T‖ floor lets it finish.
  const n = 200;
  const r = 31;
  const g = take(5, n * r).map((v) => v - 0.5);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      for (let k = 0; k < r; k++) m[i * n + j] = m[i * n + j]! + g[i * r + k]! * g[j * r + k]!;
  const ev = symmetricEigenvalues(m, n);
  const trace = Array.from({ length: n }, (_, i) => m[i * n + i]!).reduce((a, b) => a + b, 0);
  close(
    ev.reduce((a, b) => a + b, 0),
    trace,
    1e-12,
  );
  assert.equal(ev.filter((l) => l > 1e-10 * ev[n - 1]!).length, r);
});

// ---------- Fréchet distance: scipy references ----------
// Values printed by test/fixtures/eval/fid_fixtures.py (`/usr/bin/python3 test/fixtures/eval/fid_fixtures.py`) with
// Debian 12's python3-scipy 1.10.1 / numpy 1.24.2: pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm of
// sigma1·sigma2) on inputs regenerated here from the same Park–Miller streams.

const GAUSSIANS = [
  { d: 16, m: 19, seeds: [1, 2, 3, 4], fid: 10.583571785769353 },
  { d: 64, m: 70, seeds: [11, 12, 13, 14], fid: 42.81388027564435 },
  { d: 64, m: 64, seeds: [21, 22, 23, 24], fid: 50.48391809628287 },
] as const;

for (const g of GAUSSIANS) {
  test(`Fréchet distance of the ${g.d}-d Wishart pair (seeds ${g.seeds.join(',')}) matches scipy/pytorch-fid`, () => {
    const [a, b, c, e] = g.seeds;
    const got = frechetDistance(mean(g.d, c), wishart(g.d, g.m, a), mean(g.d, e), wishart(g.d, g.m, b));
    close(got, g.fid, 1e-9);
  });
}

const FEATURE_SETS = [
  { n1: 40, n2: 50, d: 16, seeds: [31, 32], fid: 1.413811997146115 },
  { n1: 300, n2: 200, d: 32, seeds: [41, 42], fid: 2.4377394753423456 },
] as const;

/** n × d = park(seed) row-major, optionally scaled and shifted; as fid_fixtures.py. */
function featureSet(n: number, d: number, seed: number, scale = 1, shift = 0): FeatureSet {
  return { features: take(seed, n * d).map((v) => v * scale + shift), n, d };
}

for (const f of FEATURE_SETS) {
  test(`FID of feature sets ${f.n1}×${f.d} and ${f.n2}×${f.d} matches scipy/pytorch-fid by both routes`, () => {
    const a = featureSet(f.n1, f.d, f.seeds[0]);
    const b = featureSet(f.n2, f.d, f.seeds[1], 1.3, 0.1);
    close(frechetDistanceOfFeatures(a, b, 'covariance'), f.fid, 1e-9, 'covariance route');
    close(frechetDistanceOfFeatures(a, b, 'gram'), f.fid, 1e-9, 'gram route');
  });
}

// Fewer samples than dimensions (singular covariances), from the same script: 'exact' is the nuclear norm of the
// centred cross-Gram matrix by numpy.linalg.svd; pytorch-fid's sqrtm of the singular product gives 7.283015079250385
// and 5.588964770038605 there, 2.5e-8 and 2.9e-8 off.
const SINGULAR = [
  { n1: 30, n2: 45, d: 96, seeds: [51, 52], exact: 7.283015258569887 },
  { n1: 20, n2: 20, d: 64, seeds: [53, 54], exact: 5.58896492954987 },
] as const;

for (const f of SINGULAR) {
  test(`FID with fewer samples than dimensions (${f.n1}, ${f.n2} in ${f.d}-d) is exact by both routes`, () => {
    const a = featureSet(f.n1, f.d, f.seeds[0]);
    const b = featureSet(f.n2, f.d, f.seeds[1], 0.8, 0.05);
    close(frechetDistanceOfFeatures(a, b, 'covariance'), f.exact, 1e-9, 'covariance route');
    close(frechetDistanceOfFeatures(a, b, 'gram'), f.exact, 1e-9, 'gram route');
    assert.equal(frechetRoute(f.n1, f.n2, f.d), 'gram');
  });
}

test('the route is picked by cost: cross products for few samples, covariances for many', () => {
  assert.equal(frechetRoute(500, 500, 2048), 'gram');
  assert.equal(frechetRoute(5000, 5000, 64), 'covariance');
  assert.equal(frechetRoute(40, 50, 16), 'covariance');
});

test('meanAndCov gives the mean and the (n − 1)-normalised covariance', () => {
  // Rows (1, 2), (3, 6), (5, 4): mean (3, 4); deviations (−2, −2), (0, 2), (2, 0).
  const { mu, sigma } = meanAndCov(new Float64Array([1, 2, 3, 6, 5, 4]), 3, 2);
  assert.deepEqual([...mu], [3, 4]);
  assert.deepEqual([...sigma], [4, 2, 2, 4]);
});

test('non-finite features give a NaN FID, and a single sample is refused', () => {
  const a = featureSet(5, 4, 61);
  const b = featureSet(5, 4, 62);
  b.features[3] = Number.NaN;
  assert.ok(Number.isNaN(frechetDistanceOfFeatures(a, b)));
  assert.throws(() => meanAndCov(new Float64Array(4), 1, 4), { code: 'GW_ERR_EVAL_INPUT' });
});

// ---------- FidEvaluator ----------

let tmp = '';

before(async () => {
  await initBackend('wasm');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ganwatch-fid-'));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A tiny conv net standing in for Inception: 24×24×3 → 6 features (pooled, or left 4-D for the evaluator to pool). */
async function saveTinyModel(dir: string, pooled: boolean): Promise<void> {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [24, 24, 3],
      filters: 6,
      kernelSize: 3,
      strides: 2,
      activation: 'tanh',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    }),
  );
  if (pooled) model.add(tf.layers.globalAveragePooling2d({}));
  await model.save(fileModelSaver(dir));
  model.dispose();
}

/** Images in [−1, 1]: smooth colour ramps whose slope depends on `style`, plus a little per-image variation. */
function images(n: number, size: number, style: number, seed: number): tf.Tensor4D {
  const r = park(seed);
  const data = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i++) {
    const phase = r() * 6;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 3;
        data[o] = Math.sin(phase + (x * style) / size);
        data[o + 1] = Math.cos(phase + (y * style) / size);
        data[o + 2] = ((x + y) / size - 1) * (style / 8);
      }
    }
  }
  return tf.tensor4d(data, [n, size, size, 3]);
}

test('a model saved to a folder loads, reports its feature size and input size, and gives a finite FID', async () => {
  const dir = path.join(tmp, 'pooled');
  await saveTinyModel(dir, true);
  const ev = await FidEvaluator.load(dir);
  assert.ok(!isFidUnavailable(ev), isFidUnavailable(ev) ? ev.unavailable : '');
  assert.equal(ev.featureDim, 6);
  assert.equal(ev.inputHeight, 24);
  assert.equal(ev.kind, 'layers-model');
  const gen = images(12, 32, 3, 1);
  const real = images(10, 32, 9, 2);
  const res = await ev.fid(gen, real);
  assert.equal(res.n, 12);
  assert.equal(res.nReal, 10);
  assert.equal(res.featureDim, 6);
  assert.ok(Number.isFinite(res.fid) && res.fid > 0, `fid ${res.fid}`);
  // The same images on both sides: distance 0.
  const same = await ev.fid(real, real);
  close(same.fid, 0, 1e-9);
  // Precomputed real features give the same value as the images.
  const realFeatures = await ev.features(real);
  assert.equal((await ev.fid(gen, realFeatures)).fid, res.fid);
  tf.dispose([gen, real]);
  ev.dispose();
});

test('a 4-D feature map output is average-pooled to one vector per image', async () => {
  const dir = path.join(tmp, 'map');
  await saveTinyModel(dir, false);
  const ev = await FidEvaluator.load(path.join(dir, 'model.json'));
  assert.ok(!isFidUnavailable(ev));
  assert.equal(ev.featureDim, 6);
  const x = images(3, 24, 5, 3);
  const f = await ev.features(x);
  assert.equal(f.n, 3);
  assert.equal(f.features.length, 18);
  assert.ok(f.features.every(Number.isFinite));
  x.dispose();
  ev.dispose();
});

/** A hand-written graph model (the format tensorflowjs_converter gives Inception): conv 3×3/2 → tanh → spatial mean. */
async function saveTinyGraphModel(dir: string): Promise<void> {
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const T = { type: 'DT_FLOAT' };
  const json = {
    format: 'graph-model',
    generatedBy: 'ganwatch test',
    modelTopology: {
      node: [
        { name: 'images', op: 'Placeholder', attr: { dtype: T, shape: { shape: dims(-1, 20, 20, 3) } } },
        {
          name: 'w',
          op: 'Const',
          attr: { dtype: T, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(3, 3, 3, 4) } } },
        },
        {
          name: 'conv',
          op: 'Conv2D',
          input: ['images', 'w'],
          attr: {
            T,
            strides: { list: { i: ['1', '2', '2', '1'] } },
            padding: { s: b64('VALID') },
            data_format: { s: b64('NHWC') },
            dilations: { list: { i: ['1', '1', '1', '1'] } },
          },
        },
        { name: 'act', op: 'Tanh', input: ['conv'], attr: { T } },
        {
          name: 'axes',
          op: 'Const',
          attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims(2) } } },
        },
        {
          name: 'features',
          op: 'Mean',
          input: ['act', 'axes'],
          attr: { T, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } },
        },
      ],
      library: {},
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'w', shape: [3, 3, 3, 4], dtype: 'float32' },
          { name: 'axes', shape: [2], dtype: 'int32' },
        ],
      },
    ],
  };
  const w = Float32Array.from({ length: 108 }, (_, i) => Math.sin(i * 0.7) * 0.3);
  const axes = Int32Array.from([1, 2]);
  const bin = Buffer.concat([Buffer.from(w.buffer), Buffer.from(axes.buffer)]);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(path.join(dir, 'group1-shard1of1.bin'), bin);
}

test('a graph model (converter format) loads from disk; its feature size comes from a forward pass', async () => {
  const dir = path.join(tmp, 'graph');
  await saveTinyGraphModel(dir);
  const ev = await FidEvaluator.load(dir, { output: 'features' });
  assert.ok(!isFidUnavailable(ev), isFidUnavailable(ev) ? ev.unavailable : '');
  assert.equal(ev.kind, 'graph-model');
  assert.equal(ev.featureDim, 4);
  assert.equal(ev.inputHeight, 20);
  const gen = images(6, 32, 3, 6);
  const real = images(7, 32, 8, 7);
  const res = await ev.fid(gen, real);
  assert.ok(Number.isFinite(res.fid) && res.fid > 0, `fid ${res.fid}`);
  assert.equal(res.featureDim, 4);
  tf.dispose([gen, real]);
  ev.dispose();
  const wrong = await FidEvaluator.load(dir, { output: 'logits' });
  assert.ok(isFidUnavailable(wrong));
  assert.match(wrong.unavailable, /test forward pass failed.*logits/);
});

test('features and FID leave no tensors behind', async () => {
  const dir = path.join(tmp, 'pooled-leak');
  await saveTinyModel(dir, true);
  const ev = await FidEvaluator.load(`file://${dir}`, { batchSize: 4 });
  assert.ok(!isFidUnavailable(ev));
  const gen = images(10, 20, 3, 4);
  const real = images(9, 20, 6, 5);
  const before = tf.memory().numTensors;
  await ev.fid(gen, real);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([gen, real]);
  ev.dispose();
});

test('no model path gives unavailable, never a number', async () => {
  const ev = await FidEvaluator.load(undefined);
  assert.ok(isFidUnavailable(ev));
  assert.match(ev.unavailable, /no FID feature model/);
});

test('a missing folder is unavailable and named', async () => {
  const missing = path.join(tmp, 'nope');
  const ev = await FidEvaluator.load(missing);
  assert.ok(isFidUnavailable(ev));
  assert.ok(ev.unavailable.includes(missing) && /does not exist/.test(ev.unavailable), ev.unavailable);
});

test('a corrupt model.json is unavailable: not valid JSON', async () => {
  const dir = path.join(tmp, 'corrupt');
  await saveTinyModel(dir, true);
  await writeFile(path.join(dir, 'model.json'), '{"modelTopology": {"class_name": "Sequ');
  const ev = await FidEvaluator.load(dir);
  assert.ok(isFidUnavailable(ev));
  assert.match(ev.unavailable, /not valid JSON/);
});

test('a model.json without a topology, or with missing or short weights, is unavailable and says which', async () => {
  const dir = path.join(tmp, 'broken');
  await saveTinyModel(dir, true);
  const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
  const weights = await readFile(path.join(dir, 'weights.bin'));

  await writeFile(path.join(dir, 'model.json'), JSON.stringify({ ...json, modelTopology: undefined }));
  let ev = await FidEvaluator.load(dir);
  assert.ok(isFidUnavailable(ev));
  assert.match(ev.unavailable, /no modelTopology/);

  await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(path.join(dir, 'weights.bin'), weights.subarray(0, weights.length - 8));
  ev = await FidEvaluator.load(dir);
  assert.ok(isFidUnavailable(ev));
  assert.match(ev.unavailable, /weight files hold \d+ bytes, model.json declares \d+/);

  await rm(path.join(dir, 'weights.bin'));
  ev = await FidEvaluator.load(dir);
  assert.ok(isFidUnavailable(ev));
  assert.match(ev.unavailable, /weights\.bin' listed in model.json is missing/);
});

test('a model whose input is not an RGB image is unavailable', async () => {
  const dir = path.join(tmp, 'gray');
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [16, 16, 1], filters: 2, kernelSize: 3 }));
  await model.save(fileModelSaver(dir));
  model.dispose();
  const ev = await FidEvaluator.load(dir);
  assert.ok(isFidUnavailable(ev));
  assert.match(ev.unavailable, /1 channels, 3 \(RGB\) expected/);
});

test('a model is also loaded from an http URL of its model.json', async () => {
  const dir = path.join(tmp, 'served');
  await saveTinyModel(dir, true);
  const server = http.createServer((req, res) => {
    readFile(path.join(dir, path.basename(req.url ?? '')))
      .then((body) => res.end(body))
      .catch(() => {
        res.statusCode = 404;
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const ev = await FidEvaluator.load(`http://127.0.0.1:${port}/model.json`);
    assert.ok(!isFidUnavailable(ev), isFidUnavailable(ev) ? ev.unavailable : '');
    assert.equal(ev.featureDim, 6);
    ev.dispose();
    const missing = await FidEvaluator.load(`http://127.0.0.1:${port}/other/none.json`);
    assert.ok(isFidUnavailable(missing));
    assert.match(missing.unavailable, /HTTP 404/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
