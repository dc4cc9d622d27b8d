// `npm run bench -- kernels`: the wasm Conv2DBackpropInput kernel (trainer/kernels/conv2d-backprop-input.ts) against
// wasm's own, in the same run: the U-Net up-convs (conv2dTranspose forward) and the input gradients of the U-Net
// down-convs of the demo model (64 px, ngf 16, batch 16), then whole BicycleGAN training steps. The two kernels
// alternate within every repetition so load from other processes hits both alike; figures are medians.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../trainer/backend.js';
import {
  planConv2DBackpropInput,
  registerConv2DBackpropInputWasm,
  restoreOriginalConv2DBackpropInputWasm,
} from '../trainer/kernels/conv2d-backprop-input.js';
import { BicycleGAN } from '../trainer/models/bicyclegan.js';
import { unetDepth, unetWidth } from '../trainer/models/networks.js';
import { upperMedian } from './support/stats.js';

const SIZE = 64;
const NGF = 16;
const NZ = 8;
const BATCH = 16;
const KERNEL_REPS = 7;
const STEP_REPS = 5;

type Kernel = 'new' | 'old';
type Shape4 = [number, number, number, number];

function use(kernel: Kernel): void {
  if (kernel === 'new') registerConv2DBackpropInputWasm();
  else restoreOriginalConv2DBackpropInputWasm();
}

/** Median ms of fn under each kernel, alternating new/old each repetition, after one warm-up call of each. */
function compare(fn: () => void, reps: number): Record<Kernel, number> {
  const times: Record<Kernel, number[]> = { new: [], old: [] };
  for (let r = -1; r < reps; r++) {
    for (const k of ['new', 'old'] as const) {
      use(k);
      const t0 = performance.now();
      fn();
      if (r >= 0) times[k].push(performance.now() - t0);
    }
  }
  use('new');
  return { new: upperMedian(times.new), old: upperMedian(times.old) };
}

function line(label: string, t: Record<Kernel, number>, note = ''): string {
  const ms = (x: number) => `${x.toFixed(x < 100 ? 1 : 0)} ms`.padStart(9);
  return `${label.padEnd(36)} new ${ms(t.new)}   old ${ms(t.old)}   new/old ${(t.new / t.old).toFixed(2)}   speed-up ${(t.old / t.new).toFixed(1)}×${note}`;
}

const dims = (s: number[]) => s.slice(1).join('×');

/** Times Conv2DBackpropInput(dy, w) → dx of shape xShape, as conv2dTranspose runs it. */
function timeBackpropInput(
  label: string,
  dyShape: Shape4,
  filterShape: Shape4,
  xShape: Shape4,
  pad: 'same' | 'valid',
): void {
  const dy = tf.randomNormal(dyShape) as tf.Tensor4D;
  const w = tf.mul(tf.randomNormal(filterShape), 0.05) as tf.Tensor4D;
  const t = compare(() => tf.conv2dTranspose(dy, w, xShape, 2, pad).dispose(), KERNEL_REPS);
  const plan = planConv2DBackpropInput(xShape, filterShape, 2, pad);
  const how =
    plan.kind === 'phases'
      ? `${plan.rows.length * plan.cols.length} conv${plan.rows.length * plan.cols.length > 1 ? 's' : ''}`
      : plan.kind === 'columns'
        ? '1×1 conv + col2im'
        : `${plan.kind} kernel`;
  console.log(line(label, t, `   [new: ${how}]`));
  tf.dispose([dy, w]);
}

export async function run(): Promise<void> {
  const backend = await initBackend('wasm');
  console.log(
    `backend: ${backend.device}; U-Net ${SIZE} px, ngf ${NGF}, nz ${NZ}, batch ${BATCH}; medians of ${KERNEL_REPS} (kernels), ${STEP_REPS} (steps)`,
  );
  const depth = unetDepth(SIZE);

  console.log('\nU-Net up-convs (conv2dTranspose 4×4 s2 same, forward = Conv2DBackpropInput):');
  for (let i = depth - 1; i >= 0; i--) {
    const s = SIZE >> (i + 1); // the up-conv's input size
    const cin = i === depth - 1 ? unetWidth(NGF, i) : 2 * unetWidth(NGF, i);
    const cout = i === 0 ? 3 : unetWidth(NGF, i - 1);
    timeBackpropInput(
      `  ${s}×${s}×${cin} → ${2 * s}×${2 * s}×${cout}`,
      [BATCH, s, s, cin],
      [4, 4, cout, cin],
      [BATCH, 2 * s, 2 * s, cout],
      'same',
    );
  }

  console.log('\nU-Net down-convs, input gradient (conv2d 4×4 s2 on the zero-padded input, z concatenated):');
  for (let i = 0; i < depth; i++) {
    const s = SIZE >> i; // the down-conv's input size, before padding
    const cin = (i === 0 ? 3 : unetWidth(NGF, i - 1)) + NZ;
    const cout = unetWidth(NGF, i);
    const xShape: Shape4 = [BATCH, s + 2, s + 2, cin];
    const dyShape: Shape4 = [BATCH, s / 2, s / 2, cout];
    timeBackpropInput(`  dx ${dims(xShape)} ← dy ${dims(dyShape)}`, dyShape, [4, 4, cin, cout], xShape, 'valid');
  }

  console.log(`\nBicycleGAN trainStep (${SIZE} px, ngf = nef = ndf = ${NGF}, batch ${BATCH}):`);
  const model = new BicycleGAN({ size: SIZE, ngf: NGF, nef: NGF, ndf: NGF, nz: NZ, seed: 1 });
  const a = tf.randomUniform([BATCH, SIZE, SIZE, 3], -1, 1) as tf.Tensor4D;
  const b = tf.randomUniform([BATCH, SIZE, SIZE, 3], -1, 1) as tf.Tensor4D;
  model.trainStep(a, b); // creates the optimizers' slots
  const before = tf.memory().numTensors;
  const t = compare(() => model.trainStep(a, b), STEP_REPS);
  console.log(line('  one step', t));
  const grew = tf.memory().numTensors - before;
  if (grew !== 0) console.log(`  (the tensor count changed by ${grew} over ${2 * (STEP_REPS + 1)} steps)`);
  model.dispose();
  tf.dispose([a, b]);
}

// Also runnable on its own: `npx tsx bench/kernels.ts`.
if (import.meta.url === `file://${process.argv[1]}`) await run();
