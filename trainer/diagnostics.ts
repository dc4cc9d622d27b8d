// The trainer's diagnostics as plain data: tensors a diagnosed step kept (weights, each gradient's Σ g², D's verdicts,
// E's μ and log σ²) in, per-layer norms and histograms out, with one read from the device. What they mean and their
// names: protocol/metric-names.ts (layer_norm/, layer_grad/, dist/).
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_HISTOGRAM_BUCKETS, histogramOf, type Histogram } from '../protocol/histogram.js';
import { layerGradMetric, layerNormMetric } from '../protocol/metric-names.js';

export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export interface DiagnosticInputs {
  /** Parameters by name (`<net>/<layer…>/<w|b>`), as they are after the step. */
  weights: readonly NamedTensor[];
  /** Σ g² of each parameter's gradient (a scalar each), by parameter name: the step already summed these. */
  gradSquares: readonly NamedTensor[];
  /** Values to histogram, by distribution name. */
  outputs: readonly NamedTensor[];
}

export interface NamedHistogram {
  name: string;
  histogram: Histogram;
}

export interface StepDiagnostics {
  /** layer_norm/<layer> and layer_grad/<layer> → L2 norm. */
  points: Record<string, number>;
  distributions: NamedHistogram[];
}

/** The layer a parameter belongs to: its name without the last part (`G/b3/down/w` → `G/b3/down`). */
export function layerOf(param: string): string {
  const cut = param.lastIndexOf('/');
  return cut > 0 ? param.slice(0, cut) : param;
}

/** Adds each parameter's Σ x² into its layer's, then takes the square roots, in the order layers first appear. */
function layerNorms(names: readonly string[], sums: ArrayLike<number>, metric: (layer: string) => string) {
  const byLayer = new Map<string, number>();
  names.forEach((name, i) => {
    const layer = layerOf(name);
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + (sums[i] as number));
  });
  return [...byLayer].map(([layer, sum]) => [metric(layer), Math.sqrt(sum)] as const);
}

/**
 * Norms per layer and histograms of the outputs. Everything is read back in one flat tensor: the weights' Σ w²,
 * the gradients' Σ g², then each output's values. The caller keeps ownership of the inputs.
 */
export function computeDiagnostics(x: DiagnosticInputs, buckets = DEFAULT_HISTOGRAM_BUCKETS): StepDiagnostics {
  const scalars = [...x.weights, ...x.gradSquares];
  const flat = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    if (scalars.length > 0) {
      parts.push(
        tf.stack([
          ...x.weights.map((w) => tf.sum(tf.square(w.tensor))),
          ...x.gradSquares.map((g) => tf.reshape(g.tensor, [])),
        ]),
      );
    }
    for (const o of x.outputs) parts.push(tf.reshape(o.tensor, [-1]));
    return parts.length > 0 ? tf.concat(parts) : tf.zeros([0]);
  });
  let data: Float32Array;
  try {
    data = flat.dataSync() as Float32Array;
  } finally {
    flat.dispose();
  }
  const nw = x.weights.length;
  const ng = x.gradSquares.length;
  const points = Object.fromEntries([
    ...layerNorms(
      x.weights.map((w) => w.name),
      data.subarray(0, nw),
      layerNormMetric,
    ),
    ...layerNorms(
      x.gradSquares.map((g) => g.name),
      data.subarray(nw, nw + ng),
      layerGradMetric,
    ),
  ]);
  let at = nw + ng;
  const distributions = x.outputs.map((o) => {
    const values = data.subarray(at, at + o.tensor.size);
    at += o.tensor.size;
    return { name: o.name, histogram: histogramOf(values, buckets) };
  });
  return { points, distributions };
}
