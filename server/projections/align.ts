// Keeping successive epochs' pictures in place: a new layout is rotated (reflection allowed) and shifted onto an
// earlier epoch's, fitted on the points that correspond (the trainer encodes the same validation targets in the same
// order every epoch) or, when they do not, on the class centroids. PCA axes only get their signs fixed.
// The projections are never scaled onto each other: the least-squares scale is the correlation of the two layouts,
// so a layout that shares no structure with the earlier one (codes that collapsed) is shrunk towards a dot, and
// every later epoch, fitted onto it, inherits the shrinking. t-SNE and UMAP layouts are in their method's own units.
import type { ProjectionAlignment } from '../../protocol/index.js';

/** z = scale · Q·y + shift, with Q orthogonal (a rotation, or a reflection when reflected). */
export interface Similarity {
  /** Q as [q11, q12, q21, q22]. */
  q: [number, number, number, number];
  scale: number;
  shift: [number, number];
  reflected: boolean;
}

/**
 * The similarity transform that best maps Y onto ref in weighted least squares (orthogonal Procrustes, with scaling
 * unless `scale` is false; Umeyama without the determinant constraint). Y and ref are n × 2 row-major; weights
 * default to 1.
 * For 2 × 2 the best rotation and the best reflection have closed forms, so no SVD is needed: with
 * M = Σ w ỹ r̃ᵀ (centred), a rotation by φ scores cos φ·(m11 + m22) + sin φ·(m12 − m21), a reflection
 * cos φ·(m11 − m22) + sin φ·(m12 + m21); each is maximised at φ = atan2 of its two terms.
 */
export function procrustes(
  Y: ArrayLike<number>,
  ref: ArrayLike<number>,
  weights?: ArrayLike<number>,
  options: { scale?: boolean } = {},
): Similarity {
  const n = Math.floor(Y.length / 2);
  if (ref.length !== Y.length) throw new RangeError(`procrustes: ${ref.length / 2} reference points for ${n}`);
  let W = 0;
  let my0 = 0;
  let my1 = 0;
  let mr0 = 0;
  let mr1 = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    W += w;
    my0 += w * Y[2 * i]!;
    my1 += w * Y[2 * i + 1]!;
    mr0 += w * ref[2 * i]!;
    mr1 += w * ref[2 * i + 1]!;
  }
  if (!(W > 0)) return { q: [1, 0, 0, 1], scale: 1, shift: [0, 0], reflected: false };
  my0 /= W;
  my1 /= W;
  mr0 /= W;
  mr1 /= W;
  let m11 = 0;
  let m12 = 0;
  let m21 = 0;
  let m22 = 0;
  let yy = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    const a = Y[2 * i]! - my0;
    const b = Y[2 * i + 1]! - my1;
    const c = ref[2 * i]! - mr0;
    const d = ref[2 * i + 1]! - mr1;
    m11 += w * a * c;
    m12 += w * a * d;
    m21 += w * b * c;
    m22 += w * b * d;
    yy += w * (a * a + b * b);
  }
  // Q·ỹ for rotation [[cos, −sin], [sin, cos]]: Σ r̃ᵀQỹ = cos·(m11 + m22) + sin·(m12 − m21).
  const rot = Math.hypot(m11 + m22, m12 - m21);
  // reflection [[cos, sin], [sin, −cos]]: cos·(m11 − m22) + sin·(m12 + m21).
  const ref2 = Math.hypot(m11 - m22, m12 + m21);
  let q: Similarity['q'];
  let best: number;
  const reflected = ref2 > rot * (1 + 1e-12);
  if (!reflected) {
    const phi = Math.atan2(m12 - m21, m11 + m22);
    q = [Math.cos(phi), -Math.sin(phi), Math.sin(phi), Math.cos(phi)];
    best = rot;
  } else {
    const phi = Math.atan2(m12 + m21, m11 - m22);
    q = [Math.cos(phi), Math.sin(phi), Math.sin(phi), -Math.cos(phi)];
    best = ref2;
  }
  const scale = options.scale !== false && yy > 0 ? best / yy : 1;
  const shift: [number, number] = [mr0 - scale * (q[0] * my0 + q[1] * my1), mr1 - scale * (q[2] * my0 + q[3] * my1)];
  return { q, scale, shift, reflected };
}

/** Applies t to every point of Y (n × 2, in place). */
export function applySimilarity(Y: Float64Array | Float32Array, t: Similarity): void {
  const [a, b, c, d] = t.q;
  for (let i = 0; i < Y.length; i += 2) {
    const x = Y[i]!;
    const y = Y[i + 1]!;
    Y[i] = t.scale * (a * x + b * y) + t.shift[0];
    Y[i + 1] = t.scale * (c * x + d * y) + t.shift[1];
  }
}

/** Root-mean-square distance between Y and ref (n × 2 each). */
export function rmsDistance(Y: ArrayLike<number>, ref: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < Y.length; i++) s += (Y[i]! - ref[i]!) ** 2;
  return Math.sqrt(s / Math.max(1, Y.length / 2));
}

/**
 * Class centroids of a labelled layout: centroid x, y per class, with the class counts, for the classes both
 * layouts share (ascending label). Null when fewer than two classes are shared (nothing to fit a rotation on).
 */
export function sharedCentroids(
  Y: ArrayLike<number>,
  labels: Int32Array,
  prevY: ArrayLike<number>,
  prevLabels: Int32Array,
): { current: Float64Array; previous: Float64Array; weights: Float64Array } | null {
  const sums = (Z: ArrayLike<number>, L: Int32Array): Map<number, [number, number, number]> => {
    const m = new Map<number, [number, number, number]>();
    for (let i = 0; i < L.length; i++) {
      const e = m.get(L[i]!) ?? [0, 0, 0];
      e[0] += Z[2 * i]!;
      e[1] += Z[2 * i + 1]!;
      e[2]++;
      m.set(L[i]!, e);
    }
    return m;
  };
  const a = sums(Y, labels);
  const b = sums(prevY, prevLabels);
  const shared = [...a.keys()].filter((l) => b.has(l)).sort((x, y) => x - y);
  if (shared.length < 2) return null;
  const current = new Float64Array(2 * shared.length);
  const previous = new Float64Array(2 * shared.length);
  const weights = new Float64Array(shared.length);
  shared.forEach((l, c) => {
    const [ax, ay, an] = a.get(l)!;
    const [bx, by, bn] = b.get(l)!;
    current[2 * c] = ax / an;
    current[2 * c + 1] = ay / an;
    previous[2 * c] = bx / bn;
    previous[2 * c + 1] = by / bn;
    weights[c] = Math.min(an, bn);
  });
  return { current, previous, weights };
}

/**
 * PCA axes are defined up to sign: flips each of `axes` (unit vectors, in place) whose dot product with the previous
 * epoch's axis is negative, and the matching coordinate of every point of Y (n × 2). Returns which were flipped.
 */
export function fixAxisSigns(axes: number[][], previousAxes: readonly number[][], Y: Float64Array): boolean[] {
  return axes.map((axis, c) => {
    const prev = previousAxes[c];
    if (!prev || prev.length !== axis.length) return false;
    let dot = 0;
    for (let t = 0; t < axis.length; t++) dot += axis[t]! * prev[t]!;
    if (dot >= 0) return false;
    for (let t = 0; t < axis.length; t++) axis[t] = -axis[t]!;
    for (let i = c; i < Y.length; i += 2) Y[i] = -Y[i]!;
    return true;
  });
}

/**
 * The same for corresponding points: flips coordinate c of every point of Y (and axis c) when it anti-correlates
 * with coordinate c of the previous layout, so the picture keeps its orientation whatever the codes did.
 */
export function fixCoordinateSigns(Y: Float64Array, previous: ArrayLike<number>, axes: number[][]): boolean[] {
  return [0, 1].map((c) => {
    let dot = 0;
    for (let i = c; i < Y.length; i += 2) dot += Y[i]! * previous[i]!;
    if (dot >= 0) return false;
    for (let i = c; i < Y.length; i += 2) Y[i] = -Y[i]!;
    const axis = axes[c];
    if (axis) for (let t = 0; t < axis.length; t++) axis[t] = -axis[t]!;
    return true;
  });
}

/**
 * Rotates/reflects and shifts xy onto the previous layout (never scales it): on the corresponding points when
 * `corresponds`, else on the shared class centroids. Returns how, or null when it could not. `initialised`: the layout
 * started from the previous one (a continued t-SNE).
 */
export function alignOnto(
  xy: Float64Array,
  labels: Int32Array | null,
  prev: { xy: Float32Array; labels: Int32Array | null },
  corresponds: boolean,
  initialised: boolean,
): ProjectionAlignment | null {
  if (corresponds) {
    applySimilarity(xy, procrustes(xy, prev.xy, undefined, { scale: false }));
    return initialised ? 'init+procrustes' : 'procrustes';
  }
  if (labels && prev.labels) {
    const c = sharedCentroids(xy, labels, prev.xy, prev.labels);
    if (c) {
      applySimilarity(xy, procrustes(c.current, c.previous, c.weights, { scale: false }));
      return 'centroids';
    }
  }
  return null;
}
