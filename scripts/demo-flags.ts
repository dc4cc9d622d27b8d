// The trainer flags of `npm run demo`, apart from scripts/demo.ts (which starts processes when imported) so the
// benchmarks that measure the demo's run (bench/alerts-real.ts, bench/remedies.ts) train exactly what it trains.

/**
 * What the demo trains unless overridden by flags after `--`: 32 px images, narrow networks and one validation per
 * epoch (64 steps of 16 images, about 35 s on 2 cores with wasm).
 */
export const DEMO_FLAGS: readonly string[] = [
  '--dataset',
  'synthetic',
  '--size',
  '32',
  '--ngf',
  '16',
  '--nef',
  '16',
  '--ndf',
  '16',
  '--batch',
  '16',
  '--epochs',
  '200',
  '--val-every',
  '1',
  '--checkpoint-every',
  '5',
  '--tags',
  'demo',
];
