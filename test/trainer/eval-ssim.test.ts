// Specification of the trainer's SSIM: it matches scikit-image's structural_similarity on stored image pairs,
// batches independently, runs on the wasm backend and frees its tensors.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import { SSIM_WINDOW, gaussianWindow, meanSsim, ssim } from '../../trainer/eval/ssim.js';
import { decodeRgb, fromUint8Rgb } from '../../trainer/images.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'eval');

// Reference values: printed by test/fixtures/eval/ssim_fixtures.py (run as
// `/usr/bin/python3 test/fixtures/eval/ssim_fixtures.py /work/shared/data/facades/train/1.jpg`) with Debian 12's
// python3-skimage 0.19.3 and numpy 1.24.2: skimage.metrics.structural_similarity(a, b, gaussian_weights=True,
// sigma=1.5, use_sample_covariance=False, data_range=L, channel_axis=-1) on the stored PNGs read as v/127.5 − 1.
// facade*.png come from the photo half of CMP Facades train/1.jpg, downscaled to 64×64 (Lanczos).
const REFERENCE: ReadonlyArray<{ a: string; b: string; dataRange: number; ssim: number }> = [
  { a: 'const-grey', b: 'const-grey', dataRange: 2, ssim: 1.0 },
  { a: 'const-grey', b: 'const-rust', dataRange: 2, ssim: -0.0026408388376988104 },
  { a: 'natural', b: 'natural-noisy', dataRange: 2, ssim: 0.7634625800130167 },
  { a: 'natural', b: 'natural-shift', dataRange: 2, ssim: 0.08088207079401945 },
  { a: 'natural', b: 'natural-shift1', dataRange: 2, ssim: 0.7818282578496784 },
  { a: 'noise-a', b: 'noise-b', dataRange: 2, ssim: 0.013612322100851504 },
  { a: 'facade', b: 'facade-noisy', dataRange: 2, ssim: 0.8988102135118394 },
  { a: 'facade', b: 'facade-blur', dataRange: 2, ssim: 0.6506953035861537 },
  { a: 'natural', b: 'facade', dataRange: 2, ssim: 0.007690730347169599 },
  { a: 'rect', b: 'rect-noisy', dataRange: 2, ssim: 0.3577705658906239 },
  { a: 'natural', b: 'natural-noisy', dataRange: 1, ssim: 0.7305769390254987 },
];

const images = new Map<string, { data: Float32Array; h: number; w: number }>();

async function load(name: string): Promise<{ data: Float32Array; h: number; w: number }> {
  const cached = images.get(name);
  if (cached) return cached;
  const img = await decodeRgb(path.join(FIXTURES, `${name}.png`));
  const entry = { data: fromUint8Rgb(img.data), h: img.height, w: img.width };
  images.set(name, entry);
  return entry;
}

function batchOf(...imgs: Array<{ data: Float32Array; h: number; w: number }>): tf.Tensor4D {
  const { h, w } = imgs[0]!;
  const all = new Float32Array(imgs.length * h * w * 3);
  imgs.forEach((im, i) => all.set(im.data, i * h * w * 3));
  return tf.tensor4d(all, [imgs.length, h, w, 3]);
}

before(async () => {
  await initBackend('wasm');
  for (const r of REFERENCE) {
    await load(r.a);
    await load(r.b);
  }
});

test("the window is scipy.ndimage's normalised Gaussian for σ = 1.5 and radius 5", () => {
  const g = gaussianWindow();
  assert.equal(g.length, SSIM_WINDOW);
  assert.ok(Math.abs(g.reduce((s, v) => s + v, 0) - 1) < 1e-6);
  // scipy.ndimage._gaussian_kernel1d(1.5, 0, 5): centre and edge weights.
  assert.ok(Math.abs(g[5]! - 0.26601172) < 1e-7);
  assert.ok(Math.abs(g[0]! - 0.00102838) < 1e-7);
});

for (const r of REFERENCE) {
  test(`SSIM(${r.a}, ${r.b}, L=${r.dataRange}) matches scikit-image to 1e-4`, () => {
    const x = batchOf(images.get(r.a)!);
    const y = batchOf(images.get(r.b)!);
    const v = meanSsim(x, y, r.dataRange);
    tf.dispose([x, y]);
    assert.ok(Math.abs(v - r.ssim) < 1e-4, `got ${v}, scikit-image ${r.ssim}`);
  });
}

test('a batch gives each pair its own SSIM, as if computed alone', () => {
  const pairs = REFERENCE.filter((r) => images.get(r.a)!.h === 64 && r.dataRange === 2);
  const x = batchOf(...pairs.map((r) => images.get(r.a)!));
  const y = batchOf(...pairs.map((r) => images.get(r.b)!));
  const out = ssim(x, y, 2);
  const got = out.dataSync();
  tf.dispose([x, y, out]);
  assert.equal(got.length, pairs.length);
  pairs.forEach((r, i) => assert.ok(Math.abs(got[i]! - r.ssim) < 1e-4, `${r.a}/${r.b}: ${got[i]} vs ${r.ssim}`));
});

test('SSIM is symmetric and 1 for identical images', () => {
  const a = batchOf(images.get('facade')!);
  const b = batchOf(images.get('facade-blur')!);
  assert.ok(Math.abs(meanSsim(a, b, 2) - meanSsim(b, a, 2)) < 1e-6);
  assert.ok(Math.abs(meanSsim(a, a, 2) - 1) < 1e-6);
  tf.dispose([a, b]);
});

test('SSIM leaves no tensors behind', () => {
  const a = batchOf(images.get('natural')!, images.get('facade')!);
  const b = batchOf(images.get('natural-noisy')!, images.get('facade-noisy')!);
  const before = tf.memory().numTensors;
  meanSsim(a, b, 2);
  const out = ssim(a, b, 2);
  assert.equal(tf.memory().numTensors, before + 1);
  tf.dispose([a, b, out]);
});

test('mismatched shapes, images under 11×11 and a bad data range are GW_ERR_EVAL_INPUT', () => {
  const a = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
  const b = tf.zeros([1, 16, 15, 3]) as tf.Tensor4D;
  const small = tf.zeros([1, 10, 16, 3]) as tf.Tensor4D;
  assert.throws(() => ssim(a, b, 2), { code: 'GW_ERR_EVAL_INPUT' });
  assert.throws(() => ssim(small, small, 2), { code: 'GW_ERR_EVAL_INPUT' });
  assert.throws(() => ssim(a, a, 0), { code: 'GW_ERR_EVAL_INPUT' });
  tf.dispose([a, b, small]);
});
