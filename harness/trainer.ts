// Shared by the tests and the benchmarks: the smallest BicycleGAN the trainers train (ganwatch's and the PyTorch
// example's, which take the same flags), so real training steps cost milliseconds on a shared CPU.

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
