// Specification of output diversity (mean pairwise L1 between outputs of different z) and mode coverage
// (palettes reached per input on the synthetic set).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import { SyntheticDataset } from '../../trainer/data/synthetic.js';
import { diversity, diversityPerInput, modeCoverage } from '../../trainer/eval/diversity.js';

before(async () => {
  await initBackend('wasm');
});

/** k constant images (h × w × c) with the given values. */
function constants(values: number[], h = 2, w = 2, c = 1): tf.Tensor4D {
  const per = h * w * c;
  return tf.tensor4d(
    Float32Array.from({ length: values.length * per }, (_, i) => values[Math.floor(i / per)]!),
    [values.length, h, w, c],
  );
}

test('identical outputs have diversity 0', () => {
  const same = tf.tile(tf.randomUniform([1, 8, 8, 3], -1, 1, 'float32', 1), [4, 1, 1, 1]) as tf.Tensor4D;
  assert.equal(diversity([same, same]), 0);
  same.dispose();
});

test('diversity is the mean over pairs of the mean absolute difference', () => {
  // Values 0, 0.5, −1: pairs differ by 0.5, 1 and 1.5 → 1.0. Values 1, −1: one pair, 2 (the maximum).
  const a = constants([0, 0.5, -1]);
  const b = constants([1, -1]);
  const per = diversityPerInput([a, b]);
  assert.ok(Math.abs(per[0]! - 1) < 1e-6);
  assert.ok(Math.abs(per[1]! - 2) < 1e-6);
  assert.ok(Math.abs(diversity([a, b]) - 1.5) < 1e-6);
  tf.dispose([a, b]);
});

test('pixels that differ count by their share of the image', () => {
  // Two 2×2 images differing by 2 in one pixel of one channel out of 2×2×3 values: 2/12.
  const x = tf.zeros([2, 2, 2, 3]).bufferSync();
  x.set(2, 1, 0, 1, 2);
  const t = x.toTensor() as tf.Tensor4D;
  assert.ok(Math.abs(diversity([t]) - 2 / 12) < 1e-7);
  t.dispose();
});

test('a [inputs, samples, H, W, C] tensor gives the same as a list, and no tensors are left behind', () => {
  const a = constants([0, 0.5, -1], 3, 3, 3);
  const b = constants([0.25, 0.25, 1], 3, 3, 3);
  const stacked = tf.stack([a, b]) as tf.Tensor5D;
  const before = tf.memory().numTensors;
  const fromList = diversity([a, b]);
  const fromTensor = diversity(stacked);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Math.abs(fromList - fromTensor) < 1e-7);
  assert.ok(Math.abs(fromTensor - (1 + 0.5) / 2) < 1e-6);
  tf.dispose([a, b, stacked]);
});

test('diversity needs two samples per input', () => {
  const one = constants([0]);
  assert.throws(() => diversity([one]), { code: 'GW_ERR_EVAL_INPUT' });
  assert.throws(() => diversity([]), { code: 'GW_ERR_EVAL_INPUT' });
  one.dispose();
});

const SIZE = 32;
const K = 4;
const data = new SyntheticDataset({ size: SIZE, classes: K, seed: 3, valCount: 8 });

test("outputs that are exactly the K palettes' targets cover every mode", () => {
  const inputs = [0, 1, 2].map((i) => data.variants('val', i).b);
  assert.equal(modeCoverage(inputs, K, SIZE), 1);
  const t = tf.tensor5d(Float32Array.from(inputs.flatMap((x) => [...x])), [3, K, SIZE, SIZE, 3]);
  assert.equal(modeCoverage(t, K, SIZE), 1);
  t.dispose();
});

test('identical outputs cover 1/K of the modes', () => {
  const per = SIZE * SIZE * 3;
  const inputs = [0, 1].map((i) => {
    const b = data.variants('val', i).b;
    const out = new Float32Array(K * per);
    for (let k = 0; k < K; k++) out.set(b.subarray(2 * per, 3 * per), k * per); // palette 2, K times
    return out;
  });
  assert.equal(modeCoverage(inputs, K, SIZE), 1 / K);
});

test('coverage averages over inputs: 2 of 4 palettes on one input and 4 of 4 on another give 0.75', () => {
  const per = SIZE * SIZE * 3;
  const full = data.variants('val', 0).b;
  const half = Float32Array.from(data.variants('val', 1).b);
  half.copyWithin(2 * per, 0, 2 * per); // samples 2, 3 repeat palettes 0, 1
  assert.equal(modeCoverage([full, half], K, SIZE), 0.75);
});

test('with maxDistance, outputs far from every palette are not counted', () => {
  const per = SIZE * SIZE * 3;
  // Pure magenta everywhere: it has a nearest palette, but is at least 1.5 from every palette's colours.
  const magenta = Float32Array.from({ length: K * per }, (_, i) => (i % 3 === 1 ? -1 : 1));
  assert.equal(modeCoverage([magenta], K, SIZE), 1 / K);
  assert.equal(modeCoverage([magenta], K, SIZE, { maxDistance: 0.1 }), 0);
  assert.equal(modeCoverage([data.variants('val', 0).b], K, SIZE, { maxDistance: 0.1 }), 1);
});
