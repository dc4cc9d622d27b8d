// BicycleGAN's options and their defaults, apart from the model so the trainer's command line can take its
// defaults from here without loading tfjs (--help and flag errors stay quick).
import type { WhereAdd } from './networks.js';

export type GanMode = 'vanilla' | 'lsgan';

export interface BicycleGANOptions {
  size: number;
  inputNc: number;
  outputNc: number;
  nz: number;
  ngf: number;
  nef: number;
  ndf: number;
  whereAdd: WhereAdd;
  ganMode: GanMode;
  lambdaAdv: number;
  lambdaCyc: number;
  lambdaLatent: number;
  lambdaKl: number;
  lrG: number;
  lrE: number;
  /** D and D2. */
  lrD: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Global-norm gradient clipping (G+E together; D and D2 each); 0 = off. */
  clipMaxNorm: number;
  useDropout: boolean;
  /** Linear lr decay: constant for `niter` epochs, then linear over `niterDecay` epochs; niterDecay 0 = off. */
  niter: number;
  niterDecay: number;
  seed: number;
}

/** The seed's defaults (DESIGN.md §1/§5) at the reference's widths. */
export const DEFAULT_OPTIONS: Readonly<BicycleGANOptions> = Object.freeze({
  size: 256,
  inputNc: 3,
  outputNc: 3,
  nz: 8,
  ngf: 64,
  nef: 64,
  ndf: 64,
  whereAdd: 'all',
  ganMode: 'vanilla',
  lambdaAdv: 1.0,
  lambdaCyc: 10,
  lambdaLatent: 0.5,
  lambdaKl: 0.01,
  lrG: 2e-4,
  lrE: 2e-4,
  lrD: 1e-4,
  beta1: 0.5,
  beta2: 0.999,
  epsilon: 1e-8,
  clipMaxNorm: 0,
  useDropout: true,
  niter: 0,
  niterDecay: 0,
  seed: 0,
});
