// FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to Inception-v3 pool features of
// generated and real images. FidEvaluator runs a TensorFlow.js Inception-v3 (graph or layers model) from a local
// folder or a URL; with no model, or one that cannot be loaded, it reports why instead of a number.
// Real Inception weights are not shipped (they cannot be downloaded everywhere); any image → feature-vector
// model works, and its output size is the feature dimension. FIDs are only comparable with the same model,
// the same real images and the same sample count n, which is why n travels with every value.
import * as tf from '@tensorflow/tfjs';
import { gwError } from '../../protocol/errors.js';
import type { FeatureSet, FrechetRoute } from './frechet.js';
import { frechetDistanceOfFeatures, frechetRoute } from './frechet.js';
import { fileModelLoader, modelFormat, readModelJson, resolveModelJson } from './model-files.js';

export { frechetDistance, frechetDistanceOfFeatures, meanAndCov, traceSqrtProduct } from './frechet.js';
export type { FeatureSet, FrechetOptions, GaussianFit } from './frechet.js';

/** Why there is no FID: shown to the user in place of a value. */
export interface FidUnavailable {
  unavailable: string;
}

export interface FidResult {
  fid: number;
  /** Generated samples the value is based on. */
  n: number;
  /** Real samples. */
  nReal: number;
  featureDim: number;
  route: FrechetRoute;
}

export interface FidOptions {
  /** Side the images are resized to (bilinear, half-pixel centres as PyTorch's align_corners=False). Default: the model's input shape, else 299. */
  inputSize?: number;
  /** The value range the model expects; ganwatch's [−1, 1] images are mapped linearly onto it. Default [−1, 1] (Keras/TF Inception-v3). */
  inputRange?: readonly [number, number];
  /** Images per forward pass. Default 16. */
  batchSize?: number;
  /** Graph models: the output node to read (default: the first output). */
  output?: string;
}

export const DEFAULT_INCEPTION_SIZE = 299;

export function isFidUnavailable(x: FidEvaluator | FidUnavailable): x is FidUnavailable {
  return 'unavailable' in x;
}

type AnyModel = tf.GraphModel | tf.LayersModel;

export class FidEvaluator {
  private constructor(
    private readonly model: AnyModel,
    readonly kind: 'graph-model' | 'layers-model',
    readonly source: string,
    /** Length of the feature vector (the model's output channels; 2048 for Inception-v3's pool). */
    readonly featureDim: number,
    readonly inputHeight: number,
    readonly inputWidth: number,
    private readonly options: Required<Omit<FidOptions, 'output' | 'inputSize'>> & { output: string | undefined },
  ) {}

  /**
   * Loads a feature model from a folder (holding model.json and its weight files), a model.json path, a file://
   * path, or an http(s) URL of a model.json. Resolves to `{ unavailable: reason }` when there is no model
   * (undefined or empty path) or it cannot be loaded or run; never throws for a bad model.
   */
  static async load(pathOrUrl: string | undefined, options: FidOptions = {}): Promise<FidEvaluator | FidUnavailable> {
    if (pathOrUrl === undefined || pathOrUrl.trim() === '') {
      return { unavailable: 'no FID feature model configured (a TensorFlow.js Inception-v3 folder or model.json URL)' };
    }
    let model: AnyModel;
    let kind: 'graph-model' | 'layers-model';
    try {
      if (/^https?:\/\//i.test(pathOrUrl)) {
        const res = await fetch(pathOrUrl);
        if (!res.ok) return { unavailable: `FID model '${pathOrUrl}': HTTP ${res.status}` };
        kind = modelFormat((await res.json()) as tf.io.ModelJSON);
        model = kind === 'graph-model' ? await tf.loadGraphModel(pathOrUrl) : await tf.loadLayersModel(pathOrUrl);
      } else {
        const file = await resolveModelJson(pathOrUrl);
        kind = modelFormat(await readModelJson(file));
        const handler = fileModelLoader(file);
        model = kind === 'graph-model' ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
      }
    } catch (err) {
      return { unavailable: `FID model '${pathOrUrl}' cannot be loaded: ${(err as Error).message}` };
    }
    const fail = (why: string): FidUnavailable => {
      model.dispose();
      return { unavailable: `FID model '${pathOrUrl}': ${why}` };
    };
    const inShape = model.inputs[0]?.shape ?? [];
    if (model.inputs.length !== 1 || inShape.length !== 4)
      return fail(`expected one image input [batch, height, width, 3], got ${describeShapes(model.inputs)}`);
    if (inShape[3] !== 3 && inShape[3] != null && inShape[3] !== -1)
      return fail(`its input has ${inShape[3]} channels, 3 (RGB) expected`);
    const declared = (i: number) => (typeof inShape[i] === 'number' && inShape[i] > 0 ? inShape[i] : undefined);
    const h = options.inputSize ?? declared(1) ?? DEFAULT_INCEPTION_SIZE;
    const w = options.inputSize ?? declared(2) ?? DEFAULT_INCEPTION_SIZE;
    const range = options.inputRange ?? [-1, 1];
    const batchSize = options.batchSize ?? 16;
    if (!(range[1] > range[0]) || !Number.isInteger(batchSize) || batchSize < 1 || !Number.isInteger(h) || h < 1) {
      return fail(`bad options (inputRange [${range}], batchSize ${batchSize}, inputSize ${h})`);
    }
    const outShape = outputShape(model, options.output);
    const declaredDim =
      outShape !== undefined && typeof outShape[outShape.length - 1] === 'number' && outShape[outShape.length - 1]! > 0
        ? outShape[outShape.length - 1]!
        : undefined;
    const ev = new FidEvaluator(model, kind, pathOrUrl, declaredDim ?? 0, h, w, {
      inputRange: range,
      batchSize,
      output: options.output,
    });
    // One forward pass on a blank image: finds a missing kernel, a wrong output, or the feature size now.
    try {
      const probe = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
      const out = await ev.run(probe).finally(() => probe.dispose());
      const dim = out.length;
      if (declaredDim !== undefined && dim !== declaredDim)
        return fail(`it declares ${declaredDim} output features but produced ${dim}`);
      return new FidEvaluator(model, kind, pathOrUrl, dim, h, w, ev.options);
    } catch (err) {
      return fail(`a test forward pass failed: ${(err as Error).message}`);
    }
  }

  /** Feature vectors of a batch of images in [−1, 1] ([B, H, W, 3], any size: resized to the model's input). */
  async features(images: tf.Tensor4D): Promise<FeatureSet> {
    if (images.rank !== 4 || images.shape[3] !== 3)
      throw gwError('GW_ERR_EVAL_INPUT', `FID needs [batch, height, width, 3] images, got [${images.shape}]`);
    const n = images.shape[0];
    const d = this.featureDim;
    const features = new Float64Array(n * d);
    for (let start = 0; start < n; start += this.options.batchSize) {
      const size = Math.min(this.options.batchSize, n - start);
      const part = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
      const f = await this.run(part).finally(() => part.dispose());
      if (f.length !== size * d)
        throw gwError('GW_ERR_EVAL_INPUT', `FID model produced ${f.length / size} features per image, ${d} expected`);
      features.set(f, start * d);
    }
    return { features, n, d };
  }

  /**
   * FID between generated and real images (or real features computed once with features(), as the real set is
   * fixed across validations). Both need at least 2 images; NaN features give a NaN FID (a divergence signal).
   */
  async fid(generated: tf.Tensor4D, real: tf.Tensor4D | FeatureSet): Promise<FidResult> {
    const gen = await this.features(generated);
    const ref = real instanceof tf.Tensor ? await this.features(real) : real;
    if (gen.n < 2 || ref.n < 2)
      throw gwError('GW_ERR_EVAL_INPUT', `FID needs at least 2 generated and 2 real images, got ${gen.n} and ${ref.n}`);
    if (ref.d !== this.featureDim)
      throw gwError('GW_ERR_EVAL_INPUT', `real features have dimension ${ref.d}, this model gives ${this.featureDim}`);
    const route = frechetRoute(gen.n, ref.n, this.featureDim);
    return {
      fid: frechetDistanceOfFeatures(gen, ref, route),
      n: gen.n,
      nReal: ref.n,
      featureDim: this.featureDim,
      route,
    };
  }

  dispose(): void {
    this.model.dispose();
  }

  /** Resize, map the range, run the model and pool to [B, D]; returns the features, freeing every tensor. */
  private async run(images: tf.Tensor4D): Promise<Float32Array> {
    const [lo, hi] = this.options.inputRange;
    const input = tf.tidy(() => {
      const resized = tf.image.resizeBilinear(images.toFloat(), [this.inputHeight, this.inputWidth], false, true);
      return resized
        .add(1)
        .mul((hi - lo) / 2)
        .add(lo) as tf.Tensor4D;
    });
    let raw: tf.Tensor | tf.Tensor[];
    try {
      raw =
        this.model instanceof tf.GraphModel
          ? await this.model.executeAsync(input, this.options.output)
          : this.model.predict(input);
    } finally {
      input.dispose();
    }
    const outs = Array.isArray(raw) ? raw : [raw];
    try {
      const y = outs[0]!;
      if (y.rank !== 2 && y.rank !== 4)
        throw new Error(
          `the model output has shape [${y.shape}]; expected [batch, features] or [batch, h, w, features]`,
        );
      const pooled = tf.tidy(() => (y.rank === 4 ? y.mean([1, 2]) : y.toFloat()));
      try {
        return (await pooled.data()) as Float32Array;
      } finally {
        pooled.dispose();
      }
    } finally {
      tf.dispose(outs);
    }
  }
}

function outputShape(model: AnyModel, output: string | undefined): number[] | undefined {
  if (model instanceof tf.GraphModel) {
    const info = output === undefined ? model.outputs[0] : model.outputs.find((o) => o.name === output);
    return info?.shape;
  }
  return model.outputs[0]?.shape.map((d) => d ?? -1);
}

function describeShapes(inputs: ReadonlyArray<{ shape?: ReadonlyArray<number | null> }>): string {
  return inputs.length === 0
    ? 'no inputs'
    : inputs.map((i) => `[${(i.shape ?? []).map((d) => d ?? '?').join(', ')}]`).join(', ');
}
