// Output diversity and mode coverage of a multimodal generator, measured on fixed inputs with several random z
// each. Diversity is the mean pairwise L1 distance between outputs for the same input. BicycleGAN's paper measures
// it with LPIPS, a learned perceptual distance; no LPIPS weights are available here, so the numbers are not
// comparable with the paper's, only with each other (the mode-collapse detector compares epochs of one run).
import * as tf from '@tensorflow/tfjs';
import { gwError } from '../../protocol/errors.js';
import { MAX_CLASSES, paletteDistances } from '../data/synthetic.js';

/**
 * Outputs grouped by input: [inputs, samples, H, W, C], or one [samples, H, W, C] tensor per input.
 * Samples of one input come from different z.
 */
export type OutputsByInput = tf.Tensor5D | readonly tf.Tensor4D[];

/**
 * Diversity of each input's outputs: the mean, over all pairs of its samples (a < b), of mean |o_a − o_b| over
 * pixels and channels. For images in [−1, 1] it lies in [0, 2]; 0 means every z gave the same image.
 * Needs at least 2 samples per input.
 */
export function diversityPerInput(outputs: OutputsByInput): Float64Array {
  const groups = groupsOf(outputs, 2, 'diversity');
  const out = new Float64Array(groups.length);
  groups.forEach((g, i) => {
    const total = tf.tidy(() => {
      const k = g.shape[0];
      const flat = tf.reshape(g, [k, -1]);
      // Row a against rows a+1..k-1: (k − 1) small broadcasts instead of one k × k × pixels tensor.
      const sums: tf.Tensor[] = [];
      for (let a = 0; a < k - 1; a++) {
        const row = tf.slice(flat, [a, 0], [1, -1]);
        const rest = tf.slice(flat, [a + 1, 0], [-1, -1]);
        sums.push(tf.sum(tf.abs(tf.sub(rest, row))));
      }
      return tf.addN(sums);
    });
    const k = g.shape[0];
    const pixels = g.size / k;
    out[i] = total.dataSync()[0]! / (pixels * ((k * (k - 1)) / 2));
    total.dispose();
  });
  disposeGroups(outputs, groups);
  return out;
}

/** Mean of diversityPerInput over the inputs (definition there). */
export function diversity(outputs: OutputsByInput): number {
  const per = diversityPerInput(outputs);
  let s = 0;
  for (const v of per) s += v;
  return s / per.length;
}

export interface CoverageOptions {
  /**
   * Count an output as palette k only if its mean distance to palette k's colours (synthetic.paletteDistances,
   * RGB in [−1, 1] units) is at most this. Default: no limit, i.e. every output counts as its nearest palette,
   * even noise; set it to ignore outputs that match no palette.
   */
  maxDistance?: number;
}

/**
 * Mode coverage on the synthetic dataset: for each input, the fraction of the K palettes that appear among its
 * outputs (classified by the nearest palette, as synthetic.classifyPalette), averaged over inputs. With as many
 * samples as palettes, a generator that ignores z scores 1/K and one that reaches every palette scores 1.
 * `outputs`: tensors as for diversity, or per input one Float32Array of samples × size × size × 3.
 */
export function modeCoverage(
  outputs: OutputsByInput | readonly Float32Array[],
  K: number,
  size: number,
  options: CoverageOptions = {},
): number {
  if (!Number.isInteger(K) || K < 1 || K > MAX_CLASSES)
    throw gwError('GW_ERR_EVAL_INPUT', `mode coverage: K must be 1..${MAX_CLASSES}, got ${K}`);
  const per = size * size * 3;
  const inputs = imagesByInput(outputs, per);
  if (inputs.length === 0) throw gwError('GW_ERR_EVAL_INPUT', 'mode coverage of no inputs');
  const limit = options.maxDistance ?? Infinity;
  let total = 0;
  for (const samples of inputs) {
    if (samples.length === 0 || samples.length % per !== 0) {
      throw gwError(
        'GW_ERR_EVAL_INPUT',
        `mode coverage: an input holds ${samples.length} values, not a whole number of ${size}×${size}×3 images`,
      );
    }
    const seen = new Set<number>();
    for (let o = 0; o < samples.length; o += per) {
      const dist = paletteDistances(samples.subarray(o, o + per), size, K);
      let best = 0;
      for (let k = 1; k < K; k++) if (dist[k]! < dist[best]!) best = k;
      if (dist[best]! <= limit) seen.add(best);
    }
    total += seen.size / K;
  }
  return total / inputs.length;
}

function imagesByInput(outputs: OutputsByInput | readonly Float32Array[], per: number): Float32Array[] {
  if (Array.isArray(outputs) && (outputs.length === 0 || outputs[0] instanceof Float32Array))
    return [...(outputs as readonly Float32Array[])];
  const groups = groupsOf(outputs as OutputsByInput, 1, 'mode coverage', (shape) => {
    if (shape[3] !== 3 || shape[1]! * shape[2]! * 3 !== per) {
      throw gwError(
        'GW_ERR_EVAL_INPUT',
        `mode coverage: outputs of shape [${shape}] are not size × size × 3 images (${per} values each)`,
      );
    }
  });
  const arrays = groups.map((g) => g.dataSync() as Float32Array);
  disposeGroups(outputs as OutputsByInput, groups);
  return arrays;
}

/** One [samples, H, W, C] tensor per input (views of a Tensor5D are new tensors: disposeGroups frees them). */
function groupsOf(
  outputs: OutputsByInput,
  minSamples: number,
  what: string,
  check?: (shape: number[]) => void,
): tf.Tensor4D[] {
  const shapes =
    outputs instanceof tf.Tensor
      ? outputs.rank === 5
        ? Array.from({ length: outputs.shape[0] }, () => outputs.shape.slice(1))
        : null
      : outputs.map((g) => g.shape);
  if (shapes === null)
    throw gwError(
      'GW_ERR_EVAL_INPUT',
      `${what}: expected [inputs, samples, H, W, C], got [${(outputs as tf.Tensor).shape}]`,
    );
  if (shapes.length === 0) throw gwError('GW_ERR_EVAL_INPUT', `${what} of no inputs`);
  for (const shape of shapes) {
    if (shape.length !== 4)
      throw gwError('GW_ERR_EVAL_INPUT', `${what}: expected [samples, H, W, C] per input, got [${shape}]`);
    if (shape[0]! < minSamples)
      throw gwError('GW_ERR_EVAL_INPUT', `${what} needs at least ${minSamples} samples per input, got ${shape[0]}`);
    check?.(shape);
  }
  return outputs instanceof tf.Tensor ? (tf.unstack(outputs) as tf.Tensor4D[]) : [...outputs];
}

function disposeGroups(outputs: OutputsByInput, groups: tf.Tensor4D[]): void {
  if (outputs instanceof tf.Tensor) tf.dispose(groups);
}
