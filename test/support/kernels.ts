// Test support for the wasm kernel tests: seeded inputs, so a failing case reproduces, the conv gradients the
// kernels compute, and the per-tensor relative error both kernel tests compare backends with.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

export type Shape4 = [number, number, number, number];
export type Strides = number | [number, number];
export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Largest relative error allowed between wasm and cpu. */
export const TOLERANCE = 1e-4;
/** Uneven explicit padding (top 1, bottom 2, left 2, right 1). */
export const EXPLICIT: Pad = [
  [0, 0],
  [1, 2],
  [2, 1],
  [0, 0],
];

/** Deterministic standard-normal-ish values (LCG + Box–Muller). */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** Number of elements of a shape. */
export const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * d/dx (Conv2DBackpropInput) or d/dfilter (Conv2DBackpropFilter) of sum(conv2d(x, filter) · r) on the active
 * backend, from seeded x, filter and r; r makes dy non-uniform.
 */
export function convGradient(
  wrt: 'x' | 'filter',
  xShape: Shape4,
  fShape: Shape4,
  strides: Strides,
  pad: Pad,
  seed: number,
): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomValues(size(xShape), seed), xShape);
    const filter = tf.tensor4d(randomValues(size(fShape), seed + 1), fShape);
    const yShape = tf.conv2d(x, filter, strides, pad).shape;
    const r = tf.tensor(randomValues(size(yShape), seed + 2), yShape);
    const grad =
      wrt === 'x'
        ? tf.grad((v: tf.Tensor) =>
            tf
              .conv2d(v as tf.Tensor4D, filter, strides, pad)
              .mul(r)
              .sum(),
          )(x)
        : tf.grad((f: tf.Tensor) =>
            tf
              .conv2d(x, f as tf.Tensor4D, strides, pad)
              .mul(r)
              .sum(),
          )(filter);
    assert.deepEqual(grad.shape, wrt === 'x' ? xShape : fShape);
    return grad.dataSync() as Float32Array;
  });
}

/** max|actual − expected| / max|expected| (a per-tensor scale, so near-zero entries summed in another order do not blow it up). */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}
