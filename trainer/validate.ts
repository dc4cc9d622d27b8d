// Validation of a BicycleGAN run: the same validation inputs and the same z every time, so grids and metrics of
// different epochs compare. Produces the sample grid (per row: input, target, encoded-z output, K random-z outputs),
// val/* metrics, and the μ codes of validation targets for t-SNE. Early stopping on one val/* metric lives here too.
//
// Extension point: a metric is a ValidationMetric (names + compute over ValidationSamples, with the model and the
// dataset at hand for metrics that generate more). Add one to the list standardMetrics() returns, or pass your
// own to Validator.create; each value it returns is pushed under its name. A metric that throws is reported once
// through onProblem and skipped; the others still count.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { isGanwatchError } from '../protocol/errors.js';
import { METRIC } from '../protocol/metric-names.js';
import type { PairDataset } from './data/index.js';
import { diversity, modeCoverage } from './eval/diversity.js';
import {
  FidEvaluator,
  frechetDistanceOfFeatures,
  isFidUnavailable,
  type FeatureSet,
  type FidUnavailable,
} from './eval/fid.js';
import { meanSsim } from './eval/ssim.js';
import { encodeGridPng, gridLayout, GRID_HEADER_HEIGHT } from './images.js';
import type { BicycleGAN } from './models/bicyclegan.js';
import type { EarlyStopMetric } from './options.js';
import { hashSeed, Rng } from './rng.js';

/** Everything one validation generated, as plain [-1, 1] images (size × size × 3 each). */
export interface ValidationSamples {
  size: number;
  /** Fixed validation inputs A, their targets B, and G(A, μ(E(B))). */
  inputs: Float32Array[];
  targets: Float32Array[];
  encoded: Float32Array[];
  /** random[i][k] = G(A_i, z_k) with the fixed z of row i. */
  random: Float32Array[][];
  /** Class of each target (synthetic: palette index), or null. */
  labels: Int32Array | null;
  numClasses: number | null;
  /** μ(E(B)) of the first latentCount validation targets, with their classes (null when latentCount is 0). */
  latents: { dim: number; codes: Float32Array; labels: Int32Array | null } | null;
}

/** What a metric may use besides the samples (to generate more images, e.g. FID). */
export interface ValidationContext {
  model: BicycleGAN;
  dataset: PairDataset;
}

export interface ValidationMetric {
  /** The metric names compute() returns (it may return fewer when a value cannot be computed). */
  readonly names: readonly string[];
  compute(samples: ValidationSamples, ctx: ValidationContext): Promise<Record<string, number>> | Record<string, number>;
}

export interface ValidatorOptions {
  /** Fixed inputs in the grid (the first valCount of the val split). */
  valCount: number;
  /** Random z per input. */
  valZ: number;
  /** Validation targets encoded for the latent plot (the first latentCount of the val split; 0: none). */
  latentCount: number;
  /** Seed of the fixed z. */
  seed: number;
}

export interface ValidationOutput {
  metrics: Record<string, number>;
  png: Buffer;
  meta: Record<string, unknown>;
  latents: { dim: number; codes: Float32Array; labels: Int32Array | null } | null;
  samples: ValidationSamples;
  ms: number;
}

/** Largest batch given to G or E during validation (bounds memory at 256 px). */
const CHUNK = 16;

/** Padding of the validation grid's tiles (the grid meta says it, so a viewer can find every cell). */
const GRID_PADDING = 2;

/**
 * A short fingerprint of float arrays: two runs whose grids show the same validation inputs (or z) have the same one,
 * so the dashboard can tell grids it may overlay from grids that only look alike.
 */
export function fingerprint(...arrays: readonly Float32Array[]): string {
  const hash = createHash('sha256');
  for (const a of arrays) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex').slice(0, 16);
}

function split(flat: Float32Array, per: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < flat.length / per; i++) out.push(flat.slice(i * per, (i + 1) * per));
  return out;
}

/** Mean absolute difference of two images: val/L1. */
export function meanAbs(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs((x[i] as number) - (y[i] as number));
  return s / x.length;
}

/** val/L1: the encoded-z output against its target, averaged over the fixed inputs. */
export const l1Metric: ValidationMetric = {
  names: [METRIC.valL1],
  compute: (s) => ({
    [METRIC.valL1]:
      s.encoded.reduce((acc, img, i) => acc + meanAbs(img, s.targets[i] as Float32Array), 0) / s.encoded.length,
  }),
};

function stackImages(images: readonly Float32Array[], size: number): tf.Tensor4D {
  const flat = new Float32Array(images.length * size * size * 3);
  images.forEach((img, i) => flat.set(img, i * img.length));
  return tf.tensor4d(flat, [images.length, size, size, 3]);
}

/** val/ssim: SSIM of the encoded-z output against its target (data range 2 for [-1, 1]), mean over the inputs. */
export const ssimMetric: ValidationMetric = {
  names: [METRIC.valSsim],
  compute: (s) => {
    const x = stackImages(s.encoded, s.size);
    const y = stackImages(s.targets, s.size);
    try {
      return { [METRIC.valSsim]: meanSsim(x, y, 2) };
    } finally {
      tf.dispose([x, y]);
    }
  },
};

/** val/diversity: mean pairwise L1 between the random-z outputs of each input (needs 2+ z per input). */
export const diversityMetric: ValidationMetric = {
  names: [METRIC.valDiversity],
  compute: (s): Record<string, number> => {
    if ((s.random[0]?.length ?? 0) < 2) return {};
    const groups = s.random.map((outs) => stackImages(outs, s.size));
    try {
      return { [METRIC.valDiversity]: diversity(groups) };
    } finally {
      tf.dispose(groups);
    }
  },
};

/** Fixed z per validation input for val/mode_coverage, per class: 4 per class, so a generator whose random z reach
 * all K classes evenly scores 1 − (1 − 1/K)^(4K) ≈ 0.99 (K = 4), while with only K samples it could score no more than
 * 1 − (1 − 1/K)^K ≈ 0.68: the grid's few columns measure how many samples collide, not how many classes are reached. */
export const COVERAGE_Z_PER_CLASS = 4;

/**
 * val/mode_coverage (labelled data only): the fraction of the K classes the random-z outputs of each fixed validation
 * input reach, averaged over the inputs, from COVERAGE_Z_PER_CLASS·K fixed z per input of its own (the same every
 * validation). With its z spread evenly over r of the K classes a generator scores about r/K.
 */
export class ModeCoverageMetric implements ValidationMetric {
  readonly names = [METRIC.valModeCoverage];
  private z: Float32Array | null = null;

  constructor(
    private readonly nz: number,
    private readonly seed: number,
  ) {}

  async compute(s: ValidationSamples, ctx: ValidationContext): Promise<Record<string, number>> {
    const K = s.numClasses;
    if (K === null) return {};
    const perInput = COVERAGE_Z_PER_CLASS * K;
    const n = s.inputs.length;
    const nz = this.nz;
    this.z ??= new Rng(this.seed).fillNormal(new Float32Array(n * perInput * nz));
    const per = s.size * s.size * 3;
    const outputs = Array.from({ length: n }, () => new Float32Array(perInput * per));
    for (let j = 0; j < n * perInput; j += CHUNK) {
      const m = Math.min(CHUNK, n * perInput - j);
      const out = tf.tidy(() => {
        const a = tf.concat(
          Array.from({ length: m }, (_, t) =>
            tf.tensor4d(s.inputs[Math.floor((j + t) / perInput)] as Float32Array, [1, s.size, s.size, 3]),
          ),
        );
        return ctx.model.generate(a, tf.tensor2d((this.z as Float32Array).subarray(j * nz, (j + m) * nz), [m, nz]));
      });
      const data = (await out.data()) as Float32Array;
      out.dispose();
      for (let t = 0; t < m; t++) {
        const item = j + t;
        (outputs[Math.floor(item / perInput)] as Float32Array).set(
          data.subarray(t * per, (t + 1) * per),
          (item % perInput) * per,
        );
      }
    }
    return { [METRIC.valModeCoverage]: modeCoverage(outputs, K, s.size) };
  }
}

/**
 * val/fid and val/fid_n: FID between G(A, z) (one fixed random z per item) and the targets B, over the first
 * `count` validation items. The real features are computed once: the validation targets never change.
 */
export class FidMetric implements ValidationMetric {
  readonly names = [METRIC.valFid, METRIC.valFidN];
  private real: FeatureSet | null = null;
  private readonly z: Float32Array;

  constructor(
    private readonly evaluator: FidEvaluator,
    private readonly count: number,
    nz: number,
    seed: number,
  ) {
    this.z = new Rng(seed).fillNormal(new Float32Array(count * nz));
  }

  async compute(s: ValidationSamples, ctx: ValidationContext): Promise<Record<string, number>> {
    const n = Math.min(this.count, ctx.dataset.valLength);
    if (n < 2) return {};
    const nz = this.z.length / this.count;
    const size = s.size;
    const gen: FeatureSet[] = [];
    const real: FeatureSet[] = [];
    for (let i = 0; i < n; i += CHUNK) {
      const m = Math.min(CHUNK, n - i);
      const batch = await ctx.dataset.valBatch(Array.from({ length: m }, (_, t) => i + t));
      const fake = tf.tidy(() =>
        ctx.model.generate(
          tf.tensor4d(batch.a, [m, size, size, 3]),
          tf.tensor2d(this.z.subarray(i * nz, (i + m) * nz), [m, nz]),
        ),
      );
      try {
        gen.push(await this.evaluator.features(fake));
      } finally {
        fake.dispose();
      }
      if (!this.real) {
        const b = tf.tensor4d(batch.b, [m, size, size, 3]);
        try {
          real.push(await this.evaluator.features(b));
        } finally {
          b.dispose();
        }
      }
    }
    this.real ??= concatFeatures(real);
    return { [METRIC.valFid]: frechetDistanceOfFeatures(concatFeatures(gen), this.real), [METRIC.valFidN]: n };
  }

  dispose(): void {
    this.evaluator.dispose();
  }
}

function concatFeatures(parts: FeatureSet[]): FeatureSet {
  const d = parts[0]?.d ?? 0;
  const n = parts.reduce((a, p) => a + p.n, 0);
  const features = new Float64Array(n * d);
  let at = 0;
  for (const p of parts) {
    features.set(p.features, at);
    at += p.features.length;
  }
  return { features, n, d };
}

/** Items FID compares per validation (FID is biased at small n: val/fid_n travels with every value). */
export const FID_COUNT = 256;

/**
 * The metrics every validation computes (FID is added by the caller when a feature model loaded); `nz` and `seed`
 * fix the z of the metrics that draw their own.
 */
export function standardMetrics(nz: number, seed: number): ValidationMetric[] {
  return [l1Metric, ssimMetric, diversityMetric, new ModeCoverageMetric(nz, hashSeed(seed, 0xc0e))];
}

/** Loads the FID feature model; `unavailable` says why there is no FID (no model given, or it failed to load). */
export function loadFid(path: string | null): Promise<FidEvaluator | FidUnavailable> {
  return FidEvaluator.load(path ?? undefined);
}

export { isFidUnavailable };

export class Validator {
  private constructor(
    private readonly dataset: PairDataset,
    private readonly opts: ValidatorOptions,
    private readonly metrics: ValidationMetric[],
    private readonly a: Float32Array,
    private readonly b: Float32Array,
    private readonly labels: Int32Array | null,
    private readonly z: Float32Array,
    private readonly nz: number,
    private readonly onProblem: (message: string) => void,
  ) {}

  private readonly reported = new Set<string>();

  /** Loads the fixed validation inputs and draws the fixed z (nz from the model). */
  static async create(
    dataset: PairDataset,
    nz: number,
    opts: ValidatorOptions,
    metrics = standardMetrics(nz, opts.seed),
    onProblem: (message: string) => void = () => undefined,
  ): Promise<Validator> {
    const count = Math.min(opts.valCount, dataset.valLength);
    const batch = await dataset.valBatch(Array.from({ length: count }, (_, i) => i));
    const z = new Rng(opts.seed).fillNormal(new Float32Array(count * opts.valZ * nz));
    return new Validator(
      dataset,
      { ...opts, valCount: count, latentCount: Math.min(opts.latentCount, dataset.valLength) },
      metrics,
      batch.a,
      batch.b,
      batch.labels,
      z,
      nz,
      onProblem,
    );
  }

  get rows(): number {
    return this.opts.valCount;
  }

  /**
   * Fingerprints of what the grid is made from, the same at every validation: the inputs with their targets, and
   * the random z. Both depend on the dataset, the seed and the grid's size only, never on training progress.
   */
  get fingerprints(): { inputs: string; z: string } {
    // The inputs never change, so they are hashed once, not at every validation.
    return (this.hashed ??= { inputs: fingerprint(this.a, this.b), z: fingerprint(this.z) });
  }
  private hashed: { inputs: string; z: string } | null = null;

  get latentCount(): number {
    return this.opts.latentCount;
  }

  /** Grid column labels. */
  get columns(): string[] {
    return ['input', 'target', 'encoded', ...Array.from({ length: this.opts.valZ }, (_, k) => `z${k + 1}`)];
  }

  async run(model: BicycleGAN): Promise<ValidationOutput> {
    const t0 = performance.now();
    const s = this.dataset.size;
    const per = s * s * 3;
    const n = this.opts.valCount;
    const K = this.opts.valZ;
    const nz = this.nz;

    // Encoded-z outputs: z = μ(E(B)), no sampling, so the grid is deterministic.
    const encoded = new Float32Array(n * per);
    for (let i = 0; i < n; i += CHUNK) {
      const m = Math.min(CHUNK, n - i);
      const out = tf.tidy(() => {
        const a = tf.tensor4d(this.a.subarray(i * per, (i + m) * per), [m, s, s, 3]);
        const b = tf.tensor4d(this.b.subarray(i * per, (i + m) * per), [m, s, s, 3]);
        const { mu, logvar } = model.encode(b);
        logvar.dispose();
        return model.generate(a, mu);
      });
      encoded.set(await out.data(), i * per);
      out.dispose();
    }

    // Random-z outputs, items ordered (input i, z k).
    const total = n * K;
    const random = new Float32Array(total * per);
    for (let j = 0; j < total; j += CHUNK) {
      const m = Math.min(CHUNK, total - j);
      const out = tf.tidy(() => {
        const rows = Array.from({ length: m }, (_, t) => Math.floor((j + t) / K));
        const a = tf.concat(rows.map((r) => tf.tensor4d(this.a.subarray(r * per, (r + 1) * per), [1, s, s, 3])));
        const z = tf.tensor2d(this.z.subarray(j * nz, (j + m) * nz), [m, nz]);
        return model.generate(a, z);
      });
      random.set(await out.data(), j * per);
      out.dispose();
    }

    const randomImages = split(random, per);
    const samples: ValidationSamples = {
      size: s,
      inputs: split(this.a, per),
      targets: split(this.b, per),
      encoded: split(encoded, per),
      random: Array.from({ length: n }, (_, i) => randomImages.slice(i * K, (i + 1) * K)),
      labels: this.labels,
      numClasses: this.dataset.numClasses,
      latents: await this.encodeLatents(model),
    };

    const metrics: Record<string, number> = {};
    for (const metric of this.metrics) {
      try {
        Object.assign(metrics, await metric.compute(samples, { model, dataset: this.dataset }));
      } catch (err) {
        const key = metric.names.join(', ');
        if (!this.reported.has(key)) {
          this.reported.add(key);
          const why = isGanwatchError(err) || err instanceof Error ? err.message : String(err);
          this.onProblem(`${key} not computed: ${why}`);
        }
      }
    }

    const tiles: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      tiles.push(samples.inputs[i]!, samples.targets[i]!, samples.encoded[i]!, ...samples.random[i]!);
    }
    const columns = this.columns;
    const grid = { size: s, columns: columns.length, labels: columns, padding: GRID_PADDING };
    const png = await encodeGridPng(tiles, grid);
    const layout = gridLayout(tiles.length, grid);
    const fingerprints = this.fingerprints;
    const meta: Record<string, unknown> = {
      rows: n,
      columns: columns.length,
      labels: columns,
      labels_drawn: true,
      tile: s,
      padding: GRID_PADDING,
      header: GRID_HEADER_HEIGHT,
      width: layout.width,
      height: layout.height,
      inputs_id: fingerprints.inputs,
      z_id: fingerprints.z,
      row_labels: this.labels ? Array.from(this.labels) : null,
      z: 'fixed per row and column across validations; encoded uses z = mu(E(target))',
    };

    return { metrics, png, meta, latents: samples.latents, samples, ms: performance.now() - t0 };
  }

  /** μ of E(B) for the first latentCount validation targets, with their class labels. */
  private async encodeLatents(model: BicycleGAN): Promise<ValidationOutput['latents']> {
    const count = this.opts.latentCount;
    if (count === 0) return null;
    const s = this.dataset.size;
    const nz = this.nz;
    const codes = new Float32Array(count * nz);
    const labels = this.dataset.numClasses === null ? null : new Int32Array(count);
    for (let i = 0; i < count; i += CHUNK) {
      const m = Math.min(CHUNK, count - i);
      const batch = await this.dataset.valBatch(Array.from({ length: m }, (_, t) => i + t));
      const mu = tf.tidy(() => {
        const { mu, logvar } = model.encode(tf.tensor4d(batch.b, [m, s, s, 3]));
        logvar.dispose();
        return mu;
      });
      codes.set(await mu.data(), i * nz);
      mu.dispose();
      if (labels && batch.labels) labels.set(batch.labels, i);
    }
    return { dim: nz, codes, labels };
  }
}

// ------------------------------------------------------------------ early stopping

export type MetricMode = 'min' | 'max';

/** Whether smaller or larger is better, per early-stop metric. */
export const METRIC_MODES: Readonly<Record<EarlyStopMetric, MetricMode>> = {
  [METRIC.valL1]: 'min',
  [METRIC.valSsim]: 'max',
  [METRIC.valDiversity]: 'max',
  [METRIC.valFid]: 'min',
};

export interface EarlyStopState {
  metric: EarlyStopMetric;
  mode: MetricMode;
  patience: number;
  best: number | null;
  bestEpoch: number | null;
  bestStep: number | null;
  /** Validation checks seen, and checks since the best one. */
  checks: number;
  sinceBest: number;
}

/** Counts validation checks (not epochs) without improvement of one metric; patience 0 never stops. */
export class EarlyStopping {
  private s: EarlyStopState;

  constructor(metric: EarlyStopMetric, patience: number, state?: EarlyStopState) {
    this.s =
      state && state.metric === metric
        ? { ...state, patience }
        : {
            metric,
            mode: METRIC_MODES[metric],
            patience,
            best: null,
            bestEpoch: null,
            bestStep: null,
            checks: 0,
            sinceBest: 0,
          };
  }

  get metric(): EarlyStopMetric {
    return this.s.metric;
  }

  /** Records one validation; a missing or non-finite value counts as no improvement. */
  observe(value: number | undefined, epoch: number, step: number): { improved: boolean; stop: boolean } {
    this.s.checks++;
    const v = value ?? Number.NaN;
    const improved =
      Number.isFinite(v) && (this.s.best === null || (this.s.mode === 'min' ? v < this.s.best : v > this.s.best));
    if (improved) {
      this.s.best = v;
      this.s.bestEpoch = epoch;
      this.s.bestStep = step;
      this.s.sinceBest = 0;
    } else {
      this.s.sinceBest++;
    }
    return { improved, stop: this.s.patience > 0 && this.s.sinceBest >= this.s.patience };
  }

  state(): EarlyStopState {
    return { ...this.s };
  }
}
