// Principal components in the browser: the fallback 2-D view of latent codes when the server has no projection.

/**
 * Projects rows of `codes` (n × d) on their first two principal axes. Power iteration with deflation on the d × d
 * covariance (d is the latent size, 8 by default). Each axis's sign is fixed so its largest-magnitude loading is
 * positive, as sklearn's svd_flip does, so epochs do not flip at random.
 */
export function pca2(codes: readonly (readonly number[])[]): Array<[number, number]> {
  const n = codes.length;
  if (n === 0) return [];
  const d = codes[0]!.length;
  const mean = new Float64Array(d);
  for (const c of codes) for (let j = 0; j < d; j++) mean[j]! += c[j]! / n;
  const cov = new Float64Array(d * d);
  for (const c of codes) {
    for (let i = 0; i < d; i++) {
      const ci = c[i]! - mean[i]!;
      for (let j = i; j < d; j++) cov[i * d + j]! += (ci * (c[j]! - mean[j]!)) / Math.max(1, n - 1);
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i]!;
  const axes: Float64Array[] = [];
  for (let k = 0; k < Math.min(2, d); k++) {
    let v = new Float64Array(d).map((_, i) => 1 + i * 0.01 * (k + 1));
    let lambda = 0;
    for (let it = 0; it < 300; it++) {
      const w = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += cov[i * d + j]! * v[j]!;
        w[i] = s;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      for (let i = 0; i < d; i++) w[i]! /= norm;
      const delta = w.reduce((acc, x, i) => acc + Math.abs(x - v[i]!), 0);
      v = w;
      lambda = norm;
      if (delta < 1e-10) break;
    }
    let big = 0;
    for (let i = 0; i < d; i++) if (Math.abs(v[i]!) > Math.abs(v[big]!)) big = i;
    if (v[big]! < 0) for (let i = 0; i < d; i++) v[i] = -v[i]!;
    axes.push(v);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j]! -= lambda * v[i]! * v[j]!;
  }
  return codes.map((c) => {
    const p: [number, number] = [0, 0];
    axes.forEach((axis, k) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (c[j]! - mean[j]!) * axis[j]!;
      p[k] = s;
    });
    return p;
  });
}
