// Float64 dense linear algebra for FID (plain JS, no tfjs): a rank-revealing Cholesky factor, the congruence
// Fᵀ·S·F, and the eigenvalues of a symmetric matrix. Hand-written because FID needs them at 2048-d in seconds,
// and the maintained JS library (ml-matrix 6.15, arrays of rows, always forms eigenvectors) took 10.4 s for
// a 1024-d symmetric eigendecomposition and 4.8 s for a 1024-d product, i.e. minutes at 2048-d.
// Matrices are row-major Float64Arrays.

/** S ≈ F·Fᵀ with F n × rank, from a Cholesky factorisation with diagonal pivoting (LAPACK dpstrf's rule). */
export interface PivotedCholesky {
  /** Fᵀ, rank × n row-major, columns in pivot order: Fᵀ[j][k] = 0 for k < j (upper trapezoidal). */
  factorT: Float64Array;
  /** perm[k] = the original index of the k-th pivot; the first `rank` entries are the pivots. */
  perm: Int32Array;
  rank: number;
}

/**
 * Cholesky factorisation of a symmetric positive semi-definite matrix with complete (diagonal) pivoting, which
 * stops when the largest remaining diagonal is ≤ tol (default n·ε·max diag, as LAPACK's dpstrf). It works on
 * singular covariances (fewer samples than dimensions), where plain Cholesky fails: the dropped Schur
 * complement has trace ≤ (n − rank)·tol. Negative remaining diagonals (rounding, or an indefinite input) are
 * treated as zero. Only the lower triangle of `a` is read.
 */
export function pivotedCholesky(a: Float64Array, n: number, tol?: number): PivotedCholesky {
  checkSquare(a, n, 'matrix');
  // L is kept in original row order: row i's prefix dotted with the pivot row's prefix gives column j.
  const L = new Float64Array(n * n);
  const rest = new Float64Array(n); // remaining diagonal of the Schur complement
  const perm = new Int32Array(n);
  const done = new Uint8Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    rest[i] = a[i * n + i]!;
    perm[i] = i;
    if (rest[i]! > maxDiag) maxDiag = rest[i]!;
  }
  const stop = tol ?? n * Number.EPSILON * maxDiag;
  let rank = 0;
  for (let j = 0; j < n; j++) {
    let p = -1;
    let best = -Infinity;
    for (let i = 0; i < n; i++)
      if (done[i] === 0 && rest[i]! > best) {
        best = rest[i]!;
        p = i;
      }
    if (p < 0 || !(best > stop)) break;
    done[p] = 1;
    perm[j] = p;
    const d = Math.sqrt(best);
    const rp = p * n;
    L[rp + j] = d;
    for (let i = 0; i < n; i++) {
      if (done[i] !== 0) continue;
      const ri = i * n;
      const v = ((i > p ? a[ri + p]! : a[rp + i]!) - dot(L, ri, L, rp, j)) / d;
      L[ri + j] = v;
      rest[i] = rest[i]! - v * v;
    }
    rank = j + 1;
  }
  // Unpivoted indices follow the pivots in perm, in index order.
  let k = rank;
  const used = new Uint8Array(n);
  for (let j = 0; j < rank; j++) used[perm[j]!] = 1;
  for (let i = 0; i < n; i++) if (used[i] === 0) perm[k++] = i;
  const factorT = new Float64Array(rank * n);
  for (let c = 0; c < n; c++) {
    const rc = perm[c]! * n;
    for (let j = 0; j < rank; j++) factorT[j * n + c] = L[rc + j]!;
  }
  return { factorT, perm, rank };
}

/**
 * M = Fᵀ·S·F (rank × rank, symmetric) for a pivoted Cholesky factor F of another matrix and a symmetric S
 * (n × n). Cache-tiled products that skip F's trapezoidal zeros.
 */
export function congruence(chol: PivotedCholesky, s: Float64Array, n: number): Float64Array {
  checkSquare(s, n, 'matrix');
  const { factorT: ft, perm, rank: r } = chol;
  // S permuted into pivot order, so that its columns line up with Fᵀ's.
  const sp = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const src = perm[i]! * n;
    const dst = i * n;
    for (let k = 0; k < n; k++) sp[dst + k] = s[src + perm[k]!]!;
  }
  // Wᵀ = Fᵀ·S (r × n; S symmetric, so its rows serve as columns), then M = Fᵀ·W = Fᵀ·(Wᵀ)ᵀ.
  const wt = tiledProducts(ft, r, sp, n, n, false, true);
  return tiledProducts(ft, r, wt, r, n, true, true);
}

/**
 * All eigenvalues (ascending) of a symmetric n × n matrix (only its lower triangle is read): Householder
 * reduction to tridiagonal form without forming the eigenvectors, then the implicit QL iteration (tqli).
 * Each reduction step's rank-2 update is fused with the next step's matrix-vector product, so the shrinking
 * lower triangle is streamed once per step rather than twice (the step is memory-bound at FID sizes).
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  checkSquare(a, n, 'matrix');
  const A = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n); // e[i] couples d[i] and d[i + 1]
  if (n >= 3) {
    let v = new Float64Array(n);
    let u = new Float64Array(n); // the next step's Householder vector
    const w = new Float64Array(n);
    const p = new Float64Array(n);
    d[0] = A[0]!;
    let beta = reflector(A, n, 0, v, e);
    // Step 0's product p = A₁₁·v over the lower triangle of rows/columns 1..n−1.
    for (let i = 1; i < n; i++) {
      const ri = i * n;
      const vi = v[i]!;
      let s = 0;
      for (let j = 1; j < i; j++) {
        const aij = A[ri + j]!;
        s += aij * v[j]!;
        p[j] = p[j]! + aij * vi;
      }
      p[i] = p[i]! + s + A[ri + i]! * vi;
    }
    toUpdateVector(p, v, beta, 1, n, w);
    for (let k = 0; k < n - 2; k++) {
      // Step k subtracts v·wᵀ + w·vᵀ from rows/columns k+1..n−1. Column k+1 first: it defines step k+1.
      const c = k + 1;
      for (let i = c; i < n; i++) A[i * n + c] = A[i * n + c]! - v[i]! * w[c]! - w[i]! * v[c]!;
      if (k === n - 3) {
        A[(n - 1) * n + n - 1] = A[(n - 1) * n + n - 1]! - 2 * v[n - 1]! * w[n - 1]!;
        break;
      }
      d[c] = A[c * n + c]!;
      beta = reflector(A, n, c, u, e);
      // Rows/columns k+2..: apply step k's update and accumulate step k+1's product A·u in the same pass.
      const f = k + 2;
      p.fill(0, f);
      for (let i = f; i < n; i++) {
        const ri = i * n;
        const vi = v[i]!;
        const wi = w[i]!;
        const ui = u[i]!;
        let s = 0;
        for (let j = f; j < i; j++) {
          const aij = A[ri + j]! - vi * w[j]! - wi * v[j]!;
          A[ri + j] = aij;
          s += aij * u[j]!;
          p[j] = p[j]! + aij * ui;
        }
        const aii = A[ri + i]! - 2 * vi * wi;
        A[ri + i] = aii;
        p[i] = p[i]! + s + aii * ui;
      }
      toUpdateVector(p, u, beta, f, n, w);
      const t = v;
      v = u;
      u = t;
    }
  }
  if (n >= 2) {
    d[n - 2] = A[(n - 2) * n + n - 2]!;
    e[n - 2] = A[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) d[n - 1] = A[(n - 1) * n + n - 1]!;
  tridiagonalQl(d, e, n);
  return d.sort();
}

/**
 * The Householder vector (into v, entries k+1..n−1) that zeroes column k of A below its subdiagonal; writes the
 * resulting subdiagonal into e[k] and returns β = 2/vᵀv (0, with v = 0, when the column is already zero).
 */
function reflector(A: Float64Array, n: number, k: number, v: Float64Array, e: Float64Array): number {
  let alpha2 = 0;
  for (let i = k + 1; i < n; i++) alpha2 += A[i * n + k]! * A[i * n + k]!;
  if (alpha2 === 0) {
    e[k] = 0;
    v.fill(0, k + 1);
    return 0;
  }
  const alpha = Math.sqrt(alpha2);
  const x0 = A[(k + 1) * n + k]!;
  const sgn = x0 >= 0 ? 1 : -1;
  e[k] = -sgn * alpha;
  for (let i = k + 2; i < n; i++) v[i] = A[i * n + k]!;
  v[k + 1] = x0 + sgn * alpha;
  return 1 / (alpha2 + Math.abs(x0) * alpha);
}

/** From p = A·v: w = β·p − (β²/2)(pᵀv)·v, so that the step is A − v·wᵀ − w·vᵀ (entries from..n−1). */
function toUpdateVector(
  p: Float64Array,
  v: Float64Array,
  beta: number,
  from: number,
  n: number,
  w: Float64Array,
): void {
  let pv = 0;
  for (let i = from; i < n; i++) pv += p[i]! * v[i]!;
  const c = 0.5 * beta * beta * pv;
  for (let i = from; i < n; i++) w[i] = beta * p[i]! - c * v[i]!;
}

/**
 * Eigenvalues of the symmetric tridiagonal (d, e) in place into d (implicit QL with Wilkinson-like shifts).
 * An off-diagonal splits the matrix when it is below ε times its neighbours or below ε·‖T‖: the second test
 * matters for blocks of near-zero eigenvalues (rank-deficient Gram matrices), where the relative test alone may
 * never be met; it costs nothing in accuracy, since the reduction to T already carries ε·‖A‖ errors.
 */
function tridiagonalQl(d: Float64Array, e: Float64Array, n: number): void {
  let norm = 0;
  for (let i = 0; i < n; i++)
    norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0));
  const floor = Number.EPSILON * norm;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        const em = Math.abs(e[m]!);
        if (em <= Number.EPSILON * dd || em <= floor) break;
      }
      if (m === l) break;
      if (++iter > 100) throw new Error(`tridiagonal QL did not converge for eigenvalue ${l}`);
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let underflow = false;
      for (let i = m - 1; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] = d[i + 1]! - p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] = d[l]! - p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/** Σ_k a[ai + k]·b[bi + k] for k < len, four accumulators. */
function dot(a: Float64Array, ai: number, b: Float64Array, bi: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ai + k]! * b[bi + k]!;
    s1 += a[ai + k + 1]! * b[bi + k + 1]!;
    s2 += a[ai + k + 2]! * b[bi + k + 2]!;
    s3 += a[ai + k + 3]! * b[bi + k + 3]!;
  }
  for (; k < len; k++) s0 += a[ai + k]! * b[bi + k]!;
  return s0 + s1 + s2 + s3;
}

const block = new Float64Array(4);

/** The four dot products of rows (a0, a1) with rows (b0, b1) over columns from..end-1, sharing loads. */
function dot2x2(
  a: Float64Array,
  a0: number,
  a1: number,
  b: Float64Array,
  b0: number,
  b1: number,
  from: number,
  end: number,
): Float64Array {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  for (let k = from; k < end; k++) {
    const x0 = a[a0 + k]!;
    const x1 = a[a1 + k]!;
    const y0 = b[b0 + k]!;
    const y1 = b[b1 + k]!;
    s00 += x0 * y0;
    s01 += x0 * y1;
    s10 += x1 * y0;
    s11 += x1 * y1;
  }
  block[0] = s00;
  block[1] = s01;
  block[2] = s10;
  block[3] = s11;
  return block;
}

const block8 = new Float64Array(8);

/**
 * The eight dot products of four consecutive rows of a (starting at a0, `stride` apart) with rows (b0, b1) over
 * columns from..end-1: six loads per eight multiply-adds, about 1.4× the rate of dot2x2 in V8.
 */
function dot4x2(
  a: Float64Array,
  a0: number,
  stride: number,
  b: Float64Array,
  b0: number,
  b1: number,
  from: number,
  end: number,
): Float64Array {
  const a1 = a0 + stride;
  const a2 = a1 + stride;
  const a3 = a2 + stride;
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  let s20 = 0;
  let s21 = 0;
  let s30 = 0;
  let s31 = 0;
  for (let k = from; k < end; k++) {
    const y0 = b[b0 + k]!;
    const y1 = b[b1 + k]!;
    const x0 = a[a0 + k]!;
    const x1 = a[a1 + k]!;
    const x2 = a[a2 + k]!;
    const x3 = a[a3 + k]!;
    s00 += x0 * y0;
    s01 += x0 * y1;
    s10 += x1 * y0;
    s11 += x1 * y1;
    s20 += x2 * y0;
    s21 += x2 * y1;
    s30 += x3 * y0;
    s31 += x3 * y1;
  }
  block8[0] = s00;
  block8[1] = s01;
  block8[2] = s10;
  block8[3] = s11;
  block8[4] = s20;
  block8[5] = s21;
  block8[6] = s30;
  block8[7] = s31;
  return block8;
}

function checkSquare(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n)
    throw new RangeError(`${what} holds ${a.length} values, ${n}×${n} expected`);
}

/**
 * C = A·Bᵀ (ra × rb) for row-major A (ra × len) and B (rb × len): every row of A dotted with every row of B.
 * Tiled (32 rows × 32 rows × 512 columns) so that the tiles stay in cache at FID sizes.
 */
export function crossProducts(a: Float64Array, ra: number, b: Float64Array, rb: number, len: number): Float64Array {
  if (a.length !== ra * len || b.length !== rb * len)
    throw new RangeError(`crossProducts: ${a.length} and ${b.length} values for ${ra}×${len} and ${rb}×${len}`);
  return tiledProducts(a, ra, b, rb, len, false, false);
}

/** C = A·Aᵀ (r × r, symmetric) for row-major A (r × len); computes one triangle and mirrors it. */
export function selfProducts(a: Float64Array, r: number, len: number): Float64Array {
  if (a.length !== r * len) throw new RangeError(`selfProducts: ${a.length} values for ${r}×${len}`);
  return tiledProducts(a, r, a, r, len, true, false);
}

const TILE_ROWS = 32;
const TILE_COLS = 512;

/**
 * A·Bᵀ by 32 × 32 output tiles over 512-column slices. `symmetric`: the product is known to be symmetric
 * (A·Aᵀ, or Fᵀ·S·F), so only the upper tiles are computed and then mirrored.
 * `upperA`: row i of A is zero before column i (a trapezoidal factor), so each row tile starts there.
 */
function tiledProducts(
  a: Float64Array,
  ra: number,
  b: Float64Array,
  rb: number,
  len: number,
  symmetric: boolean,
  upperA: boolean,
): Float64Array {
  const c = new Float64Array(ra * rb);
  for (let k0 = 0; k0 < len; k0 += TILE_COLS) {
    const k1 = Math.min(len, k0 + TILE_COLS);
    for (let i0 = 0; i0 < ra; i0 += TILE_ROWS) {
      const i1 = Math.min(ra, i0 + TILE_ROWS);
      const from = upperA ? Math.max(k0, i0) : k0;
      if (from >= k1) continue;
      for (let j0 = symmetric ? i0 : 0; j0 < rb; j0 += TILE_ROWS) {
        const j1 = Math.min(rb, j0 + TILE_ROWS);
        let i = i0;
        for (; i + 3 < i1; i += 4) {
          for (let j = j0; j < j1; j += 2) {
            const j2 = j + 1 < j1 ? j + 1 : j;
            const s = dot4x2(a, i * len, len, b, j * len, j2 * len, from, k1);
            for (let r = 0; r < 4; r++) {
              const row = (i + r) * rb;
              c[row + j] = c[row + j]! + s[2 * r]!;
              if (j2 !== j) c[row + j2] = c[row + j2]! + s[2 * r + 1]!;
            }
          }
        }
        for (; i < i1; i += 2) {
          const i2 = i + 1 < i1 ? i + 1 : i;
          for (let j = j0; j < j1; j += 2) {
            const j2 = j + 1 < j1 ? j + 1 : j;
            const s = dot2x2(a, i * len, i2 * len, b, j * len, j2 * len, from, k1);
            // i2 === i (or j2 === j) on an odd edge: the duplicate lane adds its sum a second time, so skip it.
            c[i * rb + j] = c[i * rb + j]! + s[0]!;
            if (j2 !== j) c[i * rb + j2] = c[i * rb + j2]! + s[1]!;
            if (i2 !== i) {
              c[i2 * rb + j] = c[i2 * rb + j]! + s[2]!;
              if (j2 !== j) c[i2 * rb + j2] = c[i2 * rb + j2]! + s[3]!;
            }
          }
        }
      }
    }
  }
  if (symmetric) {
    // Tiles with j0 ≥ i0 hold every (i, j ≥ i) exactly once; copy that triangle down.
    for (let i = 0; i < ra; i++) for (let j = 0; j < i; j++) c[i * rb + j] = c[j * rb + i]!;
  }
  return c;
}
