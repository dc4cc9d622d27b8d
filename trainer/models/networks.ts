// BicycleGAN's three networks as factories in the style of pytorch-CycleGAN-and-pix2pix / BicycleGAN `networks.py`:
// the U-Net generator with z injection (G_Unet_add_all / G_Unet_add_input), the ResNet encoder (E_ResNet, globally
// pooled so it works at any size) and the two-scale PatchGAN (D_NLayersMulti, num_D = 2). NHWC throughout.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import {
  type ConvParams,
  type Param,
  type WeightSource,
  ParamSet,
  avgPool2,
  avgPool3s2ExcludePad,
  conv,
  convParams,
  convTransposeParams,
  dense,
  denseParams,
  instanceNorm,
  liveWeights,
  lrelu,
  tileZ,
  upconv,
} from './layers.js';

export type WhereAdd = 'all' | 'input';

export interface Net {
  readonly params: readonly Param[];
}

// ---------------------------------------------------------------- generator

export interface GeneratorSpec {
  size: number; // power of two; depth = log2(size)
  inputNc: number;
  outputNc: number;
  nz: number;
  ngf: number;
  whereAdd: WhereAdd;
  useDropout: boolean;
}

export interface GeneratorApplyOptions {
  /** Train mode: dropout on (needs `dropoutRng`). Eval mode (default): dropout off, as test.py's model.eval(). */
  training?: boolean;
  /** Source of the dropout masks; two passes given equally seeded RNGs draw identical masks. */
  dropoutRng?: Rng;
  weights?: WeightSource;
}

export interface Generator extends Net {
  readonly spec: GeneratorSpec;
  readonly depth: number;
  /** Indices of the blocks (0 = outermost) whose up path ends in Dropout(0.5). */
  readonly dropoutBlocks: readonly number[];
  apply(a: tf.Tensor4D, z: tf.Tensor2D, opts?: GeneratorApplyOptions): tf.Tensor4D;
}

interface UnetBlock {
  down: ConvParams;
  up: ConvParams;
  zIn: boolean;
  dropout: boolean;
}

export function unetDepth(size: number): number {
  const depth = Math.log2(size);
  if (!Number.isInteger(depth) || depth < 5 || depth > 8) {
    throw new RangeError(`generator size must be a power of two from 32 to 256, got ${size}`);
  }
  return depth;
}

/** Channel width of U-Net level i (0 = outermost): ngf·{1,2,4,8,8,...}. */
export function unetWidth(ngf: number, i: number): number {
  return ngf * Math.min(2 ** i, 8);
}

/**
 * U-Net with depth log2(size). Block i (0 = outermost) has down: [LeakyReLU 0.2] → Conv4×4 s2 p1 → [IN] and
 * up: ReLU → ConvTranspose4×4 s2 p1 → IN | Tanh [→ Dropout]. The outermost down has no activation and no norm, the
 * innermost down no norm; every block except the outermost concatenates its up output with its own input (skip,
 * without z). Dropout follows the up path of the ngf×8 → ngf×8 blocks between the innermost and the ngf×4 level,
 * as in networks.py (3 blocks at 256 px, 2 at 128, 1 at 64, none at 32 px).
 */
export function createGenerator(spec: GeneratorSpec, rng: Rng): Generator {
  const depth = unetDepth(spec.size);
  const ps = new ParamSet('G', rng);
  const blocks: UnetBlock[] = [];
  // Create outermost first so parameter order reads top-down.
  for (let i = 0; i < depth; i++) {
    const innermost = i === depth - 1;
    const zIn = spec.nz > 0 && (spec.whereAdd === 'all' || i === 0);
    const inCh = (i === 0 ? spec.inputNc : unetWidth(spec.ngf, i - 1)) + (zIn ? spec.nz : 0);
    const innerCh = unetWidth(spec.ngf, i);
    const outerCh = i === 0 ? spec.outputNc : unetWidth(spec.ngf, i - 1);
    const down = convParams(ps, `b${i}/down`, 4, inCh, innerCh);
    const up = convTransposeParams(ps, `b${i}/up`, 4, innermost ? innerCh : innerCh * 2, outerCh);
    const dropout = spec.useDropout && !innermost && i > 0 && outerCh === spec.ngf * 8;
    blocks.push({ down, up, zIn, dropout });
  }
  const dropoutBlocks = blocks.flatMap((b, i) => (b.dropout ? [i] : []));

  function apply(a: tf.Tensor4D, z: tf.Tensor2D, opts: GeneratorApplyOptions = {}): tf.Tensor4D {
    const w = opts.weights ?? liveWeights;
    const training = opts.training ?? false;
    if (training && dropoutBlocks.length > 0 && !opts.dropoutRng) {
      throw new Error('generator: training mode needs a dropoutRng');
    }
    // Masks are drawn outermost-first before the pass so their order never depends on recursion details.
    const masks = new Map<number, tf.Tensor4D>();
    if (training && opts.dropoutRng) {
      const n = a.shape[0];
      for (const i of dropoutBlocks) {
        const s = spec.size >> i;
        masks.set(i, dropoutMask(opts.dropoutRng, [n, s, s, unetWidth(spec.ngf, i - 1)]));
      }
    }
    const block = (i: number, x: tf.Tensor4D): tf.Tensor4D => {
      const b = blocks[i] as UnetBlock;
      const [, h, wd] = x.shape;
      const xz = b.zIn ? tf.concat([x, tileZ(z, h, wd)], 3) : x;
      const innermost = i === depth - 1;
      let d = i === 0 ? xz : lrelu(xz);
      d = conv(d, b.down, 2, 1, w);
      if (i > 0 && !innermost) d = instanceNorm(d);
      const inner = innermost ? d : block(i + 1, d);
      let u = upconv(tf.relu(inner), b.up, w);
      if (i === 0) return tf.tanh(u);
      u = instanceNorm(u);
      const mask = masks.get(i);
      if (mask) u = tf.mul(u, mask);
      return tf.concat([u, x], 3);
    };
    return block(0, a);
  }

  return { params: ps.params, spec: { ...spec }, depth, dropoutBlocks, apply };
}

/** Inverted-dropout mask for p = 0.5: each entry 0 or 1/(1-p) = 2. */
function dropoutMask(rng: Rng, shape: [number, number, number, number]): tf.Tensor4D {
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  const values = new Float32Array(size);
  for (let k = 0; k < size; k++) values[k] = rng.next() < 0.5 ? 0 : 2;
  return tf.tensor4d(values, shape);
}

// ---------------------------------------------------------------- encoder

export interface EncoderSpec {
  size: number;
  inputNc: number;
  nz: number;
  nef: number;
}

export interface Encoder extends Net {
  readonly spec: EncoderSpec;
  readonly nBlocks: number;
  apply(x: tf.Tensor4D, weights?: WeightSource): { mu: tf.Tensor2D; logvar: tf.Tensor2D };
}

interface BasicBlock {
  conv1: ConvParams;
  conv2: ConvParams;
  shortcut: ConvParams;
}

/** n_blocks of E_ResNet scaled with size: 5 at 256 px and 4 at 128 (the reference's), 3 at 64, 2 at 32 and 48. */
export function encoderBlocks(size: number): number {
  return Math.max(2, Math.min(5, Math.floor(Math.log2(size)) - 3));
}

/**
 * E_ResNet: Conv4×4 s2 p1 (inputNc→nef), then n_blocks−1 BasicBlocks with widths nef·{1,2,3,4,4}
 * (IN, LeakyReLU, conv3×3 in→in, IN, LeakyReLU, conv3×3 in→out, AvgPool2; shortcut AvgPool2 → conv1×1), then
 * LeakyReLU, GLOBAL average pooling (the reference's fixed AvgPool(8) only fits 256/128 px) and two linear heads.
 */
export function createEncoder(spec: EncoderSpec, rng: Rng): Encoder {
  const nBlocks = encoderBlocks(spec.size);
  const ps = new ParamSet('E', rng);
  const conv0 = convParams(ps, 'conv0', 4, spec.inputNc, spec.nef);
  const blocks: BasicBlock[] = [];
  let outCh = spec.nef;
  for (let n = 1; n < nBlocks; n++) {
    const inCh = spec.nef * Math.min(4, n);
    outCh = spec.nef * Math.min(4, n + 1);
    blocks.push({
      conv1: convParams(ps, `block${n}/conv1`, 3, inCh, inCh),
      conv2: convParams(ps, `block${n}/conv2`, 3, inCh, outCh),
      shortcut: convParams(ps, `block${n}/shortcut`, 1, inCh, outCh),
    });
  }
  const fc = denseParams(ps, 'fc', outCh, spec.nz);
  const fcVar = denseParams(ps, 'fcVar', outCh, spec.nz);

  function apply(x: tf.Tensor4D, weights: WeightSource = liveWeights) {
    const w = weights;
    let h = conv(x, conv0, 2, 1, w);
    for (const b of blocks) {
      let r = conv(lrelu(instanceNorm(h)), b.conv1, 1, 1, w);
      r = avgPool2(conv(lrelu(instanceNorm(r)), b.conv2, 1, 1, w));
      const s = conv(avgPool2(h), b.shortcut, 1, 0, w);
      h = tf.add(r, s);
    }
    const pooled = tf.mean(lrelu(h), [1, 2]) as tf.Tensor2D;
    return { mu: dense(pooled, fc, w), logvar: dense(pooled, fcVar, w) };
  }

  return { params: ps.params, spec: { ...spec }, nBlocks, apply };
}

// ---------------------------------------------------------------- discriminator

export interface DiscriminatorSpec {
  size: number;
  inputNc: number;
  ndf: number;
}

export interface Discriminator extends Net {
  readonly spec: DiscriminatorSpec;
  /** Number of stride-2 layers per scale (3 in the reference; fewer where the map would vanish). */
  readonly nLayers: readonly number[];
  /** Output map side per scale for a size×size input. */
  readonly mapSizes: readonly number[];
  /** Raw logits (no sigmoid), one map [B, h, w, 1] per scale. */
  apply(x: tf.Tensor4D, weights?: WeightSource): tf.Tensor4D[];
}

interface PatchLayer {
  p: ConvParams;
  stride: number;
  norm: boolean;
  act: boolean;
}

/** n_layers for a PatchGAN scale seeing s×s images: 3 (reference) unless the last map would be smaller than 2×2. */
export function patchLayers(s: number): number {
  return Math.max(1, Math.min(3, Math.floor(Math.log2(s)) - 2));
}

function patchMapSize(s: number, nLayers: number): number {
  let m = s;
  for (let i = 0; i < nLayers; i++) m = Math.floor((m + 2 - 4) / 2) + 1;
  return m - 2; // two stride-1 4×4 convs with pad 1 each remove one pixel
}

/**
 * D_NLayersMulti with num_D = 2: model_0 at full resolution with ndf, model_1 with round(ndf/2) on
 * AvgPool(3, s2, p1, count_include_pad=False) of the input. Each: Conv4 s2 → LeakyReLU; (n_layers−1)× Conv4 s2 → IN →
 * LeakyReLU; Conv4 s1 → IN → LeakyReLU; Conv4 s1 → 1. Kernels 4, explicit zero pad 1, biases, no sigmoid.
 */
export function createDiscriminator(spec: DiscriminatorSpec, rng: Rng, prefix: string): Discriminator {
  const ps = new ParamSet(prefix, rng);
  const scales: PatchLayer[][] = [];
  const nLayers: number[] = [];
  const mapSizes: number[] = [];
  for (let s = 0; s < 2; s++) {
    const ndf = Math.round(spec.ndf / 2 ** s);
    const side = Math.ceil(spec.size / 2 ** s);
    const nl = patchLayers(side);
    nLayers.push(nl);
    mapSizes.push(patchMapSize(side, nl));
    const layers: PatchLayer[] = [];
    layers.push({ p: convParams(ps, `s${s}/c0`, 4, spec.inputNc, ndf), stride: 2, norm: false, act: true });
    let mult = 1;
    for (let n = 1; n < nl; n++) {
      const prev = mult;
      mult = Math.min(2 ** n, 8);
      layers.push({ p: convParams(ps, `s${s}/c${n}`, 4, ndf * prev, ndf * mult), stride: 2, norm: true, act: true });
    }
    const prev = mult;
    mult = Math.min(2 ** nl, 8);
    layers.push({ p: convParams(ps, `s${s}/c${nl}`, 4, ndf * prev, ndf * mult), stride: 1, norm: true, act: true });
    layers.push({ p: convParams(ps, `s${s}/c${nl + 1}`, 4, ndf * mult, 1), stride: 1, norm: false, act: false });
    scales.push(layers);
  }

  function apply(x: tf.Tensor4D, weights: WeightSource = liveWeights): tf.Tensor4D[] {
    const out: tf.Tensor4D[] = [];
    let input = x;
    scales.forEach((layers, s) => {
      if (s > 0) input = avgPool3s2ExcludePad(input);
      let h = input;
      for (const l of layers) {
        h = conv(h, l.p, l.stride, 1, weights);
        if (l.norm) h = instanceNorm(h);
        if (l.act) h = lrelu(h);
      }
      out.push(h);
    });
    return out;
  }

  return { params: ps.params, spec: { ...spec }, nLayers, mapSizes, apply };
}

/** Number of scalars in a network. */
export function countParams(net: Net): number {
  return net.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

export function disposeNet(net: Net): void {
  for (const p of net.params) p.variable.dispose();
}
