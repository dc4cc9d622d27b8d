// The synthetic multimodal dataset, drawn in code: input A is the white outline of a shape on black; its targets
// B_k are the same shape filled with palette k (k < K). One A maps to K valid Bs, so the task is multimodal by
// construction and the palette index is a class label (for latent-space clusters and mode coverage).
import { allocBatch, checkIndices, checkInt, checkSize } from './dataset.js';
import type { DatasetOptions, PairBatch, PairDataset } from './dataset.js';
import { hashSeed, makeRng } from '../rng.js';

type Rgb = readonly [number, number, number];

export interface Palette {
  readonly name: string;
  /** Shape colour, RGB in [0, 1]. */
  readonly fg: Rgb;
  /** Background colour, RGB in [0, 1]. */
  readonly bg: Rgb;
}

// The first four (the default K) have backgrounds of four well-spaced brightnesses, because brightness is what a
// BicycleGAN at 32 px learns to tell palettes apart by first: the previous palettes, two light backgrounds (cream,
// yellow) and two dark ones (plum, navy), were encoded as two clusters, so random z reached 2 of the 4 palettes
// (see bench/alerts-real.ts and the README's demo section). Projected on the first principal component of the four
// palettes' mean colours, these lie at −0.54, −0.16, 0.20 and 0.50. All 16 colours differ.
const PALETTES: readonly Palette[] = [
  { name: 'red on cream', fg: [0.85, 0.1, 0.1], bg: [0.97, 0.94, 0.85] },
  { name: 'blue on ochre', fg: [0.1, 0.25, 0.85], bg: [0.85, 0.66, 0.32] },
  { name: 'green on plum', fg: [0.2, 0.7, 0.25], bg: [0.42, 0.2, 0.44] },
  { name: 'orange on navy', fg: [0.95, 0.5, 0.05], bg: [0.02, 0.03, 0.15] },
  { name: 'magenta on mint', fg: [0.85, 0.2, 0.75], bg: [0.7, 0.95, 0.75] },
  { name: 'cyan on maroon', fg: [0.2, 0.85, 0.9], bg: [0.45, 0.05, 0.1] },
  { name: 'black on silver', fg: [0.05, 0.05, 0.05], bg: [0.75, 0.75, 0.8] },
  { name: 'white on teal', fg: [0.97, 0.97, 0.97], bg: [0.0, 0.45, 0.45] },
];

/** The largest K the synthetic set supports. */
export const MAX_CLASSES = PALETTES.length;

/** Palette k (0 ≤ k < MAX_CLASSES): its name and its colours in [0, 1]. */
export function paletteOf(k: number): Palette {
  const p = PALETTES[k];
  if (p === undefined) throw new RangeError(`palette ${k} does not exist (0..${MAX_CLASSES - 1})`);
  return p;
}

export const SHAPE_KINDS = ['circle', 'square', 'triangle', 'pentagon', 'hexagon', 'star', 'cross'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

/** One shape in unit coordinates (the image is [0, 1]²), so it renders the same at any size. */
export interface Shape {
  kind: ShapeKind;
  cx: number;
  cy: number;
  /** Circumradius. */
  r: number;
  /** Rotation in radians. */
  rot: number;
}

export type Split = 'train' | 'val';

/** The shape of item `index` of `split` for dataset seed `seed`: a pure function of the three. */
export function shapeAt(seed: number, split: Split, index: number): Shape {
  const rng = makeRng(hashSeed(seed, split === 'train' ? 1 : 2, index));
  const kind = SHAPE_KINDS[Math.floor(rng() * SHAPE_KINDS.length)] ?? 'circle';
  const r = 0.2 + rng() * 0.14;
  const slack = 0.46 - r; // keeps the outline inside the frame
  return { kind, r, cx: 0.5 + (rng() * 2 - 1) * slack, cy: 0.5 + (rng() * 2 - 1) * slack, rot: rng() * Math.PI * 2 };
}

/** Vertices (unit coordinates) of a polygonal shape, or null for the circle. */
function verticesOf(shape: Shape): Float64Array | null {
  const { kind, cx, cy, r, rot } = shape;
  const radii: number[] = [];
  const angles: number[] = [];
  const regular = (n: number) => {
    for (let i = 0; i < n; i++) {
      radii.push(r);
      angles.push(rot + (i * 2 * Math.PI) / n);
    }
  };
  switch (kind) {
    case 'circle':
      return null;
    case 'square':
      regular(4);
      break;
    case 'triangle':
      regular(3);
      break;
    case 'pentagon':
      regular(5);
      break;
    case 'hexagon':
      regular(6);
      break;
    case 'star':
      for (let i = 0; i < 10; i++) {
        radii.push(i % 2 === 0 ? r : r * 0.45);
        angles.push(rot + (i * Math.PI) / 5);
      }
      break;
    case 'cross': {
      // A plus sign: arms of half-width t reaching r from the centre; 12 corners.
      const t = r * 0.36;
      const pts: Array<[number, number]> = [
        [t, r], [t, t], [r, t], [r, -t], [t, -t], [t, -r],
        [-t, -r], [-t, -t], [-r, -t], [-r, t], [-t, t], [-t, r],
      ];
      const v = new Float64Array(pts.length * 2);
      const c = Math.cos(rot);
      const s = Math.sin(rot);
      pts.forEach(([x, y], i) => {
        v[2 * i] = cx + x * c - y * s;
        v[2 * i + 1] = cy + x * s + y * c;
      });
      return v;
    }
  }
  const v = new Float64Array(radii.length * 2);
  for (let i = 0; i < radii.length; i++) {
    v[2 * i] = cx + (radii[i] ?? 0) * Math.cos(angles[i] ?? 0);
    v[2 * i + 1] = cy + (radii[i] ?? 0) * Math.sin(angles[i] ?? 0);
  }
  return v;
}

/** Signed distance from (px, py) to a closed polygon (negative inside); works for concave polygons. */
function polygonSdf(px: number, py: number, v: Float64Array): number {
  const n = v.length / 2;
  let d = Infinity;
  let sign = 1;
  for (let i = 0, j = n - 1; i < n; j = i, i++) {
    const vix = v[2 * i]!;
    const viy = v[2 * i + 1]!;
    const vjx = v[2 * j]!;
    const vjy = v[2 * j + 1]!;
    const ex = vjx - vix;
    const ey = vjy - viy;
    const wx = px - vix;
    const wy = py - viy;
    const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
    const bx = wx - ex * t;
    const by = wy - ey * t;
    const dd = bx * bx + by * by;
    if (dd < d) d = dd;
    const c1 = py >= viy;
    const c2 = py < vjy;
    const c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) sign = -sign;
  }
  return sign * Math.sqrt(d);
}

/** Outline width in pixels at a given image size: about 2.2 px at 64, never thinner than 1.5 px. */
function lineWidth(size: number): number {
  return Math.max(1.5, 0.035 * size);
}

/**
 * Draws one pair: the outline into `a` and the shape filled with palette k into `b` (either may be null), each at
 * `offset` (in floats) as size × size × 3 in [-1, 1]. Edges are anti-aliased by pixel coverage of the distance field.
 */
export function renderPair(
  shape: Shape,
  k: number,
  size: number,
  a: Float32Array | null,
  b: Float32Array | null,
  offset = 0,
): void {
  const pal = paletteOf(k);
  const fg = pal.fg.map((x) => x * 2 - 1) as unknown as Rgb;
  const bg = pal.bg.map((x) => x * 2 - 1) as unknown as Rgb;
  const verts = verticesOf(shape);
  const half = lineWidth(size) / 2;
  const cxp = shape.cx * size;
  const cyp = shape.cy * size;
  const rp = shape.r * size;
  // Beyond this radius from the centre the pixel is pure background in both images.
  const reach = rp + half + 1.5;
  const reach2 = reach * reach;
  for (let y = 0; y < size; y++) {
    const py = y + 0.5;
    for (let x = 0; x < size; x++) {
      const px = x + 0.5;
      const o = offset + (y * size + x) * 3;
      const dx = px - cxp;
      const dy = py - cyp;
      let outline = 0;
      let fill = 0;
      if (dx * dx + dy * dy < reach2) {
        const d = verts === null ? Math.sqrt(dx * dx + dy * dy) - rp : polygonSdf(px / size, py / size, verts) * size;
        outline = Math.min(1, Math.max(0, half + 0.5 - Math.abs(d)));
        fill = Math.min(1, Math.max(0, 0.5 - d));
      }
      if (a !== null) {
        const va = -1 + 2 * outline;
        a[o] = va;
        a[o + 1] = va;
        a[o + 2] = va;
      }
      if (b !== null) {
        b[o] = bg[0] + fill * (fg[0] - bg[0]);
        b[o + 1] = bg[1] + fill * (fg[1] - bg[1]);
        b[o + 2] = bg[2] + fill * (fg[2] - bg[2]);
      }
    }
  }
}

/**
 * Mean distance (RGB, [-1, 1] units) from the pixels of `image` (size × size × 3) to each palette's colour
 * segment fg–bg, for palettes 0..K-1. Anti-aliased edges lie on the segment, so a clean target scores 0 for its own.
 */
export function paletteDistances(image: Float32Array, size: number, K: number): Float64Array {
  checkInt('K', K, 1, MAX_CLASSES);
  const n = size * size;
  if (image.length < n * 3) throw new RangeError(`image holds ${image.length} values, ${n * 3} expected`);
  const segs = Array.from({ length: K }, (_, k) => {
    const p = paletteOf(k);
    const f = p.fg.map((x) => x * 2 - 1);
    const g = p.bg.map((x) => x * 2 - 1);
    const e = [f[0]! - g[0]!, f[1]! - g[1]!, f[2]! - g[2]!];
    return { g, e, ee: e[0]! * e[0]! + e[1]! * e[1]! + e[2]! * e[2]! };
  });
  const sums = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const r = image[3 * i]!;
    const gr = image[3 * i + 1]!;
    const bl = image[3 * i + 2]!;
    for (let k = 0; k < K; k++) {
      const { g, e, ee } = segs[k]!;
      const wr = r - g[0]!;
      const wg = gr - g[1]!;
      const wb = bl - g[2]!;
      const t = Math.min(1, Math.max(0, (wr * e[0]! + wg * e[1]! + wb * e[2]!) / ee));
      const qr = wr - t * e[0]!;
      const qg = wg - t * e[1]!;
      const qb = wb - t * e[2]!;
      sums[k] = sums[k]! + Math.sqrt(qr * qr + qg * qg + qb * qb);
    }
  }
  for (let k = 0; k < K; k++) sums[k] = sums[k]! / n;
  return sums;
}

/** The palette (0..K-1) whose colours an image (size × size × 3 in [-1, 1]) is closest to. */
export function classifyPalette(image: Float32Array, size: number, K: number): number {
  const d = paletteDistances(image, size, K);
  let best = 0;
  for (let k = 1; k < K; k++) if (d[k]! < d[best]!) best = k;
  return best;
}

/** Options of the synthetic set, with defaults filled in. */
export interface SyntheticConfig {
  size: number;
  classes: number;
  seed: number;
  trainCount: number;
  valCount: number;
}

export function syntheticConfig(opts: DatasetOptions): SyntheticConfig {
  return {
    size: checkSize(opts.size),
    classes: checkInt('classes', opts.classes ?? 4, 2, MAX_CLASSES),
    seed: checkInt('seed', opts.seed ?? 0, 0, 0xffffffff),
    trainCount: checkInt('trainCount', opts.trainCount ?? 1024, 1, 10_000_000),
    valCount: checkInt('valCount', opts.valCount ?? 64, 1, 1_000_000),
  };
}

/**
 * Training item i = (A_i, B_i,k) with k drawn from the batch rng, so each epoch pairs an input with different
 * palettes. Validation item j = (A_j, B_j,k) with k = j mod K: fixed, and balanced across classes.
 */
export class SyntheticDataset implements PairDataset {
  readonly name = 'synthetic';
  readonly size: number;
  readonly numClasses: number;
  readonly trainLength: number;
  readonly valLength: number;
  readonly seed: number;

  constructor(opts: DatasetOptions) {
    const c = syntheticConfig(opts);
    this.size = c.size;
    this.numClasses = c.classes;
    this.seed = c.seed;
    this.trainLength = c.trainCount;
    this.valLength = c.valCount;
  }

  shape(split: Split, index: number): Shape {
    return shapeAt(this.seed, split, index);
  }

  async trainBatch(indices: readonly number[], rng: () => number): Promise<PairBatch> {
    checkIndices(indices, this.trainLength, 'train');
    const K = this.numClasses;
    return this.render('train', indices, () => Math.min(K - 1, Math.floor(rng() * K)));
  }

  async valBatch(indices: readonly number[]): Promise<PairBatch> {
    checkIndices(indices, this.valLength, 'val');
    return this.render('val', indices, (j) => j % this.numClasses);
  }

  /** Input `index` of `split` with all its K targets: K items sharing one A, labels 0..K-1. */
  variants(split: Split, index: number): PairBatch {
    checkIndices([index], split === 'train' ? this.trainLength : this.valLength, split);
    const K = this.numClasses;
    const s = this.size;
    const batch = allocBatch(K, s, true);
    const shape = this.shape(split, index);
    const per = s * s * 3;
    renderPair(shape, 0, s, batch.a, null, 0);
    for (let k = 0; k < K; k++) {
      if (k > 0) batch.a.copyWithin(k * per, 0, per);
      renderPair(shape, k, s, null, batch.b, k * per);
      batch.labels![k] = k;
    }
    return batch;
  }

  describe(): Record<string, unknown> {
    return {
      kind: 'synthetic',
      size: this.size,
      classes: this.numClasses,
      palettes: Array.from({ length: this.numClasses }, (_, k) => paletteOf(k).name),
      shapes: [...SHAPE_KINDS],
      seed: this.seed,
      trainCount: this.trainLength,
      valCount: this.valLength,
      valLabels: 'index mod classes',
    };
  }

  private render(split: Split, indices: readonly number[], pick: (index: number) => number): PairBatch {
    const s = this.size;
    const batch = allocBatch(indices.length, s, true);
    const per = s * s * 3;
    indices.forEach((index, i) => {
      const k = pick(index);
      renderPair(this.shape(split, index), k, s, batch.a, batch.b, i * per);
      batch.labels![i] = k;
    });
    return batch;
  }
}
