// BicycleGAN (cVAE-GAN + cLR-GAN) on TensorFlow.js: the four networks, their Adam optimizers, the training step in the
// seed's order (D and D2 first on detached fakes, then G and E), the controls the trainer applies between steps
// (lr, λ, clipping, lr decay) and the inference helpers used by validation. One step = one batch, split in halves.
//
// StepMetrics, all read back in one dataSync per step (losses are UNWEIGHTED unless named a total):
//   D_real_acc, D_fake_acc   D on the encoded branch, in the D step (before D's update): fraction of patches, pooled
//                            over both scales, with sigmoid(D(B1)) > 0.5 / sigmoid(D(fake_enc)) < 0.5 (lsgan: raw > / < 0.5)
//   D2_real_acc, D2_fake_acc the same for D2 on B2 / fake_rand
//   Cyc_error                mean |fake_enc − B1| (the cVAE-GAN image reconstruction; equals loss/L1)
//   Latent_mse               mean (mu(E(fake_rand)) − z_rand)² (the cLR-GAN latent regression, as MSE)
//   loss/D, loss/D2          Σ_scales [GAN(D(real), 1) + GAN(D(fake), 0)] in the D step (the update uses λ_adv × this)
//   loss/G_GAN, loss/G_GAN2  Σ_scales GAN(D(fake_enc), 1), GAN(D2(fake_rand), 1) with the just-updated D, D2
//   loss/L1                  mean |fake_enc − B1|
//   loss/z_L1                mean |mu(E(fake_rand)) − z_rand| (updates G only)
//   loss/KL                  −0.5 Σ_{batch, nz} (1 + logvar − mu² − e^logvar) of E(B1) (a sum, as the reference)
//   loss/G_total             λ_adv(G_GAN + G_GAN2) + λ_cyc L1 + λ_kl KL + λ_latent z_L1
//   grad_norm/G, /E, /D, /D2 global L2 norm of each network's gradient before clipping (G includes the z_L1 part)
//   lr/G, lr/E, lr/D         learning rates used by this step (base × linear-decay factor); lr/D is D's (D2 alike
//                            unless set apart)
//   lambda/adv, /cyc, /latent, /kl and clip/max_norm (0 = off): the controls in force for this step
//
// A step asked for diagnostics (trainStepDiagnosed) also keeps, from the tensors the step computes anyway: each
// parameter's Σ grad² (the terms of the global norms above), D's and D2's outputs on real and fake per scale, and
// E(B1)'s μ and log σ²; trainer/diagnostics.ts turns them and the updated weights into norms and histograms.
import * as tf from '@tensorflow/tfjs';
import { gwError } from '../../protocol/errors.js';
import {
  DIST_E_LOGVAR,
  DIST_E_MU,
  LAMBDA_METRIC,
  LR_METRIC,
  METRIC,
  STEP_METRICS,
  discriminatorOutputDistribution,
  type DistSide,
} from '../../protocol/metric-names.js';
import { computeDiagnostics, type DiagnosticInputs, type NamedTensor, type StepDiagnostics } from '../diagnostics.js';
import { Rng, type RngState } from '../rng.js';
import { DEFAULT_OPTIONS, type BicycleGANOptions, type GanMode } from './bicyclegan-options.js';
import type { Param, WeightSource } from './layers.js';
import {
  type Discriminator,
  type Encoder,
  type Generator,
  type Net,
  countParams,
  createDiscriminator,
  createEncoder,
  createGenerator,
  disposeNet,
} from './networks.js';

export type NetName = 'G' | 'E' | 'D' | 'D2';
export type LambdaName = 'adv' | 'cyc' | 'latent' | 'kl';
export { DEFAULT_OPTIONS, type BicycleGANOptions, type GanMode };
export const NET_NAMES: readonly NetName[] = ['G', 'E', 'D', 'D2'];
export const LAMBDA_NAMES: readonly LambdaName[] = ['adv', 'cyc', 'latent', 'kl'];

/** The names trainStep reports, one value each (their meanings: protocol/metric-names.ts). */
export const MODEL_METRICS = STEP_METRICS;
export type ModelMetric = (typeof MODEL_METRICS)[number];
export type StepMetrics = Record<ModelMetric, number>;

/** Collects a step's (name, value) pairs; every name of MODEL_METRICS must be among them. */
function stepMetrics(pairs: Iterable<readonly [ModelMetric, number]>): StepMetrics {
  const out: Partial<StepMetrics> = {};
  for (const [name, value] of pairs) out[name] = value;
  const missing = MODEL_METRICS.filter((name) => out[name] === undefined);
  if (missing.length > 0) throw new Error(`BicycleGAN.trainStep measured no ${missing.join(', ')}`);
  return out as StepMetrics;
}

/** One float32 tensor as plain data (checkpoints). */
export interface TensorRecord {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface OptimizerRecord {
  iterations: number;
  /** Adam's running β1^t and β2^t, saved exactly (recomputing them with pow differs in the last bit). */
  accBeta1: number;
  accBeta2: number;
  /** Number of parameters with moments (0 before the first step). */
  moments: number;
}

/** Everything a resumed run needs besides the data: weights, Adam state, controls and the model's RNG. */
export interface ModelState {
  config: BicycleGANOptions;
  steps: number;
  epoch: number;
  baseLr: Record<NetName, number>;
  lambdas: Record<LambdaName, number>;
  clipMaxNorm: number;
  rngState: RngState;
  optimizers: Record<NetName, OptimizerRecord>;
  /** Weights by logical name (`G/b0/down/w`), then Adam moments as `opt/<net>/m/<param>` and `opt/<net>/v/<param>`. */
  tensors: TensorRecord[];
}

// tfjs keeps Adam's lr and β-power accumulators in fields; these are the ones we read and write.
interface AdamInternals {
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}
function internals(opt: tf.AdamOptimizer): AdamInternals {
  return opt as unknown as AdamInternals;
}

function validateOptions(o: BicycleGANOptions): void {
  const fail = (detail: string) => {
    throw gwError('GW_ERR_OPTION', detail);
  };
  const log2 = Math.log2(o.size);
  if (!Number.isInteger(log2) || o.size < 32 || o.size > 256) fail(`size must be 32, 64, 128 or 256, got ${o.size}`);
  for (const k of ['inputNc', 'outputNc', 'nz', 'ngf', 'nef', 'ndf'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) fail(`${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.ndf < 2) fail(`ndf must be at least 2 (the half-scale discriminator uses ndf/2), got ${o.ndf}`);
  if (o.whereAdd !== 'all' && o.whereAdd !== 'input')
    fail(`whereAdd must be 'all' or 'input', got ${String(o.whereAdd)}`);
  if (o.ganMode !== 'vanilla' && o.ganMode !== 'lsgan')
    fail(`ganMode must be 'vanilla' or 'lsgan', got ${String(o.ganMode)}`);
  for (const k of ['lambdaAdv', 'lambdaCyc', 'lambdaLatent', 'lambdaKl', 'lrG', 'lrE', 'lrD', 'clipMaxNorm'] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0) fail(`${k} must be a finite number >= 0, got ${o[k]}`);
  }
  for (const k of ['beta1', 'beta2'] as const) {
    if (!(o[k] >= 0 && o[k] < 1)) fail(`${k} must be in [0, 1), got ${o[k]}`);
  }
  if (!(o.epsilon > 0)) fail(`epsilon must be > 0, got ${o.epsilon}`);
  for (const k of ['niter', 'niterDecay'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) fail(`${k} must be an integer >= 0, got ${o[k]}`);
  }
  if (!Number.isInteger(o.seed)) fail(`seed must be an integer, got ${o.seed}`);
}

/** The networks an lr setting of `net` changes: 'D' means both discriminators (they share lr/D and --lr-d). */
export function lrTargets(net: NetName): NetName[] {
  return net === 'D' ? ['D', 'D2'] : [net];
}

/** Linear decay factor for epoch e (from 1): 1 − max(0, e − niter)/(niterDecay + 1), never below 0. */
export function lrDecayFactor(epoch: number, niter: number, niterDecay: number): number {
  if (niterDecay <= 0) return 1;
  return Math.max(0, 1 - Math.max(0, epoch - niter) / (niterDecay + 1));
}

function ganLoss(logits: tf.Tensor4D, target: 0 | 1, mode: GanMode): tf.Scalar {
  if (mode === 'lsgan') return tf.mean(tf.square(target === 1 ? tf.sub(logits, 1) : logits));
  // BCE-with-logits: −log σ(x) = softplus(−x); −log(1 − σ(x)) = softplus(x).
  return tf.mean(tf.softplus(target === 1 ? tf.neg(logits) : logits));
}

function sumOverScales(maps: tf.Tensor4D[], target: 0 | 1, mode: GanMode): tf.Scalar {
  return tf.addN(maps.map((m) => ganLoss(m, target, mode)));
}

/** Fraction of patches (all scales pooled) judged real (`real`) or fake (`!real`). */
function patchAccuracy(maps: tf.Tensor4D[], real: boolean, mode: GanMode): tf.Scalar {
  const threshold = mode === 'lsgan' ? 0.5 : 0; // sigmoid(x) > 0.5 ⇔ x > 0
  const flat = tf.concat(maps.map((m) => tf.reshape(m, [-1])));
  const hits = real ? tf.greater(flat, threshold) : tf.less(flat, threshold);
  return tf.mean(tf.cast(hits, 'float32'));
}

/** Σ g² of each gradient: the global norm's terms, which diagnostics also read per layer. */
function squareSums(grads: tf.Tensor[]): tf.Scalar[] {
  return grads.map((g) => tf.sum(tf.square(g)));
}

function globalNorm(sums: tf.Scalar[]): tf.Scalar {
  return tf.sqrt(tf.addN(sums)) as tf.Scalar;
}

/** What D's GAN loss reads as its verdict: sigmoid(logit) for the log loss, the raw output for lsgan. */
function verdict(map: tf.Tensor4D, mode: GanMode): tf.Tensor {
  return mode === 'lsgan' ? map : tf.sigmoid(map);
}

/** PyTorch clip_grad_norm_: scale by max/(norm + 1e-6) when that is below 1. */
function clipScale(norm: tf.Scalar, maxNorm: number): tf.Scalar {
  return tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
}

function splitHalves(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const half = x.shape[0] / 2;
  return tf.split(x, [half, half], 0) as [tf.Tensor4D, tf.Tensor4D];
}

/** The step's host-side noise, drawn once: both updates replay it. */
interface StepNoise {
  eps: Float32Array;
  zRand: Float32Array;
  dropoutSeed: number;
}

/** The step's tensors: A1 twice (one G pass makes both fakes), the halves of B, the noise. */
interface StepInputs {
  A1x2: tf.Tensor4D;
  B1: tf.Tensor4D;
  B2: tf.Tensor4D;
  eps: tf.Tensor2D;
  zRand: tf.Tensor2D;
  dropoutSeed: number;
}

/**
 * Where a diagnosed step keeps its diagnostic tensors (each tf.keep'd, and also listed in the step's `kept` so the
 * step disposes them); null when the step is not diagnosed, which then keeps nothing extra.
 */
interface DiagnosticSink {
  gradSquares: NamedTensor[];
  outputs: NamedTensor[];
}

/** The controls in force for one step, read once at its start. */
interface StepControls {
  lam: Record<LambdaName, number>;
  clip: number;
}

interface ForwardPass {
  mu: tf.Tensor2D;
  logvar: tf.Tensor2D;
  fakeEnc: tf.Tensor4D;
  fakeRand: tf.Tensor4D;
}

interface DStats {
  loss: tf.Scalar;
  realAcc: tf.Scalar;
  fakeAcc: tf.Scalar;
  gradNorm: tf.Scalar;
}

/** [G_GAN, G_GAN2, L1, z_L1, KL, G_total, latent MSE]. */
type EGLosses = [tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar];

interface EGStats {
  ganG: tf.Scalar;
  ganG2: tf.Scalar;
  l1: tf.Scalar;
  zL1: tf.Scalar;
  kl: tf.Scalar;
  total: tf.Scalar;
  latentMse: tf.Scalar;
  gNorm: tf.Scalar;
  eNorm: tf.Scalar;
}

/** The values a step reads back from the device, in one stack. */
function deviceMetrics(d: DStats, d2: DStats, eg: EGStats): Array<readonly [ModelMetric, tf.Scalar]> {
  return [
    [METRIC.dRealAcc, d.realAcc],
    [METRIC.dFakeAcc, d.fakeAcc],
    [METRIC.d2RealAcc, d2.realAcc],
    [METRIC.d2FakeAcc, d2.fakeAcc],
    [METRIC.cycError, eg.l1],
    [METRIC.latentMse, eg.latentMse],
    [METRIC.lossD, d.loss],
    [METRIC.lossD2, d2.loss],
    [METRIC.lossGGan, eg.ganG],
    [METRIC.lossGGan2, eg.ganG2],
    [METRIC.lossL1, eg.l1],
    [METRIC.lossZL1, eg.zL1],
    [METRIC.lossKl, eg.kl],
    [METRIC.lossGTotal, eg.total],
    [METRIC.gradNormG, eg.gNorm],
    [METRIC.gradNormE, eg.eNorm],
    [METRIC.gradNormD, d.gradNorm],
    [METRIC.gradNormD2, d2.gradNorm],
  ];
}

/** A network's saved Adam moments, one record per parameter (empty before its first step). */
interface MomentPlan {
  m: TensorRecord[];
  v: TensorRecord[];
}

/** Finds a saved tensor by name and checks its shape and length. */
function tensorLookup(tensors: TensorRecord[]): (name: string, shape: readonly number[]) => TensorRecord {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return (name, shape) => {
    const t = byName.get(name);
    if (!t) throw new Error(`missing tensor ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`tensor ${name} has shape ${JSON.stringify(t.shape)}, the model needs ${JSON.stringify(shape)}`);
    }
    if (t.values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${name} has the wrong length`);
    return t;
  };
}

export class BicycleGAN {
  readonly G: Generator;
  readonly E: Encoder;
  readonly D: Discriminator;
  readonly D2: Discriminator;
  private readonly opts: BicycleGANOptions;
  private readonly rng: Rng;
  private optimizers: Record<NetName, tf.AdamOptimizer>;
  private baseLr: Record<NetName, number>;
  private lambdas: Record<LambdaName, number>;
  private clipMaxNorm: number;
  private epoch = 0;
  private steps = 0;
  private disposed = false;

  constructor(options: Partial<BicycleGANOptions> = {}) {
    const o: BicycleGANOptions = { ...DEFAULT_OPTIONS, ...options };
    validateOptions(o);
    this.opts = o;
    this.rng = new Rng(o.seed);
    // Networks are initialised in a fixed order from one stream: a seed gives identical weights on any backend.
    this.G = createGenerator(
      {
        size: o.size,
        inputNc: o.inputNc,
        outputNc: o.outputNc,
        nz: o.nz,
        ngf: o.ngf,
        whereAdd: o.whereAdd,
        useDropout: o.useDropout,
      },
      this.rng,
    );
    this.E = createEncoder({ size: o.size, inputNc: o.outputNc, nz: o.nz, nef: o.nef }, this.rng);
    this.D = createDiscriminator({ size: o.size, inputNc: o.outputNc, ndf: o.ndf }, this.rng, 'D');
    this.D2 = createDiscriminator({ size: o.size, inputNc: o.outputNc, ndf: o.ndf }, this.rng, 'D2');
    this.baseLr = { G: o.lrG, E: o.lrE, D: o.lrD, D2: o.lrD };
    this.lambdas = { adv: o.lambdaAdv, cyc: o.lambdaCyc, latent: o.lambdaLatent, kl: o.lambdaKl };
    this.clipMaxNorm = o.clipMaxNorm;
    this.optimizers = this.freshOptimizers();
  }

  private freshOptimizers(): Record<NetName, tf.AdamOptimizer> {
    const { beta1, beta2, epsilon } = this.opts;
    const make = (net: NetName) => tf.train.adam(this.getLr(net), beta1, beta2, epsilon);
    return { G: make('G'), E: make('E'), D: make('D'), D2: make('D2') };
  }

  // ------------------------------------------------------------ training step

  /**
   * One BicycleGAN step on a batch (a: inputs A, b: targets B, both [N, size, size, C], N even, values in [-1, 1]).
   * A1/B1 = first half (cVAE-GAN, z from E(B1)); B2 = second half (D2's real images); fake_rand is made from A1,
   * as in the reference. A2 is unused. The reference's optimize_parameters: forward, D update, G-and-E update.
   */
  trainStep(a: tf.Tensor4D, b: tf.Tensor4D): StepMetrics {
    return this.runStep(a, b, null).metrics;
  }

  /**
   * trainStep, plus the step's diagnostics: per-layer weight norms (after the update) and gradient norms (before
   * clipping, from the gradients the update used), D's and D2's verdicts on real and fake per scale, and the
   * histograms of E's μ and log σ². The update itself is exactly trainStep's.
   */
  trainStepDiagnosed(a: tf.Tensor4D, b: tf.Tensor4D): { metrics: StepMetrics; diagnostics: StepDiagnostics } {
    const sink: DiagnosticSink = { gradSquares: [], outputs: [] };
    const { metrics, diagnostics } = this.runStep(a, b, sink);
    return { metrics, diagnostics: diagnostics as StepDiagnostics };
  }

  private runStep(
    a: tf.Tensor4D,
    b: tf.Tensor4D,
    sink: DiagnosticSink | null,
  ): { metrics: StepMetrics; diagnostics: StepDiagnostics | null } {
    this.checkBatch(a, b);
    const noise = this.drawStepNoise(a.shape[0] / 2);
    const controls: StepControls = { lam: { ...this.lambdas }, clip: this.clipMaxNorm };
    const kept: tf.Tensor[] = [];
    let metricTensor: tf.Tensor | undefined;
    let values: Float32Array;
    let measured: ModelMetric[] = [];
    let diagnostics: StepDiagnostics | null = null;
    try {
      metricTensor = tf.tidy(() => {
        const onDevice = this.optimizeParameters(a, b, noise, controls, kept, sink);
        measured = onDevice.map(([name]) => name);
        return tf.stack(onDevice.map(([, value]) => value));
      });
      values = metricTensor.dataSync() as Float32Array;
      if (sink) diagnostics = computeDiagnostics(this.diagnosticInputs(sink));
    } finally {
      metricTensor?.dispose();
      tf.dispose(kept);
    }
    this.steps += 1;
    // One value per stacked tensor, in the order they were stacked; the host-side values follow by name.
    const metrics = stepMetrics([
      ...measured.map((name, i) => [name, values[i] as number] as const),
      [LR_METRIC.G, this.getLr('G')],
      [LR_METRIC.E, this.getLr('E')],
      [LR_METRIC.D, this.getLr('D')],
      ...LAMBDA_NAMES.map((name) => [LAMBDA_METRIC[name], controls.lam[name]] as const),
      [METRIC.clipMaxNorm, controls.clip],
    ]);
    return { metrics, diagnostics };
  }

  /** The kept tensors of a diagnosed step, with every network's weights as they are after its update. */
  private diagnosticInputs(sink: DiagnosticSink): DiagnosticInputs {
    const weights = NET_NAMES.flatMap((n) => this[n].params.map((p) => ({ name: p.name, tensor: p.variable })));
    return { weights, gradSquares: sink.gradSquares, outputs: sink.outputs };
  }

  /** Keeps `tensor` past the step's tidy under `name` (disposed with the step's other kept tensors). */
  private static keepInto(into: NamedTensor[], kept: tf.Tensor[], name: string, tensor: tf.Tensor): void {
    const t = tf.keep(tensor);
    kept.push(t);
    into.push({ name, tensor: t });
  }

  /** One fork per step: the step's noise depends only on the model RNG state, which checkpoints keep. */
  private drawStepNoise(half: number): StepNoise {
    const stepRng = this.rng.fork();
    const eps = stepRng.fillNormal(new Float32Array(half * this.opts.nz));
    const zRand = stepRng.fillNormal(new Float32Array(half * this.opts.nz));
    return { eps, zRand, dropoutSeed: stepRng.nextUint32() };
  }

  /** Runs inside the step's tidy: both updates, then the measured values to read back. */
  private optimizeParameters(
    a: tf.Tensor4D,
    b: tf.Tensor4D,
    noise: StepNoise,
    controls: StepControls,
    kept: tf.Tensor[],
    sink: DiagnosticSink | null,
  ): Array<readonly [ModelMetric, tf.Scalar]> {
    const inputs = this.stepInputs(a, b, noise);
    const { d, d2 } = this.backwardD(inputs, controls, kept, sink);
    const eg = this.backwardEG(inputs, controls, kept, sink);
    return deviceMetrics(d, d2, eg);
  }

  private stepInputs(a: tf.Tensor4D, b: tf.Tensor4D, noise: StepNoise): StepInputs {
    const half = a.shape[0] / 2;
    const [A1] = splitHalves(a);
    const [B1, B2] = splitHalves(b);
    const eps = tf.tensor2d(noise.eps, [half, this.opts.nz]);
    const zRand = tf.tensor2d(noise.zRand, [half, this.opts.nz]);
    const A1x2 = tf.concat([A1, A1], 0);
    return { A1x2, B1, B2, eps, zRand, dropoutSeed: noise.dropoutSeed };
  }

  /**
   * The reference's forward(): z_enc from E(B1) reparameterised with the step's eps, then the cVAE-GAN and cLR-GAN
   * fakes in one batched G pass (instance norm is per sample, so this is exact). Dropout masks replay from the
   * step's seed, so a second call gives the same fakes.
   */
  private forward(x: StepInputs, eWeights?: WeightSource): ForwardPass {
    const { mu, logvar } = this.E.apply(x.B1, eWeights);
    const zEnc = tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), x.eps));
    const fake = this.G.apply(x.A1x2, tf.concat([zEnc, x.zRand], 0) as tf.Tensor2D, {
      training: true,
      dropoutRng: new Rng(x.dropoutSeed),
    });
    const [fakeEnc, fakeRand] = splitHalves(fake);
    return { mu, logvar, fakeEnc, fakeRand };
  }

  /** D and D2 on real vs fakes from the current G (no tape here, so the fakes are detached). */
  private backwardD(
    x: StepInputs,
    c: StepControls,
    kept: tf.Tensor[],
    sink: DiagnosticSink | null,
  ): { d: DStats; d2: DStats } {
    const pre = this.forward(x);
    if (sink) {
      // E is not updated before G and E are, so this μ, log σ² is the one the KL term of this step sees.
      BicycleGAN.keepInto(sink.outputs, kept, DIST_E_MU, pre.mu);
      BicycleGAN.keepInto(sink.outputs, kept, DIST_E_LOGVAR, pre.logvar);
    }
    const d = this.discriminatorStep('D', this.D, x.B1, pre.fakeEnc, c, kept, sink);
    const d2 = this.discriminatorStep('D2', this.D2, x.B2, pre.fakeRand, c, kept, sink);
    return { d, d2 };
  }

  /**
   * G and E: the same forward again (same noise and dropout masks) on the tape, with the updated D, D2. tfjs records
   * one tape per variableGrads call and D's update sits between, so the fakes are recomputed (about 12% of a step).
   */
  private backwardEG(x: StepInputs, c: StepControls, kept: tf.Tensor[], sink: DiagnosticSink | null): EGStats {
    // The latent path (the reference's backward_G_alone) runs E on detached copies of E's weights: z_L1 then reaches
    // G through E but gives E nothing.
    const frozenE = new Map<Param, tf.Tensor>(this.E.params.map((p) => [p, tf.clone(p.variable)]));
    const frozen: WeightSource = (p) => frozenE.get(p) as tf.Tensor;
    const gVars = this.G.params.map((p) => p.variable);
    const eVars = this.E.params.map((p) => p.variable);
    let aux: tf.Tensor | undefined;
    const { grads } = tf.variableGrads(() => {
      const losses = this.egLosses(x, c.lam, frozen);
      aux = tf.keep(tf.stack(losses));
      kept.push(aux);
      return losses[5];
    }, [...gVars, ...eVars]);
    const { gNorm, eNorm } = this.applyEGGradients(gVars, eVars, grads, c.clip, (net, sums) => {
      if (sink) this.keepGradSquares(net, sums, kept, sink);
    });
    const [ganG, ganG2, l1, zL1, kl, total, latentMse] = tf.unstack(aux as unknown as tf.Tensor1D) as EGLosses;
    return { ganG, ganG2, l1, zL1, kl, total, latentMse, gNorm, eNorm };
  }

  /** On the tape: [G_GAN, G_GAN2, L1, z_L1, KL, G_total, latent MSE], the total being what G and E minimise. */
  private egLosses(x: StepInputs, lam: Record<LambdaName, number>, frozenE: WeightSource): EGLosses {
    const mode = this.opts.ganMode;
    const { mu, logvar, fakeEnc, fakeRand } = this.forward(x);
    const ganG = sumOverScales(this.D.apply(fakeEnc), 1, mode);
    const ganG2 = sumOverScales(this.D2.apply(fakeRand), 1, mode);
    const l1 = tf.mean(tf.abs(tf.sub(fakeEnc, x.B1)));
    const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logvar), tf.square(mu)), tf.exp(logvar))));
    const mu2 = this.E.apply(fakeRand, frozenE).mu;
    const zDiff = tf.sub(mu2, x.zRand);
    const zL1 = tf.mean(tf.abs(zDiff));
    const latentMse = tf.mean(tf.square(zDiff));
    const total = tf.addN([
      tf.mul(lam.adv, tf.add(ganG, ganG2)),
      tf.mul(lam.cyc, l1),
      tf.mul(lam.kl, kl),
      tf.mul(lam.latent, zL1),
    ]) as tf.Scalar;
    return [ganG, ganG2, l1 as tf.Scalar, zL1 as tf.Scalar, kl as tf.Scalar, total, latentMse as tf.Scalar];
  }

  /** Norms before clipping; G and E are clipped together on their joint norm, then E and G step (in that order). */
  private applyEGGradients(
    gVars: tf.Variable[],
    eVars: tf.Variable[],
    grads: tf.NamedTensorMap,
    clip: number,
    onSquares: (net: 'G' | 'E', sums: tf.Scalar[]) => void,
  ): { gNorm: tf.Scalar; eNorm: tf.Scalar } {
    let gGrads = gVars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    let eGrads = eVars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    const gSums = squareSums(gGrads);
    const eSums = squareSums(eGrads);
    onSquares('G', gSums);
    onSquares('E', eSums);
    const gNorm = globalNorm(gSums);
    const eNorm = globalNorm(eSums);
    if (clip > 0) {
      const scale = clipScale(tf.sqrt(tf.add(tf.square(gNorm), tf.square(eNorm))) as tf.Scalar, clip);
      gGrads = gGrads.map((g) => tf.mul(g, scale));
      eGrads = eGrads.map((g) => tf.mul(g, scale));
    }
    this.optimizers.E.applyGradients(eVars.map((v, i) => ({ name: v.name, tensor: eGrads[i] as tf.Tensor })));
    this.optimizers.G.applyGradients(gVars.map((v, i) => ({ name: v.name, tensor: gGrads[i] as tf.Tensor })));
    return { gNorm, eNorm };
  }
  /** Keeps each parameter's Σ g² of `net` (parameter order) for the step's diagnostics. */
  private keepGradSquares(net: NetName, sums: tf.Scalar[], kept: tf.Tensor[], sink: DiagnosticSink): void {
    this[net].params.forEach((p, i) => BicycleGAN.keepInto(sink.gradSquares, kept, p.name, sums[i] as tf.Scalar));
  }

  /** Keeps D's verdicts on the real and the fake images, scale by scale, for the step's diagnostics. */
  private keepVerdicts(
    name: 'D' | 'D2',
    maps: Record<DistSide, tf.Tensor4D[]>,
    kept: tf.Tensor[],
    sink: DiagnosticSink,
  ): void {
    for (const side of ['real', 'fake'] as const) {
      maps[side].forEach((m, scale) =>
        BicycleGAN.keepInto(
          sink.outputs,
          kept,
          discriminatorOutputDistribution(name, side, scale),
          verdict(m, this.opts.ganMode),
        ),
      );
    }
  }

  /** Runs inside the step's tidy: one Adam update of `net` on λ_adv·(GAN(real,1) + GAN(fake,0)), summed over scales. */
  private discriminatorStep(
    name: 'D' | 'D2',
    net: Discriminator,
    real: tf.Tensor4D,
    fake: tf.Tensor4D,
    c: StepControls,
    kept: tf.Tensor[],
    sink: DiagnosticSink | null,
  ): DStats {
    const lambdaAdv = c.lam.adv;
    const clip = c.clip;
    const mode = this.opts.ganMode;
    const vars = net.params.map((p) => p.variable);
    let aux: tf.Tensor | undefined;
    const { grads } = tf.variableGrads(() => {
      // Real and fake in one batched pass (instance norm is per sample).
      const maps = net.apply(tf.concat([real, fake], 0));
      const realMaps = maps.map((m) => splitHalves(m)[0]);
      const fakeMaps = maps.map((m) => splitHalves(m)[1]);
      const loss = tf.add(sumOverScales(realMaps, 1, mode), sumOverScales(fakeMaps, 0, mode)) as tf.Scalar;
      aux = tf.keep(tf.stack([loss, patchAccuracy(realMaps, true, mode), patchAccuracy(fakeMaps, false, mode)]));
      kept.push(aux);
      if (sink) this.keepVerdicts(name, { real: realMaps, fake: fakeMaps }, kept, sink);
      return tf.mul(lambdaAdv, loss) as tf.Scalar;
    }, vars);
    let g = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    const sums = squareSums(g);
    if (sink) this.keepGradSquares(name, sums, kept, sink);
    const gradNorm = globalNorm(sums);
    if (clip > 0) {
      const scale = clipScale(gradNorm, clip);
      g = g.map((t) => tf.mul(t, scale));
    }
    this.optimizers[name].applyGradients(vars.map((v, i) => ({ name: v.name, tensor: g[i] as tf.Tensor })));
    const [loss, realAcc, fakeAcc] = tf.unstack(aux as unknown as tf.Tensor1D) as [tf.Scalar, tf.Scalar, tf.Scalar];
    return { loss, realAcc, fakeAcc, gradNorm };
  }

  private checkBatch(a: tf.Tensor4D, b: tf.Tensor4D): void {
    if (this.disposed) throw new Error('BicycleGAN: used after dispose()');
    const o = this.opts;
    const n = a.shape[0];
    const want = (x: tf.Tensor4D, c: number) => x.shape[1] === o.size && x.shape[2] === o.size && x.shape[3] === c;
    if (!want(a, o.inputNc) || !want(b, o.outputNc) || b.shape[0] !== n) {
      throw gwError(
        'GW_ERR_OPTION',
        `batch shapes A ${JSON.stringify(a.shape)} and B ${JSON.stringify(b.shape)} do not fit a ${o.size}px model with ` +
          `${o.inputNc}→${o.outputNc} channels`,
      );
    }
    if (n < 2 || n % 2 !== 0) throw gwError('GW_ERR_OPTION', `batch size must be even and at least 2, got ${n}`);
  }

  // ------------------------------------------------------------ controls

  getLr(net: NetName): number {
    return this.baseLr[net] * lrDecayFactor(this.epoch, this.opts.niter, this.opts.niterDecay);
  }

  /** Sets the base lr of `net` (the decay factor still applies; 'D' sets both discriminators); Adam's moments are kept. */
  setLr(net: NetName, value: number): void {
    if (!Number.isFinite(value) || value < 0)
      throw gwError('GW_ERR_OPTION', `lr must be a finite number >= 0, got ${value}`);
    for (const n of lrTargets(net)) this.baseLr[n] = value;
    this.pushLr();
  }

  /** Multiplies the base lr of `net`; 'D' scales both discriminators (the remedy "lower the D lr"). */
  scaleLr(net: NetName, factor: number): void {
    if (!Number.isFinite(factor) || factor < 0) throw gwError('GW_ERR_OPTION', `lr factor must be >= 0, got ${factor}`);
    for (const n of lrTargets(net)) this.baseLr[n] *= factor;
    this.pushLr();
  }

  getLambda(name: LambdaName): number {
    return this.lambdas[name];
  }

  setLambda(name: LambdaName, value: number): void {
    if (!LAMBDA_NAMES.includes(name)) throw gwError('GW_ERR_OPTION', `unknown lambda '${String(name)}'`);
    if (!Number.isFinite(value) || value < 0)
      throw gwError('GW_ERR_OPTION', `lambda must be a finite number >= 0, got ${value}`);
    this.lambdas[name] = value;
  }

  getClip(): number {
    return this.clipMaxNorm;
  }

  /** Max global gradient norm; 0 turns clipping off. */
  setClip(maxNorm: number): void {
    if (!Number.isFinite(maxNorm) || maxNorm < 0)
      throw gwError('GW_ERR_OPTION', `clip must be a finite number >= 0, got ${maxNorm}`);
    this.clipMaxNorm = maxNorm;
  }

  getEpoch(): number {
    return this.epoch;
  }

  /** Tells the model which epoch (from 1) is running, for the linear lr decay. */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
    this.pushLr();
  }

  /** Number of training steps taken (restored by checkpoints). */
  getSteps(): number {
    return this.steps;
  }

  private pushLr(): void {
    // Adam reads `learningRate` on every applyGradients, so assigning it takes effect at once and keeps the moments.
    for (const net of NET_NAMES) internals(this.optimizers[net]).learningRate = this.getLr(net);
  }

  // ------------------------------------------------------------ inference

  /** E(b) for validation: mu is the latent code pushed for t-SNE. The caller disposes both. */
  encode(b: tf.Tensor4D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    return tf.tidy(() => this.E.apply(b));
  }

  /** G(a, z) in eval mode (no dropout), as test.py. The caller disposes the result. */
  generate(a: tf.Tensor4D, z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => this.G.apply(a, z, { training: false }));
  }

  /** A copy of the options the model was built with, plus the controls now in force (plain JSON). */
  config(): BicycleGANOptions {
    return {
      ...this.opts,
      lambdaAdv: this.lambdas.adv,
      lambdaCyc: this.lambdas.cyc,
      lambdaLatent: this.lambdas.latent,
      lambdaKl: this.lambdas.kl,
      lrG: this.baseLr.G,
      lrE: this.baseLr.E,
      lrD: this.baseLr.D,
      clipMaxNorm: this.clipMaxNorm,
    };
  }

  /** Parameter counts per network. */
  paramCounts(): Record<NetName, number> {
    return { G: countParams(this.G), E: countParams(this.E), D: countParams(this.D), D2: countParams(this.D2) };
  }

  net(name: NetName): Net {
    return this[name];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const n of NET_NAMES) {
      this.optimizers[n].dispose();
      disposeNet(this[n]);
    }
  }

  // ------------------------------------------------------------ state (checkpoints)

  /** Reads every weight, Adam moment and control into plain data. */
  async exportState(): Promise<ModelState> {
    const tensors: TensorRecord[] = [];
    const read = async (name: string, t: tf.Tensor) =>
      tensors.push({ name, shape: [...t.shape], values: new Float32Array((await t.data()) as Float32Array) });
    for (const n of NET_NAMES) for (const p of this[n].params) await read(p.name, p.variable);
    const optimizers = {} as Record<NetName, OptimizerRecord>;
    for (const n of NET_NAMES) {
      const opt = internals(this.optimizers[n]);
      const params = this[n].params;
      const m = opt.accumulatedFirstMoment;
      const v = opt.accumulatedSecondMoment;
      if (m.length !== 0 && (m.length !== params.length || v.length !== params.length)) {
        throw new Error(`optimizer ${n} holds ${m.length} moments for ${params.length} parameters`);
      }
      for (let i = 0; i < m.length; i++) {
        const p = params[i] as Param;
        await read(`opt/${n}/m/${p.name}`, (m[i] as { variable: tf.Variable }).variable);
        await read(`opt/${n}/v/${p.name}`, (v[i] as { variable: tf.Variable }).variable);
      }
      optimizers[n] = {
        iterations: this.optimizers[n].iterations,
        accBeta1: (await opt.accBeta1.data())[0] as number,
        accBeta2: (await opt.accBeta2.data())[0] as number,
        moments: m.length,
      };
    }
    return {
      config: this.config(),
      steps: this.steps,
      epoch: this.epoch,
      baseLr: { ...this.baseLr },
      lambdas: { ...this.lambdas },
      clipMaxNorm: this.clipMaxNorm,
      rngState: this.rng.getState(),
      optimizers,
      tensors,
    };
  }

  /**
   * Restores a state from exportState into this model (same architecture). Throws an Error naming the first
   * mismatch; nothing is half-applied because every check runs before the first write.
   */
  async importState(state: ModelState): Promise<void> {
    const { weights, moments } = this.planImport(state);
    for (const { p, t } of weights) tf.tidy(() => p.variable.assign(tf.tensor(t.values, t.shape, 'float32')));
    for (const n of NET_NAMES) this.optimizers[n].dispose();
    this.baseLr = { ...state.baseLr };
    this.lambdas = { ...state.lambdas };
    this.clipMaxNorm = state.clipMaxNorm;
    this.epoch = state.epoch;
    this.steps = state.steps;
    this.rng.setState(state.rngState);
    this.optimizers = this.freshOptimizers();
    for (const n of NET_NAMES) await this.restoreOptimizer(n, state.optimizers[n], moments[n] as MomentPlan);
    this.pushLr();
  }

  /** Checks the whole state against this model and pairs every parameter with its saved tensor; writes nothing. */
  private planImport(state: ModelState): {
    weights: { p: Param; t: TensorRecord }[];
    moments: Record<string, MomentPlan>;
  } {
    const need = tensorLookup(state.tensors);
    for (const key of ['size', 'inputNc', 'outputNc', 'nz', 'ngf', 'nef', 'ndf', 'whereAdd', 'useDropout'] as const) {
      if (state.config[key] !== this.opts[key]) {
        throw new Error(
          `checkpoint was made with ${key}=${String(state.config[key])}, this model has ${String(this.opts[key])}`,
        );
      }
    }
    const weights: { p: Param; t: TensorRecord }[] = [];
    const moments: Record<string, MomentPlan> = {};
    for (const n of NET_NAMES) {
      for (const p of this[n].params) weights.push({ p, t: need(p.name, p.shape) });
      const rec = state.optimizers[n];
      if (!rec) throw new Error(`missing optimizer state for ${n}`);
      const count = rec.moments;
      if (count !== 0 && count !== this[n].params.length)
        throw new Error(`optimizer ${n}: ${count} moments, expected ${this[n].params.length}`);
      moments[n] = {
        m: this[n].params.slice(0, count).map((p) => need(`opt/${n}/m/${p.name}`, p.shape)),
        v: this[n].params.slice(0, count).map((p) => need(`opt/${n}/v/${p.name}`, p.shape)),
      };
    }
    Rng.fromState(state.rngState); // validates
    return { weights, moments };
  }

  /** Puts Adam's moments, β-power accumulators and iteration count back into the fresh optimizer of `n`. */
  private async restoreOptimizer(n: NetName, rec: OptimizerRecord, plan: MomentPlan): Promise<void> {
    const opt = this.optimizers[n];
    if (rec.moments > 0) {
      const params = this[n].params;
      const named = [
        { name: 'iter', tensor: tf.scalar(rec.iterations, 'int32') },
        ...plan.m.map((t, i) => ({
          name: `${(params[i] as Param).variable.name}/m`,
          tensor: tf.tensor(t.values, t.shape, 'float32'),
        })),
        ...plan.v.map((t, i) => ({
          name: `${(params[i] as Param).variable.name}/v`,
          tensor: tf.tensor(t.values, t.shape, 'float32'),
        })),
      ];
      await opt.setWeights(named);
      tf.dispose(named.map((x) => x.tensor));
    }
    const inner = internals(opt);
    tf.tidy(() => {
      inner.accBeta1.assign(tf.scalar(rec.accBeta1));
      inner.accBeta2.assign(tf.scalar(rec.accBeta2));
    });
    // An optimizer that never stepped may still have counted iterations; keep the count exact.
    (opt as unknown as { iterations_: number }).iterations_ = rec.iterations;
  }
}
