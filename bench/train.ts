// `npm run bench -- train`: the demo-width BicycleGAN at 64×64, batch 16, through the real training loop.
// Figures, each next to a baseline measured in this run: the wasm step time against one step of the same model on
// tfjs's pure-JS cpu backend (goal ≥ 100× faster), images/s, peak RSS against the RSS before the model existed,
// and the monitor client's overhead: steps with the client pushing every step to a real server against steps
// without a client (goal ≤ 2%), measured in alternating blocks because this machine is shared and noisy.
// `npm run bench -- train --quick`: fewer steps and no cpu step (a smoke run of the benchmark itself); --no-cpu: no cpu step.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../trainer/backend.js';
import { SyntheticDataset } from '../trainer/data/index.js';
import { BicycleGAN } from '../trainer/models/bicyclegan.js';
import { modelOptions } from '../trainer/options.js';
import { median } from './support/stats.js';
import { BATCH, loopOptions, SIZE, timeLoop, WIDTH, withMonitor } from './support/training-loop.js';

function rssMb(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

function line(label: string, value: string, baselineLabel: string, baseline: string, ratio: string): void {
  console.log(
    `${label.padEnd(34)} ${value.padStart(12)}   vs ${baselineLabel.padEnd(30)} ${baseline.padStart(12)}   ${ratio}`,
  );
}

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  const noCpu = quick || args.includes('--no-cpu');
  const stepsPerBlock = quick ? 2 : 5;
  const blocks = quick ? 1 : 6;
  const rssBefore = rssMb();

  const info = await initBackend('wasm');
  console.log(`model: BicycleGAN ${SIZE}×${SIZE}, batch ${BATCH}, ngf=nef=ndf=${WIDTH}; ${info.device}`);
  const dataset = new SyntheticDataset({ size: SIZE });
  const model = new BicycleGAN(modelOptions(loopOptions(0)));
  await timeLoop(model, dataset, loopOptions(2), null); // warm-up: kernel set-up and first-use allocations

  const without: number[] = [];
  const withClient: number[] = [];
  const cpuWithout: number[] = [];
  const cpuWith: number[] = [];
  const block = loopOptions(stepsPerBlock);
  const { stats } = await withMonitor('bench-train', info, 10_000, async (monitor) => {
    for (let b = 0; b < blocks; b++) {
      without.push(await timeLoop(model, dataset, block, null, cpuWithout));
      withClient.push(await timeLoop(model, dataset, block, monitor, cpuWith));
    }
  });
  const wasmMs = median(without);
  const clientMs = median(withClient);
  const peak = process.resourceUsage().maxRSS / 1024;
  model.dispose();

  let cpuMs: number | null = null;
  if (!noCpu) {
    await initBackend('cpu');
    const cpuModel = new BicycleGAN(modelOptions(loopOptions(0)));
    const batch = await dataset.trainBatch(
      Array.from({ length: BATCH }, (_, i) => i),
      () => 0.5,
    );
    const a = tf.tensor4d(batch.a, [BATCH, SIZE, SIZE, 3]);
    const bt = tf.tensor4d(batch.b, [BATCH, SIZE, SIZE, 3]);
    const t = performance.now();
    cpuModel.trainStep(a, bt);
    cpuMs = performance.now() - t;
    tf.dispose([a, bt]);
    cpuModel.dispose();
  }

  const ips = (ms: number) => BATCH / (ms / 1000);
  console.log(
    `steps: ${blocks} alternating blocks of ${stepsPerBlock} (median of block means); ${stats.acked} points acked by the server`,
  );
  console.log(
    `  ms/step per block without a client: ${without.map((x) => x.toFixed(0)).join(' ')}; with: ${withClient.map((x) => x.toFixed(0)).join(' ')}`,
  );
  if (cpuMs !== null) {
    line(
      'step time, wasm',
      `${wasmMs.toFixed(0)} ms`,
      'same step, cpu backend (1 step)',
      `${(cpuMs / 1000).toFixed(1)} s`,
      `${(cpuMs / wasmMs).toFixed(0)}× faster (goal ≥ 100×)`,
    );
    line(
      'images/s, wasm',
      ips(wasmMs).toFixed(1),
      'images/s, cpu backend',
      ips(cpuMs).toFixed(3),
      `${(ips(wasmMs) / ips(cpuMs)).toFixed(0)}×`,
    );
  } else {
    line('step time, wasm', `${wasmMs.toFixed(0)} ms`, 'cpu backend', 'skipped', '(--quick / --no-cpu)');
  }
  line(
    'step time with the monitor client',
    `${clientMs.toFixed(0)} ms`,
    'without a client',
    `${wasmMs.toFixed(0)} ms`,
    `${(clientMs / wasmMs).toFixed(3)}× (overhead ${((clientMs / wasmMs - 1) * 100).toFixed(1)}%, goal ≤ 2%)`,
  );
  const cw = median(cpuWith);
  const cwo = median(cpuWithout);
  line(
    'CPU time/step with the client',
    `${cw.toFixed(0)} ms`,
    'without a client',
    `${cwo.toFixed(0)} ms`,
    `${(cw / cwo).toFixed(3)}× (this process only: robust to other load)`,
  );
  line(
    'peak RSS (wasm training)',
    `${peak.toFixed(0)} MB`,
    'RSS before the model',
    `${rssBefore.toFixed(0)} MB`,
    `${(peak / rssBefore).toFixed(1)}×`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
