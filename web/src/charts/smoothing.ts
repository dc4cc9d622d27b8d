// Smoothing: TensorBoard's debiased exponential moving average, the same function for live and finished runs.
//
// Raw points (one entry per step): s_k = w·s_{k−1} + (1−w)·v_k over the finite values in step order, drawn as
// s_k / (1 − w^k) (the debiasing that stops the curve being pulled towards 0 at the start).
// Buckets: a bucket of n finite values with mean m counts as n points of value m, i.e. s ← wⁿ·s + (1−wⁿ)·m and
// k ← k + n, so the smoothing strength per step is the same whether the server sent raw points or buckets (zoomed in
// or out). Entries without a finite value (NaN/±Inf only) get NaN (a gap in the smoothed line) and leave s unchanged.
import type { Entry } from './series-buffer.js';

export function smoothEntries(entries: readonly Entry[], weight: number): Float64Array {
  const out = new Float64Array(entries.length);
  const w = Math.min(Math.max(weight, 0), 0.999);
  let s = 0;
  let k = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.mean === null || e.count === 0) {
      out[i] = Number.NaN;
      continue;
    }
    if (w === 0) {
      out[i] = e.mean;
      continue;
    }
    const a = Math.pow(w, e.count);
    s = a * s + (1 - a) * e.mean;
    k += e.count;
    const debias = 1 - Math.pow(w, k);
    out[i] = debias > 0 ? s / debias : e.mean;
  }
  return out;
}
