// Test support: seeded synthetic metric streams for the alert detectors (docs/detectors.md §8 tests):
// mulberry32 + Box–Muller normals, Student-t(3), lognormal, AR(1), sines and ramps, and StepValues builders;
// D's verdict histograms; also Park–Miller, the stream the Python fixture scripts of the eval tests regenerate.
import { histogramOf } from '../../protocol/histogram.js';
import { discriminatorOutputDistribution, METRIC } from '../../protocol/metric-names.js';
import type { StepValues } from '../../server/alerts/types.js';
import { DEFAULT_OPTIONS as MODEL } from '../../trainer/models/bicyclegan-options.js';

/**
 * mulberry32: a 32-bit seeded PRNG with uniform output in [0, 1). The detector tests' streams (and the
 * thresholds docs/detectors.md measured on them) were drawn from it, so it stays here, apart from the trainer's.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Park–Miller: x ← 48271·x mod (2³¹ − 1), yielding x / (2³¹ − 1); the stream the Python fixture scripts
 * (test/fixtures/eval/*.py, their park()) regenerate, so fixtures computed there match inputs made here.
 */
export function park(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 48271) % 2147483647;
    return x / 2147483647;
  };
}

export class Rng {
  private readonly u: () => number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.u = mulberry32(seed);
  }

  uniform(): number {
    return this.u();
  }

  /** Standard normal by Box–Muller (both values used). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u1 = this.u();
    while (u1 <= 0) u1 = this.u();
    const u2 = this.u();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** N(mu, sigma²). */
  gauss(mu: number, sigma: number): number {
    return mu + sigma * this.normal();
  }

  /** Student-t with ν degrees of freedom (ν integer): Z / √(χ²_ν/ν). */
  studentT(nu = 3): number {
    let chi = 0;
    for (let i = 0; i < nu; i++) chi += this.normal() ** 2;
    return this.normal() / Math.sqrt(chi / nu);
  }

  /** Lognormal with median `median` and σ of log10 equal to `sigmaLog10`. */
  lognormal10(median: number, sigmaLog10: number): number {
    return median * Math.pow(10, sigmaLog10 * this.normal());
  }
}

/** AR(1) noise x_t = φ·x_{t−1} + e_t with marginal standard deviation `sd`, started in its stationary law. */
export function ar1(rng: Rng, n: number, phi: number, sd = 1): Float64Array {
  const out = new Float64Array(n);
  const innov = sd * Math.sqrt(1 - phi * phi);
  let x = sd * rng.normal();
  for (let t = 0; t < n; t++) {
    out[t] = x;
    x = phi * x + innov * rng.normal();
  }
  return out;
}

/** amp·sin(2πt/period). */
export function sine(t: number, amp: number, period: number): number {
  return amp * Math.sin((2 * Math.PI * t) / period);
}

/** Piecewise-linear: `from` before t0, `to` after t1, linear between. */
export function ramp(t: number, t0: number, t1: number, from: number, to: number): number {
  if (t <= t0) return from;
  if (t >= t1) return to;
  return from + ((to - from) * (t - t0)) / (t1 - t0);
}

/** n step records 0..n−1 (step = t·stride + start), each with the metrics `f(t)` returns (undefined entries dropped). */
export function* steps(
  n: number,
  f: (t: number) => Record<string, number | undefined>,
  start = 0,
  stride = 1,
): Generator<StepValues> {
  for (let t = 0; t < n; t++) {
    const rec = f(t);
    const values = new Map<string, number>();
    for (const k in rec) {
      const v = rec[k];
      if (v !== undefined) values.set(k, v);
    }
    yield { step: start + t * stride, wall: 1_700_000_000 + t, values };
  }
}

/** Validation records: one per entry, at steps `step(e)`, with the metrics of `f(e)`. */
export function* epochs(
  values: ReadonlyArray<Record<string, number>>,
  step: (e: number) => number,
): Generator<StepValues> {
  for (let e = 0; e < values.length; e++) {
    yield {
      step: step(e),
      wall: 1_700_000_000 + e,
      values: new Map(Object.entries(values[e] as Record<string, number>)),
    };
  }
}

/** The trainer's lr/λ/clip metrics at their defaults, to add to a step record. */
export const CONTROLS_AT_DEFAULTS: Readonly<Record<string, number>> = {
  [METRIC.lrG]: MODEL.lrG,
  [METRIC.lrE]: MODEL.lrE,
  [METRIC.lrD]: MODEL.lrD,
  [METRIC.lambdaAdv]: MODEL.lambdaAdv,
  [METRIC.lambdaCyc]: MODEL.lambdaCyc,
  [METRIC.lambdaLatent]: MODEL.lambdaLatent,
  [METRIC.lambdaKl]: MODEL.lambdaKl,
  [METRIC.clipMaxNorm]: MODEL.clipMaxNorm,
};

/** Where D's verdicts on real and on fake patches lie: each spread evenly over its [lo, hi]. */
export type VerdictSpreads = { real: [number, number]; fake: [number, number] };
/** Real verdicts overlapping the fake ones (separation ≈ 0.84): D is right on average but not saturated. */
export const OVERLAPPING_VERDICTS: VerdictSpreads = { real: [0.3, 1], fake: [0, 0.7] };
/** Real and fake verdicts apart (separation 1): a saturated D. */
export const SEPARATED_VERDICTS: VerdictSpreads = { real: [0.9, 1.05], fake: [-0.05, 0.1] };

/** D's verdict histograms at both scales at one step, as the trainer sends them (dist/D/<real|fake>/scale<k>). */
export function dVerdicts(
  step: number,
  spreads: VerdictSpreads,
): Array<{ name: string; step: number; edges: number[]; counts: number[] }> {
  return [0, 1].flatMap((k) =>
    (['real', 'fake'] as const).map((side) => {
      const [lo, hi] = spreads[side];
      const h = histogramOf(Array.from({ length: 256 }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / 256));
      return { name: discriminatorOutputDistribution('D', side, k), step, edges: h.edges, counts: h.counts };
    }),
  );
}
