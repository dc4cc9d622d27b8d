// The `train` and `diagnostics` benchmarks' common ground: the demo-width BicycleGAN they time (64×64, batch 16,
// widths 16), blocks of steps through the real training loop, and a throwaway server with a monitor to push to.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect, type Run } from '../../clients/node/index.js';
import { startServer } from '../../harness/server.js';
import type { BackendInfo } from '../../trainer/backend.js';
import type { SyntheticDataset } from '../../trainer/data/index.js';
import { TrainingLoop } from '../../trainer/loop.js';
import type { BicycleGAN } from '../../trainer/models/bicyclegan.js';
import { parseTrainerArgs, recordedOptions, type TrainerOptions } from '../../trainer/options.js';
import { Progress } from '../../trainer/progress.js';

export const SIZE = 64;
export const BATCH = 16;
export const WIDTH = 16;

/** The trainer's options for `maxSteps` steps of the benchmark model, no checkpoints, no early stop; plus `extra`. */
export function loopOptions(maxSteps: number, extra: readonly string[] = []): TrainerOptions {
  const flags = ['--size', String(SIZE), '--batch', String(BATCH), '--ngf', String(WIDTH), '--nef', String(WIDTH)];
  flags.push('--ndf', String(WIDTH), '--max-steps', String(maxSteps), '--epochs', '1000');
  flags.push('--checkpoint-every', '0', '--patience', '0', ...extra);
  return parseTrainerArgs(flags, {})!.options;
}

const silent = () => new Progress({ stream: new Writable({ write: (_c, _e, cb) => cb() }), tty: false });

/** Runs the loop for `o.maxSteps` steps; returns wall ms per step (and pushes CPU ms per step to `cpu`). */
export async function timeLoop(
  model: BicycleGAN,
  dataset: SyntheticDataset,
  o: TrainerOptions,
  monitor: Run | null,
  cpu: number[] = [],
): Promise<number> {
  const steps = o.maxSteps;
  const loop = new TrainingLoop({
    options: o,
    model,
    dataset,
    monitor,
    validator: null,
    progress: silent(),
    checkpointDir: null,
    runId: monitor?.id ?? null,
    spoolKey: monitor?.spoolKey ?? null,
    recordedOptions: recordedOptions(o),
  });
  const t = performance.now();
  const c = process.cpuUsage();
  await loop.run();
  const used = process.cpuUsage(c);
  cpu.push((used.user + used.system) / 1000 / steps);
  return (performance.now() - t) / steps;
}

/**
 * Starts a server on a throwaway SQLite file, connects a monitor run `name` to it, and gives both to `fn`; waits
 * (up to `finishMs`) for every record to be acknowledged, then stops the server and deletes its folder.
 */
export async function withMonitor<T>(
  name: string,
  info: BackendInfo,
  finishMs: number,
  fn: (monitor: Run) => Promise<T>,
): Promise<{ result: T; stats: ReturnType<Run['stats']> }> {
  const dir = mkdtempSync(join(tmpdir(), `ganwatch-${name}-`));
  const server = await startServer({ dbPath: join(dir, 'bench.db') });
  try {
    const monitor = await connect({
      server: server.url,
      spool: join(dir, 'spool'),
      name,
      config: {},
      backend: info.name,
      device: info.device,
      onError: () => {},
    });
    const result = await fn(monitor);
    await monitor.finish({ timeoutMs: finishMs });
    return { result, stats: monitor.stats() };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
