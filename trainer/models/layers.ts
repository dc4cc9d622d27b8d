// Functional building blocks on plain tf.Variables: parameters with xavier init from our seeded RNG, convolutions with
// explicit zero padding (PyTorch's padding=1 semantics on every backend), instance norm, pooling. Networks are written
// from these so we decide which variables each loss touches and can run a net on detached copies of its weights.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';

/** One trainable tensor with a stable logical name (e.g. `G/b3/down/w`), used by checkpoints and optimizers. */
export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly variable: tf.Variable;
}

/** Which tensor to use for a parameter: its variable (default) or, e.g., a detached copy. */
export type WeightSource = (p: Param) => tf.Tensor;
export const liveWeights: WeightSource = (p) => p.variable;

/** Collects a network's parameters in creation order (the order optimizers and checkpoints rely on). */
export class ParamSet {
  readonly params: Param[] = [];
  constructor(
    private readonly prefix: string,
    private readonly rng: Rng,
  ) {}

  /** Xavier-normal weight: std = gain·sqrt(2/(fanIn+fanOut)), as torch.nn.init.xavier_normal_. */
  xavier(name: string, shape: number[], fanIn: number, fanOut: number, gain: number): Param {
    const std = gain * Math.sqrt(2 / (fanIn + fanOut));
    const size = shape.reduce((a, b) => a * b, 1);
    const values = this.rng.fillNormal(new Float32Array(size), 0, std);
    return this.add(name, shape, values);
  }

  zeros(name: string, shape: number[]): Param {
    return this.add(name, shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
  }

  private add(name: string, shape: number[], values: Float32Array): Param {
    const full = `${this.prefix}/${name}`;
    if (this.params.some((p) => p.name === full)) throw new Error(`duplicate parameter ${full}`);
    // tf.variable names are global to the engine; leave them auto-generated so several models can coexist.
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), true));
    const p: Param = { name: full, shape: [...shape], variable };
    this.params.push(p);
    return p;
  }
}

export interface ConvParams {
  w: Param;
  b: Param;
}

export const INIT_GAIN = 0.02;

/** Conv k×k, cin→cout, weights [k,k,cin,cout], with bias. */
export function convParams(ps: ParamSet, name: string, k: number, cin: number, cout: number): ConvParams {
  return {
    w: ps.xavier(`${name}/w`, [k, k, cin, cout], cin * k * k, cout * k * k, INIT_GAIN),
    b: ps.zeros(`${name}/b`, [cout]),
  };
}

/** Transposed conv k×k, cin→cout, weights [k,k,cout,cin] (tfjs layout), with bias. */
export function convTransposeParams(ps: ParamSet, name: string, k: number, cin: number, cout: number): ConvParams {
  return {
    w: ps.xavier(`${name}/w`, [k, k, cout, cin], cin * k * k, cout * k * k, INIT_GAIN),
    b: ps.zeros(`${name}/b`, [cout]),
  };
}

export function denseParams(ps: ParamSet, name: string, cin: number, cout: number): ConvParams {
  return {
    w: ps.xavier(`${name}/w`, [cin, cout], cin, cout, INIT_GAIN),
    b: ps.zeros(`${name}/b`, [cout]),
  };
}

/** Zero padding done as its own op so every backend (and every gradient kernel) only ever sees 'valid' convs. */
export function zeroPad(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  if (pad === 0) return x;
  return tf.pad(x, [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ]);
}

export function conv(x: tf.Tensor4D, p: ConvParams, stride: number, pad: number, w: WeightSource): tf.Tensor4D {
  const y = tf.conv2d(zeroPad(x, pad), w(p.w) as tf.Tensor4D, stride, 'valid');
  return tf.add(y, w(p.b));
}

/** ConvTranspose2d(k=4, s=2, p=1): doubles H and W ('same' padding puts exactly one row/column on each side). */
export function upconv(x: tf.Tensor4D, p: ConvParams, w: WeightSource): tf.Tensor4D {
  const [n, h, wd] = x.shape;
  const cout = p.w.shape[2] as number;
  const y = tf.conv2dTranspose(x, w(p.w) as tf.Tensor4D, [n, h * 2, wd * 2, cout], 2, 'same');
  return tf.add(y, w(p.b));
}

export function dense(x: tf.Tensor2D, p: ConvParams, w: WeightSource): tf.Tensor2D {
  return tf.add(tf.matMul(x, w(p.w) as tf.Tensor2D), w(p.b));
}

export const INSTANCE_NORM_EPS = 1e-5;

/** InstanceNorm2d(affine=False): per sample and channel over H,W, biased variance. */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, INSTANCE_NORM_EPS)));
}

export function lrelu(x: tf.Tensor4D): tf.Tensor4D {
  return tf.leakyRelu(x, 0.2);
}

/** AvgPool2d(2, 2). */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'valid');
}

/** AvgPool2d(3, stride 2, padding 1, count_include_pad=False): pooled zeros divided by the count of real pixels. */
export function avgPool3s2ExcludePad(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const sum = tf.avgPool(zeroPad(x, 1), 3, 2, 'valid');
  const count = tf.avgPool(zeroPad(tf.ones([1, h, w, 1]) as tf.Tensor4D, 1), 3, 2, 'valid');
  return tf.div(sum, count);
}

/**
 * z [B,nz] tiled to [B,H,W,nz] by a broadcasting multiply with ones: its gradient is one sum. (tf.tile and
 * tf.broadcastTo both run the Tile kernel, whose gradient adds H·W slices one by one.)
 */
export function tileZ(z: tf.Tensor2D, h: number, w: number): tf.Tensor4D {
  const [b, nz] = z.shape;
  return tf.mul(tf.reshape(z, [b, 1, 1, nz]), tf.ones([1, h, w, 1]));
}
