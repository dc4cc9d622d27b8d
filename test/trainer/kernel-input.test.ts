// The wasm Conv2DBackpropInput kernel (trainer/kernels/conv2d-backprop-input.ts) against the cpu backend's, for the
// input gradient of conv2d and the forward pass of conv2dTranspose. Every candidate plan of each case runs, not only
// the one the cost model picks (for these small shapes that is often wasm's own kernel).
// Relative error = max|wasm − cpu| / max|cpu| over the whole result (a per-tensor scale, as in trainer-kernel.test.ts).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Conv2DBackpropInput, getKernel } from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import {
  candidatePlans,
  registerConv2DBackpropInputWasm,
  restoreOriginalConv2DBackpropInputWasm,
  setPlanChooser,
  type BackpropInputPlan,
} from '../../trainer/kernels/conv2d-backprop-input.js';
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

after(() => setPlanChooser(null));

function describePlan(p: BackpropInputPlan): string {
  if (p.kind !== 'phases') return p.kind;
  const axis = (gs: typeof p.rows) =>
    gs.map((g) => `[${g.phases}]${g.taps}t${g.off !== 0 ? ` off ${g.off}` : ''}`).join(' ');
  return `rows ${axis(p.rows)}; cols ${axis(p.cols)}`;
}

/** d/dx of sum(conv2d(x, filter) · r) on the active backend. */
function inputGradient(xShape: Shape4, fShape: Shape4, strides: Strides, pad: Pad, seed: number): Float32Array {
  return convGradient('x', xShape, fShape, strides, pad, seed);
}

/**
 * Runs `compute` on cpu, then on wasm once per candidate plan of Conv2DBackpropInput(inputShape, filterShape, ...),
 * and checks each against cpu. Returns the plans run.
 */
async function compareEveryPlan(
  what: string,
  compute: () => Float32Array,
  inputShape: Shape4,
  filterShape: Shape4,
  strides: Strides,
  pad: Pad,
): Promise<BackpropInputPlan[]> {
  await initBackend('cpu');
  const expected = compute();
  await initBackend('wasm');
  const plans = candidatePlans(inputShape, filterShape, strides, pad);
  try {
    for (const plan of plans) {
      setPlanChooser(() => plan);
      const err = relativeError(compute(), expected);
      assert.ok(
        err <= TOLERANCE,
        `${what}: relative error ${err.toExponential(2)} > ${TOLERANCE} with plan ${describePlan(plan)}`,
      );
    }
  } finally {
    setPlanChooser(null);
  }
  return plans;
}

function compareInputGradient(
  xShape: Shape4,
  fShape: Shape4,
  strides: Strides,
  pad: Pad,
  seed = 7,
): Promise<BackpropInputPlan[]> {
  const what = `dx for x ${xShape}, filter ${fShape}, stride ${JSON.stringify(strides)}, pad ${JSON.stringify(pad)}`;
  return compareEveryPlan(what, () => inputGradient(xShape, fShape, strides, pad, seed), xShape, fShape, strides, pad);
}

// [input NHWC, filter HWIO]: odd and even sizes, non-square, batch 1 and > 1, 3×3 and the 4×4 BicycleGAN uses,
// and few pixels with many channels (where plans that split phases differ most from those that share a conv).
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
  [
    [2, 6, 5, 24],
    [4, 4, 24, 32],
  ],
];
const seen: BackpropInputPlan[] = [];

for (const strides of [1, 2, 3, [2, 1]] as Strides[]) {
  // tfjs 4.22 sizes a numerically padded conv's output with the row stride on both axes, so with unequal strides
  // even the forward conv2d on wasm writes past its output (XNNPACK computes the true width): no numeric pad there.
  const pads: Pad[] = typeof strides === 'number' ? ['same', 'valid', 1, EXPLICIT] : ['same', 'valid', EXPLICIT];
  const names = pads
    .map((p) => (typeof p === 'string' ? p : typeof p === 'number' ? 'numeric' : 'explicit'))
    .join(', ');
  test(`wasm input gradient equals cpu's for stride ${JSON.stringify(strides)}, paddings ${names}`, async () => {
    for (const pad of pads) {
      for (const [xShape, fShape] of SHAPES) seen.push(...(await compareInputGradient(xShape, fShape, strides, pad)));
    }
  });
}

test('wasm input gradient equals cpu where dy rows fall outside dx (explicit padding wider than the kernel)', async () => {
  seen.push(
    ...(await compareInputGradient([2, 4, 5, 2], [2, 2, 2, 3], 1, [
      [0, 0],
      [3, 3],
      [0, 4],
      [0, 0],
    ])),
  );
  seen.push(
    ...(await compareInputGradient([2, 7, 6, 2], [3, 2, 2, 3], 2, [
      [0, 0],
      [5, 1],
      [2, 3],
      [0, 0],
    ])),
  );
});

test('wasm input gradient equals cpu for strides larger than the kernel (phases with no taps)', async () => {
  seen.push(...(await compareInputGradient([2, 9, 10, 3], [1, 1, 3, 4], 2, 'valid')));
  seen.push(...(await compareInputGradient([2, 10, 11, 3], [2, 2, 3, 4], 3, 'same')));
});

test('wasm input gradient is zero where the conv read only padding', async () => {
  // Rows at padded indices 0 and 3 are read; the single input row sits at index 4, so dx must be 0.
  const pad: Pad = [
    [0, 0],
    [4, 0],
    [0, 0],
    [0, 0],
  ];
  const plans = await compareInputGradient([2, 1, 5, 3], [1, 1, 3, 2], 3, pad);
  assert.deepEqual(plans, [{ kind: 'zero' }]);
  seen.push(...plans);
  await initBackend('wasm');
  assert.ok(inputGradient([2, 1, 5, 3], [1, 1, 3, 2], 3, pad, 3).every((v) => v === 0));
});

test('wasm input gradient of a fused conv2d (bias + relu) equals cpu', async () => {
  const xShape: Shape4 = [2, 12, 12, 3];
  const fShape: Shape4 = [4, 4, 3, 8];
  const compute = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(randomValues(size(xShape), 11), xShape);
      const filter = tf.tensor4d(randomValues(size(fShape), 12), fShape);
      const bias = tf.tensor1d(randomValues(8, 13));
      return tf
        .grad((v: tf.Tensor) =>
          tf.fused.conv2d({ x: v as tf.Tensor4D, filter, strides: 2, pad: 'same', bias, activation: 'relu' }).sum(),
        )(x)
        .dataSync() as Float32Array;
    });
  await compareEveryPlan('fused conv2d dx', compute, xShape, fShape, 2, 'same');
});

test('wasm conv2dTranspose (the U-Net up-conv) equals cpu', async () => {
  // conv2dTranspose(x, w, outShape) is Conv2DBackpropInput with dy = x and dx of shape outShape.
  const cases: Array<[Shape4, Shape4, Shape4, Strides, Pad]> = [
    // [x, filter [k, k, out ch, in ch], output shape, stride, pad]
    [[2, 8, 8, 6], [4, 4, 3, 6], [2, 16, 16, 3], 2, 'same'],
    [[3, 5, 7, 4], [4, 4, 5, 4], [3, 10, 14, 5], 2, 'same'],
    [[2, 1, 1, 16], [4, 4, 8, 16], [2, 2, 2, 8], 2, 'same'],
    [[2, 5, 5, 4], [4, 4, 3, 4], [2, 12, 12, 3], 2, 'valid'],
    [[2, 5, 5, 4], [4, 4, 3, 4], [2, 13, 13, 3], 2, 'valid'],
    [[1, 4, 6, 3], [3, 3, 2, 3], [1, 12, 18, 2], 3, 'same'],
    [[2, 6, 4, 3], [4, 4, 2, 3], [2, 12, 4, 2], [2, 1], 'same'],
  ];
  for (const [xShape, fShape, outShape, strides, pad] of cases) {
    const compute = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(size(xShape), 31), xShape);
        const filter = tf.tensor4d(randomValues(size(fShape), 32), fShape);
        return tf.conv2dTranspose(x, filter, outShape, strides, pad).dataSync() as Float32Array;
      });
    const what = `conv2dTranspose x ${xShape} → ${outShape}, stride ${JSON.stringify(strides)}, pad ${pad}`;
    seen.push(...(await compareEveryPlan(what, compute, outShape, fShape, strides, pad)));
  }
});

test('the cases above ran every kind of plan', () => {
  const phases = seen.flatMap((p) => (p.kind === 'phases' ? [p] : []));
  const groups = phases.flatMap((p) => [...p.rows, ...p.cols]);
  assert.ok(
    seen.some((p) => p.kind === 'original'),
    'wasm own kernel',
  );
  assert.ok(
    seen.some((p) => p.kind === 'zero'),
    'zero fill',
  );
  assert.ok(
    seen.some((p) => p.kind === 'columns'),
    'columns (1×1 conv, then added into dx)',
  );
  assert.ok(
    groups.some((g) => g.stride > 1 && g.phases.length === g.stride),
    'all phases in one conv',
  );
  assert.ok(
    groups.some((g) => g.stride > 1 && g.phases.length === 1),
    'one conv per phase',
  );
  assert.ok(
    groups.some((g) => g.off !== 0),
    'shifted phases',
  );
  const partial = (gs: typeof groups) => gs.reduce((n, g) => n + g.phases.length, 0) < (gs[0]?.stride ?? 0);
  assert.ok(
    phases.some((p) => partial(p.rows) || partial(p.cols)),
    'phases without taps left out (zero rows of dx)',
  );
  assert.ok(
    groups.some((g) => g.lo > 0),
    'dy cropped',
  );
  assert.ok(
    phases.some((p) => p.rows.length * p.cols.length > 1 && p.rows.length !== p.cols.length),
    'mixed groupings',
  );
});

test('initBackend("wasm") installs this kernel; restoring the original and registering again round-trips', async () => {
  await initBackend('wasm');
  const ours = getKernel(Conv2DBackpropInput, 'wasm').kernelFunc;
  assert.equal(registerConv2DBackpropInputWasm(), false, 'already registered');
  assert.equal(restoreOriginalConv2DBackpropInputWasm(), true);
  assert.notEqual(getKernel(Conv2DBackpropInput, 'wasm').kernelFunc, ours);
  assert.equal(restoreOriginalConv2DBackpropInputWasm(), false, 'already the original');
  assert.equal(registerConv2DBackpropInputWasm(), true);
  assert.equal(getKernel(Conv2DBackpropInput, 'wasm').kernelFunc, ours);
});

test('wasm input kernel leaks no tensors or wasm memory across 20 calls of every plan', async () => {
  await initBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number; wasm: { HEAPU8: Uint8Array } };
  const x = tf.tensor4d(randomValues(8 * 16 * 16 * 8, 21), [8, 16, 16, 8]);
  const filter = tf.tensor4d(randomValues(4 * 4 * 8 * 16, 22), [4, 4, 8, 16]);
  const up = tf.tensor4d(randomValues(8 * 8 * 8 * 16, 23), [8, 8, 8, 16]);
  // [what, the call, its Conv2DBackpropInput arguments]: a strided gradient, a stride-1 one and an up-conv.
  const calls: Array<[string, () => tf.Tensor, Shape4, Strides, Pad]> = [
    [
      'dx, stride 2',
      () =>
        tf.grad((v: tf.Tensor) =>
          tf
            .conv2d(v as tf.Tensor4D, filter, 2, 'same')
            .square()
            .sum(),
        )(x),
      [8, 16, 16, 8],
      2,
      'same',
    ],
    [
      'dx, stride 1',
      () =>
        tf.grad((v: tf.Tensor) =>
          tf
            .conv2d(v as tf.Tensor4D, filter, 1, [
              [0, 0],
              [3, 0],
              [0, 1],
              [0, 0],
            ])
            .square()
            .sum(),
        )(x),
      [8, 16, 16, 8],
      1,
      [
        [0, 0],
        [3, 0],
        [0, 1],
        [0, 0],
      ],
    ],
    ['conv2dTranspose', () => tf.conv2dTranspose(up, filter, [8, 16, 16, 8], 2, 'same'), [8, 16, 16, 8], 2, 'same'],
  ];
  try {
    for (const [what, call, inputShape, strides, pad] of calls) {
      for (const plan of candidatePlans(inputShape, [4, 4, 8, 16], strides, pad)) {
        setPlanChooser(() => plan);
        call().dispose(); // warm-up: lets the wasm heap reach its working size
        const tensors = tf.memory().numTensors;
        const dataIds = backend.numDataIds();
        const heap = backend.wasm.HEAPU8.length;
        for (let i = 0; i < 20; i++) {
          const g = call();
          g.dataSync();
          g.dispose();
        }
        const label = `${what}, plan ${describePlan(plan)}`;
        assert.equal(tf.memory().numTensors, tensors, `engine tensors: ${label}`);
        assert.equal(backend.numDataIds(), dataIds, `wasm data ids: ${label}`);
        assert.equal(backend.wasm.HEAPU8.length, heap, `wasm heap grew (XNNPACK operators or buffers leak): ${label}`);
      }
    }
  } finally {
    setPlanChooser(null);
    tf.dispose([x, filter, up]);
  }
});
