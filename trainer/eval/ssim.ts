// SSIM (Wang, Bovik, Sheikh & Simoncelli 2004) of image batches in tfjs, as scikit-image computes it with
// structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L,
// channel_axis=-1): an 11 × 11 Gaussian window (σ = 1.5; radius int(3.5·σ + 0.5) = 5), K1 = 0.01, K2 = 0.03,
// population (weighted) variances, per channel, averaged over the image and the channels.
// Borders: skimage filters with reflect padding and then crops 5 pixels (the window radius) from every side
// before averaging, so every value it keeps depends on pixels inside the image only. That is exactly a 'valid'
// filter, which is what this module computes: the mean runs over (H − 10) × (W − 10) positions per channel.
import * as tf from '@tensorflow/tfjs';
import { gwError } from '../../protocol/errors.js';

export const SSIM_WINDOW = 11;
export const SSIM_SIGMA = 1.5;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;

/** The normalised 1-D Gaussian of the SSIM window (scipy.ndimage's weights for σ = 1.5, radius 5). */
export function gaussianWindow(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float32Array {
  const r = (size - 1) / 2;
  const w = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-0.5 * ((i - r) / sigma) ** 2);
    sum += w[i]!;
  }
  return Float32Array.from(w, (v) => v / sum);
}

/**
 * SSIM of each image pair: x and y are [B, H, W, C] (H, W ≥ 11) in a range of width `dataRange` (ganwatch's
 * images are in [−1, 1], so dataRange = 2). Returns [B], one mean SSIM per pair. The caller owns the result.
 */
export function ssim(x: tf.Tensor4D, y: tf.Tensor4D, dataRange: number): tf.Tensor1D {
  checkPair(x, y, dataRange);
  const c = x.shape[3];
  const c1 = (SSIM_K1 * dataRange) ** 2;
  const c2 = (SSIM_K2 * dataRange) ** 2;
  return tf.tidy(() => {
    const xf = x.toFloat();
    const yf = y.toFloat();
    // Variances and covariances are invariant to a shift common to x and y; centring on the pair's mean per
    // image and channel keeps E[x²] − E[x]² away from float32 cancellation. The means are shifted back below.
    const centre = tf.add(xf.mean([1, 2], true), yf.mean([1, 2], true)).mul(0.5);
    const xc = xf.sub(centre);
    const yc = yf.sub(centre);
    // One separable depthwise filter pass over [x, y, x², y², xy] stacked on the channel axis.
    const stack = tf.concat([xc, yc, xc.square(), yc.square(), xc.mul(yc)], 3) as tf.Tensor4D;
    const g = gaussianWindow();
    const rows = tf.tile(tf.tensor4d(g, [SSIM_WINDOW, 1, 1, 1]), [1, 1, 5 * c, 1]);
    const cols = tf.tile(tf.tensor4d(g, [1, SSIM_WINDOW, 1, 1]), [1, 1, 5 * c, 1]);
    const f = tf.depthwiseConv2d(tf.depthwiseConv2d(stack, rows, 1, 'valid'), cols, 1, 'valid');
    const [mx, my, mxx, myy, mxy] = tf.split(f, 5, 3) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    const vx = mxx.sub(mx.square());
    const vy = myy.sub(my.square());
    const vxy = mxy.sub(mx.mul(my));
    const ux = mx.add(centre);
    const uy = my.add(centre);
    const num = ux.mul(uy).mul(2).add(c1).mul(vxy.mul(2).add(c2));
    const den = ux.square().add(uy.square()).add(c1).mul(vx.add(vy).add(c2));
    const map = num.div(den);
    return map.mean([1, 2, 3]) as tf.Tensor1D;
  });
}

/** Mean SSIM over the batch, as a number (downloads one scalar). */
export function meanSsim(x: tf.Tensor4D, y: tf.Tensor4D, dataRange: number): number {
  const per = ssim(x, y, dataRange);
  try {
    const v = per.dataSync();
    let s = 0;
    for (const e of v) s += e;
    return s / v.length;
  } finally {
    per.dispose();
  }
}

function checkPair(x: tf.Tensor4D, y: tf.Tensor4D, dataRange: number): void {
  if (x.rank !== 4 || y.rank !== 4)
    throw gwError(
      'GW_ERR_EVAL_INPUT',
      `SSIM needs [batch, height, width, channels] tensors, got ranks ${x.rank} and ${y.rank}`,
    );
  if (x.shape.some((d, i) => d !== y.shape[i]))
    throw gwError('GW_ERR_EVAL_INPUT', `SSIM needs equal shapes, got [${x.shape}] and [${y.shape}]`);
  const [b, h, w] = x.shape;
  if (b < 1) throw gwError('GW_ERR_EVAL_INPUT', 'SSIM of an empty batch');
  if (h < SSIM_WINDOW || w < SSIM_WINDOW)
    throw gwError(
      'GW_ERR_EVAL_INPUT',
      `SSIM needs images of at least ${SSIM_WINDOW}×${SSIM_WINDOW} pixels, got ${h}×${w}`,
    );
  if (!(dataRange > 0) || !Number.isFinite(dataRange))
    throw gwError('GW_ERR_EVAL_INPUT', `SSIM data range must be a positive number, got ${dataRange}`);
}
