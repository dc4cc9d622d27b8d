// The wasm Conv2DBackpropFilter kernel (trainer/kernels/conv2d-backprop-filter.ts) against the cpu backend's.
// Relative error here = max|wasm − cpu| / max|cpu| over the whole filter gradient (a per-tensor scale, so
// near-zero entries, which the two backends sum in different orders, do not blow the ratio up).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import {
  EXPLICIT,
  TOLERANCE,
  convGradient,
  randomValues,
  relativeError,
  size,
  type Pad,
  type Shape4,
  type Strides,
} from '../support/kernels.js';

/** d/dfilter of sum(conv2d(x, filter) · r) on the active backend. */
function filterGradient(xShape: Shape4, fShape: Shape4, strides: Strides, pad: Pad, seed: number): Float32Array {
  return convGradient('filter', xShape, fShape, strides, pad, seed);
}

async function compareWithCpu(xShape: Shape4, fShape: Shape4, strides: Strides, pad: Pad, seed = 7): Promise<void> {
  await initBackend('cpu');
  const expected = filterGradient(xShape, fShape, strides, pad, seed);
  await initBackend('wasm');
  const actual = filterGradient(xShape, fShape, strides, pad, seed);
  const err = relativeError(actual, expected);
  assert.ok(
    err <= TOLERANCE,
    `relative error ${err.toExponential(2)} > ${TOLERANCE} for x ${xShape}, filter ${fShape}, stride ${JSON.stringify(strides)}, pad ${JSON.stringify(pad)}`,
  );
}

// [input NHWC, filter HWIO]: odd and even sizes, non-square, batch 1 and > 1, 3×3 and the 4×4 BicycleGAN uses.
const SHAPES: Array<[Shape4, Shape4]> = [
  [
    [2, 9, 7, 3],
    [3, 3, 3, 4],
  ],
  [
    [3, 16, 16, 5],
    [4, 4, 5, 6],
  ],
  [
    [1, 11, 13, 2],
    [4, 4, 2, 3],
  ],
];

for (const strides of [1, 2]) {
  for (const pad of ['same', 'valid', EXPLICIT] as Pad[]) {
    const padName = typeof pad === 'string' ? pad : `explicit ${JSON.stringify(pad)}`;
    test(`wasm filter gradient equals cpu's for stride ${JSON.stringify(strides)}, padding ${padName}`, async () => {
      for (const [xShape, fShape] of SHAPES) await compareWithCpu(xShape, fShape, strides, pad);
    });
  }
}

test("wasm filter gradient equals cpu's for numeric padding, stride 3 and unequal strides", async () => {
  await compareWithCpu([2, 10, 9, 3], [3, 3, 3, 2], 2, 1);
  await compareWithCpu([2, 10, 9, 3], [3, 3, 3, 2], 3, 'valid');
  await compareWithCpu([2, 12, 12, 4], [4, 4, 4, 8], [2, 1], 'same');
});

test('wasm filter gradient is zero where the conv read only padding', async () => {
  // Rows at padded indices 0 and 3 are read; the single input row sits at index 4, so dW must be 0.
  const pad: Pad = [
    [0, 0],
    [4, 0],
    [0, 0],
    [0, 0],
  ];
  await compareWithCpu([2, 1, 5, 3], [1, 1, 3, 2], 3, pad);
  await initBackend('wasm');
  assert.ok(filterGradient([2, 1, 5, 3], [1, 1, 3, 2], 3, pad, 3).every((v) => v === 0));
});

test('wasm filter gradient of a fused conv2d (bias + relu) equals cpu', async () => {
  const run = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(randomValues(2 * 12 * 12 * 3, 11), [2, 12, 12, 3]);
      const filter = tf.tensor4d(randomValues(4 * 4 * 3 * 8, 12), [4, 4, 3, 8]);
      const bias = tf.tensor1d(randomValues(8, 13));
      return tf
        .grad((f: tf.Tensor) =>
          tf.fused.conv2d({ x, filter: f as tf.Tensor4D, strides: 2, pad: 'same', bias, activation: 'relu' }).sum(),
        )(filter)
        .dataSync() as Float32Array;
    });
  await initBackend('cpu');
  const expected = run();
  await initBackend('wasm');
  assert.ok(relativeError(run(), expected) <= TOLERANCE);
});

test('wasm filter gradient of a transposed conv (the U-Net up-conv) equals cpu', async () => {
  // conv2dTranspose's filter gradient is Conv2DBackpropFilter with the roles of input and dy swapped.
  const run = (outShape: Shape4, pad: 'same' | 'valid') =>
    tf.tidy(() => {
      const x = tf.tensor4d(randomValues(2 * 8 * 8 * 6, 31), [2, 8, 8, 6]);
      const filter = tf.tensor4d(randomValues(4 * 4 * 3 * 6, 32), [4, 4, 3, 6]);
      const r = tf.tensor4d(randomValues(size(outShape), 33), outShape);
      return tf
        .grad((f: tf.Tensor) =>
          tf
            .conv2dTranspose(x, f as tf.Tensor4D, outShape, 2, pad)
            .mul(r)
            .sum(),
        )(filter)
        .dataSync() as Float32Array;
    });
  for (const [outShape, pad] of [
    [[2, 16, 16, 3], 'same'],
    [[2, 18, 18, 3], 'valid'],
  ] as Array<[Shape4, 'same' | 'valid']>) {
    await initBackend('cpu');
    const expected = run(outShape, pad);
    await initBackend('wasm');
    assert.ok(relativeError(run(outShape, pad), expected) <= TOLERANCE, `pad ${pad}`);
  }
});

test('wasm filter gradient leaks no tensors or wasm memory across 20 calls', async () => {
  await initBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number; wasm: { HEAPU8: Uint8Array } };
  const x = tf.tensor4d(randomValues(8 * 32 * 32 * 8, 21), [8, 32, 32, 8]);
  const filter = tf.tensor4d(randomValues(4 * 4 * 8 * 16, 22), [4, 4, 8, 16]);
  const gradOf = tf.grad((f: tf.Tensor) =>
    tf
      .conv2d(x, f as tf.Tensor4D, 2, 'same')
      .square()
      .sum(),
  );
  gradOf(filter).dispose(); // warm-up: lets the wasm heap reach its working size
  const tensors = tf.memory().numTensors;
  const dataIds = backend.numDataIds();
  const heap = backend.wasm.HEAPU8.length;
  for (let i = 0; i < 20; i++) {
    const g = gradOf(filter);
    g.dataSync();
    g.dispose();
  }
  assert.equal(tf.memory().numTensors, tensors, 'engine tensors');
  assert.equal(backend.numDataIds(), dataIds, 'wasm data ids');
  assert.equal(backend.wasm.HEAPU8.length, heap, 'wasm heap grew: XNNPACK operators or buffers leak');
  tf.dispose([x, filter]);
});
