// The metric names ganwatch's trainer pushes and its alert rules read: the contract any client (the trainer, Python,
// a Node trainer, a TensorBoard import) meets to get the GAN alerts. Each name is declared once here with what it
// means, who produces it and which rules read it (test/alerts/metric-names.test.ts holds the detectors and the README table
// to it). No schema library here (type-only imports), so the web bundle imports this module directly.
import type { LambdaName, Net } from './controls.js';

/** Every metric name ganwatch produces or reads, by a constant name. */
export const METRIC = {
  // ---- the BicycleGAN step (trainer/models/bicyclegan.ts), every step
  dRealAcc: 'D_real_acc',
  dFakeAcc: 'D_fake_acc',
  d2RealAcc: 'D2_real_acc',
  d2FakeAcc: 'D2_fake_acc',
  cycError: 'Cyc_error',
  latentMse: 'Latent_mse',
  lossD: 'loss/D',
  lossD2: 'loss/D2',
  lossGGan: 'loss/G_GAN',
  lossGGan2: 'loss/G_GAN2',
  lossL1: 'loss/L1',
  lossZL1: 'loss/z_L1',
  lossKl: 'loss/KL',
  lossGTotal: 'loss/G_total',
  gradNormG: 'grad_norm/G',
  gradNormE: 'grad_norm/E',
  gradNormD: 'grad_norm/D',
  gradNormD2: 'grad_norm/D2',
  lrG: 'lr/G',
  lrE: 'lr/E',
  lrD: 'lr/D',
  lambdaAdv: 'lambda/adv',
  lambdaCyc: 'lambda/cyc',
  lambdaLatent: 'lambda/latent',
  lambdaKl: 'lambda/kl',
  clipMaxNorm: 'clip/max_norm',
  // ---- the training loop (trainer/loop.ts)
  perfStepMs: 'perf/step_ms',
  perfImagesPerS: 'perf/images_per_s',
  perfValMs: 'perf/val_ms',
  // ---- validation (trainer/validate.ts)
  valL1: 'val/L1',
  valSsim: 'val/ssim',
  valDiversity: 'val/diversity',
  valModeCoverage: 'val/mode_coverage',
  valFid: 'val/fid',
  valFidN: 'val/fid_n',
  // ---- derived by the server from the latent codes (server/projections)
  valLatentSilhouette: 'val/latent_silhouette',
  valLatentFisher: 'val/latent_fisher',
  // ---- pushed by other trainers only
  skippedStep: 'skipped_step',
  // ---- the clients' system sampler (clients/node/system-metrics.ts, clients/python/ganwatch/system.py), every 10 s
  sysCpuPercent: 'sys/cpu_percent',
  sysRssMb: 'sys/rss_mb',
} as const;

export type KnownMetric = (typeof METRIC)[keyof typeof METRIC];

/** Name families: charts group by them, and the alert engine re-baselines on lr/* and lambda/* changes. */
export const METRIC_PREFIX = {
  loss: 'loss/',
  gradNorm: 'grad_norm/',
  lr: 'lr/',
  lambda: 'lambda/',
  clip: 'clip/',
  perf: 'perf/',
  val: 'val/',
  sys: 'sys/',
  /** One layer's gradient norm, `layer_grad/<net>/<layer>`: the dashboard's per-layer heatmap reads these. */
  layerGrad: 'layer_grad/',
  /** One layer's weight norm, `layer_norm/<net>/<layer>`. */
  layerNorm: 'layer_norm/',
} as const;

// ---- the trainer's diagnostics (trainer/diagnostics.ts), every --diag-every steps: per-layer norms as points,
// histograms as distributions (protocol/distributions.ts). A layer is a parameter's name without its last part
// (`G/b3/down/w` and `G/b3/down/b` are the layer `G/b3/down`), so every name starts with the network: G, E, D or D2.

/**
 * `layer_norm/<net>/<layer>`: L2 norm of the layer's weights and bias together, after the step's update.
 * ganwatch's layers: G/b<i>/down, G/b<i>/up (U-Net block i, 0 = outermost), E/conv0, E/block<i>/{conv1,conv2,shortcut},
 * E/fc, E/fcVar, D/s<k>/c<i> and D2/s<k>/c<i> (scale k, conv i).
 */
export function layerNormMetric(layer: string): string {
  return `${METRIC_PREFIX.layerNorm}${layer}`;
}

/** `layer_grad/<net>/<layer>`: L2 norm of the layer's gradient in the step, before clipping (the terms of grad_norm/<net>). */
export function layerGradMetric(layer: string): string {
  return `${METRIC_PREFIX.layerGrad}${layer}`;
}

/** Distribution names start with this, so charts of histograms sort apart from points. */
export const DIST_PREFIX = 'dist/';

/** The encoder's μ of E(B) on the step's cVAE-GAN half batch (batch/2 × nz values): the latent space's health. */
export const DIST_E_MU = 'dist/E/mu';
/** The encoder's log σ² on the same images; a KL collapse shows as every value near 0 and μ near 0. */
export const DIST_E_LOGVAR = 'dist/E/logvar';

export type DistSide = 'real' | 'fake';

/**
 * `dist/<D|D2>/<real|fake>/scale<k>`: the discriminator's verdict on every patch of scale k (0 = full size, 1 = half)
 * in the D step, before D's update: sigmoid(output) for the log loss (the probability "real"), the raw output for
 * lsgan (target 1 real, 0 fake). D judges B against the cVAE-GAN fake, D2 the other half of B against the cLR-GAN fake.
 * A D that separates puts real near 1 and fake near 0; a saturated D piles both at the ends.
 */
export function discriminatorOutputDistribution(net: DiscriminatorKey, side: DistSide, scale: number): string {
  return `${DIST_PREFIX}${net}/${side}/scale${scale}`;
}

/**
 * Per-GPU system metrics: the family name, then `/` and nvidia-smi's GPU index, e.g. `sys/gpu_util/0`, so one chart
 * pattern (`sys/*`) takes every GPU and the charts of one quantity sort together.
 */
export const SYS_GPU_METRIC = {
  /** Utilization, % of the sample period a kernel ran (nvidia-smi utilization.gpu). */
  util: 'sys/gpu_util',
  /** Memory in use, MiB (memory.used). */
  memMb: 'sys/gpu_mem_mb',
  /** Temperature, °C (temperature.gpu). */
  tempC: 'sys/gpu_temp_c',
} as const;
export type SysGpuFamily = (typeof SYS_GPU_METRIC)[keyof typeof SYS_GPU_METRIC];

/** The metric name of GPU `index`'s `family` value, e.g. sys/gpu_util/0. */
export function gpuMetric(family: SysGpuFamily, index: number): string {
  return `${family}/${index}`;
}

/** ‖∇‖ of each network's gradient, before clipping. */
export const GRAD_NORM_METRIC = {
  G: METRIC.gradNormG,
  E: METRIC.gradNormE,
  D: METRIC.gradNormD,
  D2: METRIC.gradNormD2,
} as const satisfies Record<Net, KnownMetric>;

/** The learning rate in force for each optimizer (lr/D covers D2 unless set apart). */
export const LR_METRIC = { G: METRIC.lrG, E: METRIC.lrE, D: METRIC.lrD } as const satisfies Partial<
  Record<Net, KnownMetric>
>;

/** The λ weights in force. */
export const LAMBDA_METRIC = {
  adv: METRIC.lambdaAdv,
  cyc: METRIC.lambdaCyc,
  latent: METRIC.lambdaLatent,
  kl: METRIC.lambdaKl,
} as const satisfies Record<LambdaName, KnownMetric>;

/** The metrics of each discriminator (D judges cVAE-GAN fakes, D2 cLR-GAN fakes), keyed as d_overpowering keys them. */
export const DISCRIMINATOR_METRICS = {
  D: { realAcc: METRIC.dRealAcc, fakeAcc: METRIC.dFakeAcc, loss: METRIC.lossD, gradNorm: METRIC.gradNormD },
  D2: { realAcc: METRIC.d2RealAcc, fakeAcc: METRIC.d2FakeAcc, loss: METRIC.lossD2, gradNorm: METRIC.gradNormD2 },
} as const;
export type DiscriminatorKey = keyof typeof DISCRIMINATOR_METRICS;

/**
 * Rules any training monitor has, beside the GAN rules: the run's process hangs, crashed, ended; its throughput fell;
 * and the thresholds users define (protocol/user-rules.ts).
 */
export const GENERAL_RULE_NAMES = [
  'run_hang',
  'run_crashed',
  'run_ended',
  'throughput_drop',
  'user_threshold',
] as const;

/** The alert rules (server/alerts/registry.ts registers exactly these), in the order of the README and the API. */
export const ALERT_RULE_NAMES = [
  'divergence',
  'd_overpowering',
  'mode_collapse',
  'gradient_oscillation',
  'color_distortion',
  'training_stall',
  'change_point',
  'early_stop',
  ...GENERAL_RULE_NAMES,
] as const;
export type AlertRuleName = (typeof ALERT_RULE_NAMES)[number];

/** The rules that watch a GAN's failures (the ones before GENERAL_RULE_NAMES). */
export const GAN_RULE_NAMES = ALERT_RULE_NAMES.filter((r) => !(GENERAL_RULE_NAMES as readonly string[]).includes(r));

/** Who produces a metric. */
export type MetricSource =
  /** ganwatch's trainer, every step it pushes. */
  | 'step'
  /** ganwatch's trainer, at every validation. */
  | 'validation'
  /** the server, derived from what a trainer sent (latent codes). */
  | 'server'
  /** no ganwatch component: other trainers may push it. */
  | 'client'
  /** the clients' system sampler, every 10 s at the latest step logged (not the training step). */
  | 'system';

export interface MetricContract {
  meaning: string;
  source: MetricSource;
  /** The alert rules that read it, each with what for; empty when only charts show it. */
  readBy: Readonly<Partial<Record<AlertRuleName, string>>>;
  /**
   * For the alerts: required = a rule's main signal (without it the rule goes silent, or blind to part of the failure
   * it names); optional = a second network's key, a stricter condition, a gate, evidence, a severity or a remedy's
   * numbers. Always false for names no rule reads.
   */
  required: boolean;
  /** A change of its value (λ: any; lr: more than 25%) makes every rule re-learn its baselines. */
  rebaseline?: true;
}

/** What each name means, who pushes it and which rules read it. */
export const METRICS: { readonly [N in KnownMetric]: MetricContract } = {
  D_real_acc: {
    meaning: 'fraction of D’s patches (both scales) that judge the real target B real (sigmoid > 0.5), in the D step',
    source: 'step',
    readBy: { d_overpowering: 'min(real, fake) accuracy of D (key D)' },
    required: true,
  },
  D_fake_acc: {
    meaning: 'fraction of D’s patches that judge the cVAE-GAN fake fake (sigmoid < 0.5), in the D step',
    source: 'step',
    readBy: { d_overpowering: 'min(real, fake) accuracy of D (key D)' },
    required: true,
  },
  D2_real_acc: {
    meaning: 'the same for the second discriminator D2 on its real half of the batch',
    source: 'step',
    readBy: { d_overpowering: 'key D2 (a second discriminator)' },
    required: false,
  },
  D2_fake_acc: {
    meaning: 'the same for D2 on the cLR-GAN fake (random z)',
    source: 'step',
    readBy: { d_overpowering: 'key D2 (a second discriminator)' },
    required: false,
  },
  Cyc_error: {
    meaning: 'the seed’s cycle error: the cVAE-GAN image reconstruction error, the same number as loss/L1',
    source: 'step',
    readBy: {},
    required: false,
  },
  Latent_mse: {
    meaning: 'the seed’s latent error: mean (μ(E(G(A, z))) − z)², the cLR-GAN latent regression as an MSE',
    source: 'step',
    readBy: {},
    required: false,
  },
  'loss/D': {
    meaning: 'D’s unweighted GAN loss, real vs detached fake, summed over scales (the update uses λ_adv × this)',
    source: 'step',
    readBy: {
      d_overpowering: 'D loss ≈ 0 (≤ 0.1 of its 50/50 value) tightens the accuracy condition (key D)',
      gradient_oscillation: 'secondary series (key loss/D)',
    },
    required: false,
  },
  'loss/D2': {
    meaning: 'the same for D2',
    source: 'step',
    readBy: {
      d_overpowering: 'the D loss condition of key D2',
      gradient_oscillation: 'secondary series (key loss/D2)',
    },
    required: false,
  },
  'loss/G_GAN': {
    meaning: 'G’s unweighted adversarial loss against D (cVAE-GAN fake), summed over scales',
    source: 'step',
    readBy: { color_distortion: 'the adversarial loss must not be rising while L1 rises (C1)' },
    required: false,
  },
  'loss/G_GAN2': {
    meaning: 'G’s unweighted adversarial loss against D2 (cLR-GAN fake)',
    source: 'step',
    readBy: {},
    required: false,
  },
  'loss/L1': {
    meaning: 'image L1 of the cVAE-GAN branch: mean absolute difference of G(A, z from E(B)) and B (unweighted)',
    source: 'step',
    readBy: {
      divergence: 'blow-up (10× its rolling median) and slow divergence (CUSUM + Mann-Kendall)',
      color_distortion: 'C1: 15% above its best and trending up',
      training_stall: 'plateau over 1500 points',
    },
    required: true,
  },
  'loss/z_L1': {
    meaning: 'latent regression of the cLR-GAN branch: mean absolute difference of μ(E(G(A, z))) and z (unweighted)',
    source: 'step',
    readBy: {
      divergence: 'blow-up (10× its rolling median)',
      mode_collapse: 'M2: latent error near the “z ignored” level 0.798',
      training_stall: 'plateau over 1500 points',
    },
    required: true,
  },
  'loss/KL': {
    meaning: 'KL of E(B) to N(0, I), summed over half a batch × nz (unweighted)',
    source: 'step',
    readBy: { mode_collapse: 'evidence' },
    required: false,
  },
  'loss/G_total': { meaning: 'the weighted total G and E minimise', source: 'step', readBy: {}, required: false },
  'grad_norm/G': {
    meaning: 'global L2 norm of G’s gradient, before clipping',
    source: 'step',
    readBy: {
      divergence: 'blow-up (6 robust σ); the clipping level of the remedy',
      d_overpowering: 'G starved of gradient → critical',
      training_stall: 'gradient spikes or vanishing gradients; the clipping level of the remedy',
    },
    required: true,
  },
  'grad_norm/E': {
    meaning: 'global L2 norm of E’s gradient, before clipping',
    source: 'step',
    readBy: { divergence: 'blow-up (6 robust σ)' },
    required: false,
  },
  'grad_norm/D': {
    meaning: 'global L2 norm of D’s gradient, before clipping',
    source: 'step',
    readBy: { divergence: 'blow-up (6 robust σ)', gradient_oscillation: 'primary series (key grad_norm/D)' },
    required: true,
  },
  'grad_norm/D2': {
    meaning: 'global L2 norm of D2’s gradient, before clipping',
    source: 'step',
    readBy: { divergence: 'blow-up (6 robust σ)', gradient_oscillation: 'primary series (key grad_norm/D2)' },
    required: false,
  },
  'lr/G': {
    meaning: 'learning rate of G used by this step (base × linear-decay factor)',
    source: 'step',
    readBy: {
      training_stall: 'gate: no evaluation while the lr decays or just changed',
      d_overpowering: 'the remedy: a G far slower than D gets its lr raised',
    },
    required: false,
    rebaseline: true,
  },
  'lr/E': {
    meaning: 'learning rate of E used by this step',
    source: 'step',
    readBy: {},
    required: false,
    rebaseline: true,
  },
  'lr/D': {
    meaning: 'learning rate of D (and D2) used by this step',
    source: 'step',
    readBy: { d_overpowering: 'the numbers of the remedy (lr → lr × 0.5)' },
    required: false,
    rebaseline: true,
  },
  'lambda/adv': { meaning: 'λ_adv in force', source: 'step', readBy: {}, required: false, rebaseline: true },
  'lambda/cyc': {
    meaning: 'λ_cyc (image L1 weight) in force',
    source: 'step',
    readBy: { color_distortion: 'the cap of the λ step in the remedy, and the value it sets back after a cut' },
    required: false,
    rebaseline: true,
  },
  'lambda/latent': {
    meaning: 'λ_latent in force',
    source: 'step',
    readBy: { mode_collapse: 'the cap of the λ step in the remedy' },
    required: false,
    rebaseline: true,
  },
  'lambda/kl': { meaning: 'λ_kl in force', source: 'step', readBy: {}, required: false, rebaseline: true },
  'clip/max_norm': {
    meaning: 'gradient-clipping max norm in force (0 = off)',
    source: 'step',
    readBy: {},
    required: false,
  },
  'perf/step_ms': { meaning: 'wall time of the step, in ms', source: 'step', readBy: {}, required: false },
  'perf/images_per_s': {
    meaning: 'training images per second of the step',
    source: 'step',
    readBy: { throughput_drop: 'the throughput, against its own median' },
    required: true,
  },
  'perf/val_ms': { meaning: 'wall time of the validation, in ms', source: 'validation', readBy: {}, required: false },
  'val/L1': {
    meaning: 'image L1 of the encoded-z outputs against their targets',
    source: 'validation',
    readBy: { early_stop: 'the watched metric when the run pushes no val/fid' },
    required: true,
  },
  'val/ssim': {
    meaning: 'SSIM of the encoded-z outputs against their targets',
    source: 'validation',
    readBy: {
      color_distortion: 'C2: below its best by 3× its validation noise (at least 0.02), on 2 validations',
      early_stop: 'the watched metric with params.metric = 3',
    },
    required: false,
  },
  'val/diversity': {
    meaning: 'mean absolute pixel difference between outputs of different fixed z for the same input',
    source: 'validation',
    readBy: {
      mode_collapse: 'M1: below half its best on 2 validations',
      early_stop: 'an epoch whose diversity collapsed is never the best (or the watched metric, params.metric = 4)',
    },
    required: true,
  },
  'val/mode_coverage': {
    meaning: 'fraction of the K palettes among an input’s K random-z outputs (synthetic data)',
    source: 'validation',
    readBy: { mode_collapse: 'M1 also enters when coverage halves' },
    required: false,
  },
  'val/fid': {
    meaning: 'FID between random-z outputs and validation targets (with --fid-model)',
    source: 'validation',
    readBy: { early_stop: 'the watched metric when the first validation carries it' },
    required: false,
  },
  'val/fid_n': { meaning: 'the number of samples val/fid compared', source: 'validation', readBy: {}, required: false },
  'val/latent_silhouette': {
    meaning: 'mean silhouette of the latent codes by class label',
    source: 'server',
    readBy: {},
    required: false,
  },
  'val/latent_fisher': {
    meaning: 'between-class over within-class scatter of the latent codes',
    source: 'server',
    readBy: {},
    required: false,
  },
  skipped_step: {
    meaning: '1 when the optimizer step was skipped (a loss scaler found an overflow)',
    source: 'client',
    readBy: { divergence: 'the step is ignored', change_point: 'the step is ignored' },
    required: false,
  },
  'sys/cpu_percent': {
    meaning: 'CPU time of the training process over the last sample period, % of one core (as top shows it)',
    source: 'system',
    readBy: {},
    required: false,
  },
  'sys/rss_mb': {
    meaning: 'resident memory of the training process, MiB',
    source: 'system',
    readBy: {},
    required: false,
  },
};

/** Every declared name, in declaration order. */
// Pure: the dashboard bundle, which needs only the names, drops this and the table above.
export const KNOWN_METRICS: readonly KnownMetric[] = /* @__PURE__ */ Object.values(METRIC);

/** Whether `name` is a declared metric name. */
export function isKnownMetric(name: string): name is KnownMetric {
  return Object.hasOwn(METRICS, name);
}

/**
 * The run config keys the alerts read the GAN loss from ('vanilla' or 'lsgan'), first match wins: ganwatch's trainer
 * writes `ganMode`; the official BicycleGAN's options, logged as they are (`vars(opt)`), hold `gan_mode`.
 */
export const GAN_MODE_KEYS = ['ganMode', 'gan_mode'] as const;

/** The GAN loss a run's config names, if it names one. */
export function ganModeOf(config: Readonly<Record<string, unknown>>): string | undefined {
  for (const key of GAN_MODE_KEYS) if (typeof config[key] === 'string') return config[key];
  return undefined;
}

/** What one BicycleGAN training step reports, one value each (the trainer's StepMetrics). */
export const STEP_METRICS = [
  METRIC.dRealAcc,
  METRIC.dFakeAcc,
  METRIC.d2RealAcc,
  METRIC.d2FakeAcc,
  METRIC.cycError,
  METRIC.latentMse,
  METRIC.lossD,
  METRIC.lossD2,
  METRIC.lossGGan,
  METRIC.lossGGan2,
  METRIC.lossL1,
  METRIC.lossZL1,
  METRIC.lossKl,
  METRIC.lossGTotal,
  METRIC.gradNormG,
  METRIC.gradNormE,
  METRIC.gradNormD,
  METRIC.gradNormD2,
  METRIC.lrG,
  METRIC.lrE,
  METRIC.lrD,
  METRIC.lambdaAdv,
  METRIC.lambdaCyc,
  METRIC.lambdaLatent,
  METRIC.lambdaKl,
  METRIC.clipMaxNorm,
] as const;
