// Shared by the tests and the benchmarks: the smallest BicycleGAN the trainers train (ganwatch's and the PyTorch
// example's, which take the same flags), so real training steps cost milliseconds on a shared CPU; and how to start it.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './server.js';

/** 32 px images, 8 filters in G, E and D, batches of 4. */
export const TINY_MODEL_ARGS: readonly string[] = [
  '--size',
  '32',
  '--ngf',
  '8',
  '--nef',
  '8',
  '--ndf',
  '8',
  '--batch',
  '4',
];

/** The smallest validation: 2 inputs × 2 z, 8 latent codes, and no early stop. */
export const SMALL_VALIDATION_ARGS: readonly string[] = [
  '--val-count',
  '2',
  '--val-z',
  '2',
  '--latent-count',
  '8',
  '--patience',
  '0',
];

/** Runs ganwatch's trainer from source (tsx) with the trainer flags `args`. */
export function spawnTrainer(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), '--conditions=ganwatch-source', join(ROOT, 'trainer/train.ts'), ...args],
    { cwd: ROOT, ...options },
  );
}

/**
 * A tiny trainer on wasm that trains until stopped (no validation or early stop gets in the way), with its checkpoints
 * and spool in `dir`: the tests that drive a trainer by controls start this one.
 */
export function endlessTrainerArgs(server: string, name: string, dir: string): string[] {
  return [
    '--server',
    server,
    '--backend',
    'wasm',
    '--name',
    name,
    ...TINY_MODEL_ARGS,
    '--epochs',
    '1000',
    '--steps-per-epoch',
    '1000',
    '--val-every',
    '1000',
    '--patience',
    '0',
    '--checkpoint-dir',
    join(dir, 'ck'),
    '--spool',
    join(dir, 'spool'),
  ];
}
