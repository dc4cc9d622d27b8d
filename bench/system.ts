// `npm run bench -- system`: what one system-metrics sample costs the training loop, next to the baseline of one
// training step of the tiny model (32 px, 8 filters, batch 4, wasm) measured in the same run. The sample's part on the
// event loop (between steps) is reading CPU time and RSS and logging the values through a real (offline) run; with
// nvidia-smi present, its query runs in a child process while training goes on, and its wall time is printed apart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { connect } from '../clients/node/index.js';
import { DEFAULT_SYSTEM_INTERVAL_MS, queryGpus, sampleValues } from '../clients/node/system-metrics.js';
import { initBackend } from '../trainer/backend.js';
import { SyntheticDataset } from '../trainer/data/index.js';
import { BicycleGAN } from '../trainer/models/bicyclegan.js';
import { median } from './support/stats.js';

async function stepMs(steps: number): Promise<number> {
  await initBackend('wasm');
  const dataset = new SyntheticDataset({ size: 32, trainCount: 8, valCount: 4, seed: 1 });
  const model = new BicycleGAN({ size: 32, ngf: 8, nef: 8, ndf: 8, seed: 1 });
  const batch = await dataset.trainBatch([0, 1, 2, 3], () => 0.5);
  const shape: [number, number, number, number] = [batch.count, batch.size, batch.size, batch.channels];
  const [a, b] = [tf.tensor4d(batch.a, shape), tf.tensor4d(batch.b, shape)];
  const times: number[] = [];
  for (let i = 0; i < steps + 3; i++) {
    const t0 = performance.now();
    model.trainStep(a, b);
    if (i >= 3) times.push(performance.now() - t0); // the first steps compile kernels
  }
  tf.dispose([a, b]);
  model.dispose();
  return median(times);
}

async function sampleMs(samples: number): Promise<number> {
  const spool = mkdtempSync(join(tmpdir(), 'ganwatch-bench-system-'));
  const run = await connect({ name: 'bench', offline: true, spool, systemMetrics: false });
  run.log({ loss: 1 }, 0);
  const times: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    run.log(sampleValues((used.user + used.system) / 1000, []), i);
    times.push(performance.now() - t0);
  }
  await run.close();
  rmSync(spool, { recursive: true, force: true });
  return median(times);
}

export async function run(): Promise<void> {
  const step = await stepMs(20);
  const sample = await sampleMs(2000);
  const ratio = sample / step;
  console.log(`tiny model step (baseline): ${step.toFixed(1)} ms (median of 20)`);
  console.log(
    `one sample on the event loop: ${(sample * 1000).toFixed(1)} µs (median of 2000) = ${ratio.toExponential(1)} × a step`,
  );
  const perStep = (sample / DEFAULT_SYSTEM_INTERVAL_MS) * step;
  console.log(
    `at one sample per ${DEFAULT_SYSTEM_INTERVAL_MS / 1000} s: ${((perStep / step) * 100).toExponential(1)}% of training time`,
  );
  const t0 = performance.now();
  const gpus = await queryGpus();
  console.log(
    gpus === null
      ? 'nvidia-smi: absent (no GPU query)'
      : `nvidia-smi query: ${(performance.now() - t0).toFixed(0)} ms wall in a child process (${gpus.length} GPUs), off the event loop`,
  );
}
