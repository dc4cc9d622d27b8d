// How faithful a 2-D projection is to the codes: trustworthiness (do the picture's neighbours come from the codes'
// neighbourhoods?) and k-NN class accuracy in the picture (do a point's neighbours on screen share its class?).
// Used by the tests and the t-SNE benchmark to compare projections with each other.

/**
 * Trustworthiness at k (Venna & Kaski; as scikit-learn's sklearn.manifold.trustworthiness):
 * T = 1 − 2/(n·k·(2n − 3k − 1)) · Σ_i Σ_{j ∈ U_k(i)} (r(i, j) − k), where U_k(i) are i's k nearest neighbours in
 * the projection that are not among its k nearest in the codes, and r(i, j) is j's rank among i's neighbours in
 * the codes (1 = nearest). 1 means no intruders. With `queries`, the sum runs over that many evenly spaced points
 * (ranks still against all n) and is normalised accordingly: an unbiased estimate at O(queries·n) cost.
 */
export function trustworthiness(
  X: Float32Array | Float64Array,
  dim: number,
  Y: Float32Array | Float64Array,
  k = 10,
  queries?: number,
): number {
  const n = Math.floor(X.length / dim);
  if (Y.length !== 2 * n) throw new RangeError(`trustworthiness: ${Y.length / 2} projected points for ${n} codes`);
  if (!(k >= 1 && 2 * n - 3 * k - 1 > 0))
    throw new RangeError(`trustworthiness: k = ${k} is too large for ${n} points`);
  const q = Math.min(n, queries ?? n);
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  let total = 0;
  for (let s = 0; s < q; s++) {
    const i = q === n ? s : Math.floor(((s + 0.5) * n) / q);
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let t = 0; t < dim; t++) {
        const u = X[i * dim + t]! - X[j * dim + t]!;
        d += u * u;
      }
      dx[j] = d;
      const a = Y[2 * i]! - Y[2 * j]!;
      const b = Y[2 * i + 1]! - Y[2 * j + 1]!;
      dy[j] = a * a + b * b;
    }
    dx[i] = Infinity;
    dy[i] = Infinity;
    const inX = new Set(smallest(dx, k));
    for (const j of smallest(dy, k)) {
      if (inX.has(j)) continue;
      // rank of j among i's neighbours in the codes, ties broken by index as a stable argsort would
      let rank = 1;
      const dj = dx[j]!;
      for (let l = 0; l < n; l++) if (dx[l]! < dj || (dx[l] === dj && l < j)) rank++;
      total += rank - k;
    }
  }
  return 1 - (2 / (q * k * (2 * n - 3 * k - 1))) * total;
}

/**
 * Leave-one-out k-NN classification accuracy in the projection: each point takes the majority class of its k
 * nearest other points (ties go to the class whose tied members are nearest in total), the fraction right.
 */
export function knnAccuracy(Y: Float32Array | Float64Array, labels: Int32Array, k = 10): number {
  const n = labels.length;
  if (Y.length !== 2 * n) throw new RangeError(`knnAccuracy: ${Y.length / 2} projected points for ${n} labels`);
  const d = new Float64Array(n);
  let right = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = Y[2 * i]! - Y[2 * j]!;
      const b = Y[2 * i + 1]! - Y[2 * j + 1]!;
      d[j] = a * a + b * b;
    }
    d[i] = Infinity;
    const votes = new Map<number, { count: number; dist: number }>();
    for (const j of smallest(d, Math.min(k, n - 1))) {
      const v = votes.get(labels[j]!) ?? { count: 0, dist: 0 };
      v.count++;
      v.dist += Math.sqrt(d[j]!);
      votes.set(labels[j]!, v);
    }
    let best = -1;
    let bestVote = { count: -1, dist: Infinity };
    for (const [label, v] of votes) {
      if (v.count > bestVote.count || (v.count === bestVote.count && v.dist < bestVote.dist)) {
        best = label;
        bestVote = v;
      }
    }
    if (best === labels[i]) right++;
  }
  return right / n;
}

/** Indices of the k smallest values (ties by index), nearest first. */
function smallest(values: Float64Array, k: number): number[] {
  const idx: number[] = [];
  for (let j = 0; j < values.length; j++) {
    const v = values[j]!;
    if (idx.length === k && v >= values[idx[k - 1]!]!) continue;
    let p = idx.length === k ? k - 1 : idx.length;
    if (idx.length < k) idx.push(j);
    while (p > 0 && values[idx[p - 1]!]! > v) {
      idx[p] = idx[p - 1]!;
      p--;
    }
    idx[p] = j;
  }
  return idx;
}
