// `npm run bench -- diagnostics`: what the trainer's diagnostics (--diag-every) cost on wasm. Figures, each next to a
// baseline measured in this run, in alternating blocks because this machine is shared and noisy:
//   1. a diagnosed step (trainStepDiagnosed) against a plain step (trainStep) of the same model, wall and this
//      process's CPU time, at the `train` benchmark's model (64×64, batch 16, widths 16) and at the tests' tiny one
//      (32×32, batch 4, widths 8, where the fixed costs weigh most): the extra cost of one diagnosed step, from which
//      the overhead at --diag-every k is that cost / k;
//   2. the training loop at the `train` benchmark's model pushing to a real server with --diag-every at its default
//      against the same loop with --diag-every 0 (goal ≤ 2% of the step time).
// `npm run bench -- diagnostics --quick`: fewer steps (a smoke run of the benchmark itself).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../trainer/backend.js';
import { SyntheticDataset } from '../trainer/data/index.js';
import { BicycleGAN } from '../trainer/models/bicyclegan.js';
import { DEFAULT_DIAG_EVERY, modelOptions } from '../trainer/options.js';
import { median } from './support/stats.js';
import { BATCH, loopOptions, SIZE, timeLoop, WIDTH, withMonitor } from './support/training-loop.js';

/** Mean wall and CPU ms of `reps` calls of `fn`. */
function timed(reps: number, fn: () => void): { wall: number; cpu: number } {
  const t = performance.now();
  const c = process.cpuUsage();
  for (let i = 0; i < reps; i++) fn();
  const used = process.cpuUsage(c);
  return { wall: (performance.now() - t) / reps, cpu: (used.user + used.system) / 1000 / reps };
}

interface StepCost {
  plainWall: number;
  plainCpu: number;
  /** Medians of the per-round differences, diagnosed − plain. */
  extraWall: number;
  extraCpu: number;
}

/** A diagnosed step against a plain one of a model, in alternating rounds of `reps` steps each. */
async function stepCost(
  model: BicycleGAN,
  dataset: SyntheticDataset,
  batch: number,
  rounds: number,
  reps: number,
): Promise<StepCost> {
  const size = dataset.size;
  const data = await dataset.trainBatch(
    Array.from({ length: batch }, (_, i) => i),
    () => 0.5,
  );
  const a = tf.tensor4d(data.a, [batch, size, size, 3]);
  const b = tf.tensor4d(data.b, [batch, size, size, 3]);
  model.trainStep(a, b); // warm-up: kernel set-up, Adam's slots
  model.trainStepDiagnosed(a, b);
  const plain: { wall: number; cpu: number }[] = [];
  const diag: { wall: number; cpu: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    plain.push(timed(reps, () => model.trainStep(a, b)));
    diag.push(timed(reps, () => model.trainStepDiagnosed(a, b)));
  }
  tf.dispose([a, b]);
  return {
    plainWall: median(plain.map((p) => p.wall)),
    plainCpu: median(plain.map((p) => p.cpu)),
    extraWall: median(diag.map((d, i) => d.wall - plain[i]!.wall)),
    extraCpu: median(diag.map((d, i) => d.cpu - plain[i]!.cpu)),
  };
}

function line(label: string, value: string, baselineLabel: string, baseline: string, ratio: string): void {
  console.log(
    `${label.padEnd(36)} ${value.padStart(9)}   vs ${baselineLabel.padEnd(30)} ${baseline.padStart(9)}   ${ratio}`,
  );
}

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  const rounds = quick ? 1 : 6;
  const k = DEFAULT_DIAG_EVERY;
  const loopSteps = k;

  const info = await initBackend('wasm');
  console.log(`backend ${info.name} on ${info.device}; --diag-every default ${k}`);
  // 1. A diagnosed step against a plain step, alternating: the tiny model, then the benchmark's.
  const tinyData = new SyntheticDataset({ size: 32 });
  const tiny = new BicycleGAN({ size: 32, ngf: 8, nef: 8, ndf: 8 });
  const tinyCost = await stepCost(tiny, tinyData, 4, quick ? 2 : 10, quick ? 2 : 5);
  tiny.dispose();
  const dataset = new SyntheticDataset({ size: SIZE });
  const model = new BicycleGAN(modelOptions(loopOptions(0)));
  const cost = await stepCost(model, dataset, BATCH, quick ? 1 : 14, 1);

  // 2. The loop with a client, --diag-every k against --diag-every 0, alternating.
  const off: number[] = [];
  const on: number[] = [];
  const cpuOff: number[] = [];
  const cpuOn: number[] = [];
  const diagEvery = (every: number, steps: number) => loopOptions(steps, ['--diag-every', String(every)]);
  const { stats } = await withMonitor('bench-diagnostics', info, 30_000, async (monitor) => {
    try {
      // Warm-up of the loop and the client's diagnostics path.
      await timeLoop(model, dataset, diagEvery(1, 2), monitor);
      for (let r = 0; r < rounds; r++) {
        off.push(await timeLoop(model, dataset, diagEvery(0, loopSteps), monitor, cpuOff));
        on.push(await timeLoop(model, dataset, diagEvery(k, loopSteps), monitor, cpuOn));
      }
    } finally {
      model.dispose();
    }
  });

  console.log(
    `model steps: alternating rounds (tiny: ${quick ? 2 : 10}×${quick ? 2 : 5} steps; ${SIZE} px: ${quick ? 1 : 14}×1), ` +
      `medians of the per-round differences; loop: ${rounds} alternating blocks of ${loopSteps} steps; ` +
      `${stats.acked} records acked by the server`,
  );
  console.log(
    `  loop ms/step per block, --diag-every 0: ${off.map((x) => x.toFixed(0)).join(' ')}; ${k}: ${on.map((x) => x.toFixed(0)).join(' ')}`,
  );
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  for (const [label, c] of [
    [`${SIZE} px, batch ${BATCH}, widths ${WIDTH}`, cost],
    ['32 px, batch 4, widths 8', tinyCost],
  ] as const) {
    line(
      `diagnosed step extra, ${label}`,
      `${c.extraWall.toFixed(1)} ms`,
      'a plain step (wall)',
      `${c.plainWall.toFixed(0)} ms`,
      `${pct(c.extraWall / c.plainWall)} of a step; at --diag-every ${k}: ${pct(c.extraWall / c.plainWall / k)} (goal ≤ 2%)`,
    );
    line(
      '  the same in CPU time',
      `${c.extraCpu.toFixed(1)} ms`,
      'a plain step (CPU)',
      `${c.plainCpu.toFixed(0)} ms`,
      `${pct(c.extraCpu / c.plainCpu)} of a step; at --diag-every ${k}: ${pct(c.extraCpu / c.plainCpu / k)}`,
    );
  }
  // Ratios of each round's pair of blocks, then their median: a block slowed by other load counts once.
  const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]!));
  const wr = ratio(on, off);
  line(
    `loop step, --diag-every ${k} + client`,
    `${median(on).toFixed(0)} ms`,
    '--diag-every 0 + client',
    `${median(off).toFixed(0)} ms`,
    `${wr.toFixed(3)}× (median of the rounds' ratios; overhead ${pct(wr - 1)}, goal ≤ 2%)`,
  );
  const cr = ratio(cpuOn, cpuOff);
  line(
    'loop CPU time/step, same',
    `${median(cpuOn).toFixed(0)} ms`,
    '--diag-every 0 + client',
    `${median(cpuOff).toFixed(0)} ms`,
    `${cr.toFixed(3)}× (this process only: robust to other load)`,
  );
  console.log(
    `  loop CPU ms/step per block, --diag-every 0: ${cpuOff.map((x) => x.toFixed(0)).join(' ')}; ${k}: ${cpuOn.map((x) => x.toFixed(0)).join(' ')}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
