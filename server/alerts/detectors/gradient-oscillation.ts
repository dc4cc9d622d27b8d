// Rule `gradient_oscillation` (docs/detectors.md §4, WARN), one alert per series (keys 'grad_norm/D' and
// 'grad_norm/D2' on log10 of the norm, the primary signals; 'loss/D' and 'loss/D2' as secondary ones).
// Every 32 points, on the last W = 256 points: linear detrend, prewhiten u_t = y_t − φ̂·y_{t−1} (φ̂ frozen from the
// baseline B, the 1000 points after W0), periodogram over bins 1..W/2−1 (127), Fisher's g = max P_k / Σ P_k, and the
// amplitude ratio R = std(detrended window)/std(baseline). Enter: g > 0.0891 (α = 0.001) and R ≥ 2, on 3 consecutive
// evaluations (`for` 3); exit: g < 0.06 or R < 1.5 on 3 (`clear` 3). The period W/k* goes in the message.
// Baseline: φ̂ and std are the medians over the evaluation windows that lie inside B. Periods equal to a known
// cadence (`knownPeriod`, `knownPeriod2`: epoch length, D/D2 logging order, a cyclic lr; 0 = none) are left out of g.
// A re-baseline restarts the window; the healthy baseline (φ̂, std) is kept, because an lr change does not change
// what healthy noise looks like on log norms, and a baseline re-learned during an oscillation would hide it.
import { METRIC, METRIC_PREFIX, type KnownMetric } from '../../../protocol/index.js';
import { detrendLinear, fisherG, lag1Autocorr, medianInPlace, Periodogram, Ring, std } from '../stats.js';
import type {
  Detector,
  DetectorEnv,
  DetectorFactory,
  DetectorOutput,
  Evaluation,
  RuleSettings,
  StepValues,
} from '../types.js';
import { evaluation, finite, fmt, LOWER_LR_D, num, paramsOf, RELEARN_POINTS } from './common.js';

const RULE = 'gradient_oscillation';

const DEFAULTS = {
  enabled: true,
  for: 3,
  clear: 3,
  cooldown: 2000,
  params: {
    warmup: 1000,
    baselinePoints: 1000,
    /** Window W (a power of two). */
    window: 256,
    evalEvery: 32,
    gEnter: 0.0891,
    gExit: 0.06,
    rEnter: 2,
    rExit: 1.5,
    /** Periods (in points) to ignore; 0 = none. */
    knownPeriod: 0,
    knownPeriod2: 0,
    relearn: RELEARN_POINTS,
  },
} satisfies RuleSettings;

/** The rule's parameters, by name. */
type Params = (typeof DEFAULTS)['params'];

const SERIES: ReadonlyArray<{ key: KnownMetric; log: boolean }> = [
  { key: METRIC.gradNormD, log: true },
  { key: METRIC.gradNormD2, log: true },
  { key: METRIC.lossD, log: false },
  { key: METRIC.lossD2, log: false },
];

interface Track {
  key: KnownMetric;
  log: boolean;
  ring: Ring;
  /** Points since the window (re)started. */
  count: number;
  basePhis: number[];
  baseStds: number[];
  phi: number;
  baseStd: number;
  baselineDone: boolean;
}

class OscillationDetector implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  private readonly w: number;
  private readonly tracks: Track[];
  private readonly fft: Periodogram;
  private readonly buf: Float64Array;
  private readonly det: Float64Array;
  private readonly white: Float64Array;
  private readonly pgram: Float64Array;
  private readonly skip: (k: number) => boolean;
  private n = 0;
  private relearnUntil = 0;

  constructor(env: DetectorEnv) {
    const p = (this.p = paramsOf(env, DEFAULTS));
    const w = (this.w = p.window);
    this.fft = new Periodogram(w);
    this.tracks = SERIES.map((s) => ({
      ...s,
      ring: new Ring(w + 1),
      count: 0,
      basePhis: [],
      baseStds: [],
      phi: 0,
      baseStd: Number.NaN,
      baselineDone: false,
    }));
    this.buf = new Float64Array(w + 1);
    this.det = new Float64Array(w + 1);
    this.white = new Float64Array(w);
    this.pgram = new Float64Array(w / 2 + 1);
    const known = [p.knownPeriod, p.knownPeriod2].filter((k) => k > 0).map((period) => w / period);
    this.skip = (k) => known.some((kk) => Math.abs(k - kk) <= 1);
  }

  rebaseline(_step: number): void {
    for (const t of this.tracks) {
      t.ring.clear();
      t.count = 0;
    }
    this.relearnUntil = this.n + this.p.relearn;
  }

  observe(point: StepValues): DetectorOutput | null {
    let any = false;
    for (const t of this.tracks) {
      const v = finite(point, t.key);
      if (v === undefined || (t.log && v <= 0)) continue;
      t.ring.push(t.log ? Math.log10(v) : v);
      t.count++;
      any = true;
    }
    if (!any) return null;
    const n = ++this.n;
    const p = this.p;
    const warm = p.warmup;
    if (n <= warm || n % p.evalEvery !== 0) return null;
    const inBaseline = n <= warm + p.baselinePoints;
    const evals: Evaluation[] = [];
    for (const t of this.tracks) {
      if (t.ring.size < this.w + 1) continue;
      if (!t.baselineDone) {
        // Windows entirely inside B (after W0) make the healthy baseline.
        if (inBaseline && t.count >= this.w + 1 && n - this.w > warm) {
          this.detrendWindow(t);
          t.basePhis.push(lag1Autocorr(this.det, this.w + 1));
          t.baseStds.push(std(this.det, this.w + 1));
        }
        if (!inBaseline && t.basePhis.length > 0) {
          t.phi = medianInPlace(Float64Array.from(t.basePhis), t.basePhis.length);
          t.baseStd = medianInPlace(Float64Array.from(t.baseStds), t.baseStds.length);
          t.baselineDone = true;
        }
        if (!t.baselineDone) continue;
      }
      if (n <= this.relearnUntil) continue;
      evals.push(this.evaluate(t));
    }
    return evals.length > 0 ? { evaluations: evals } : null;
  }

  private detrendWindow(t: Track): void {
    const m = t.ring.copyTo(this.buf);
    detrendLinear(this.buf, m, this.det);
  }

  private evaluate(t: Track): Evaluation {
    const p = this.p;
    const w = this.w;
    this.detrendWindow(t);
    const det = this.det;
    for (let i = 0; i < w; i++) this.white[i] = (det[i + 1] as number) - t.phi * (det[i] as number);
    this.fft.compute(this.white, this.pgram);
    const { g, k } = fisherG(this.pgram, 1, w / 2 - 1, this.skip);
    const R = std(det, w + 1) / Math.max(t.baseStd, 1e-12);
    const period = k > 0 ? w / k : Number.NaN;
    const enter = g > p.gEnter && R >= p.rEnter;
    const exit = g < p.gExit || R < p.rExit;
    const name = t.log ? `log10 ‖∇${t.key.slice(METRIC_PREFIX.gradNorm.length)}‖` : t.key;
    return evaluation(
      t.key,
      enter,
      exit,
      'warn',
      enter
        ? `${name} oscillates with period ≈ ${fmt(period)} steps (Fisher's g ${fmt(g)} > ${fmt(p.gEnter)}, amplitude ${fmt(R)}× baseline)`
        : `${name}: no periodic component (g ${fmt(g)}, amplitude ${fmt(R)}× baseline)`,
      {
        fisher_g: num(g),
        period: num(period),
        amplitude_ratio: num(R),
        phi: num(t.phi),
        baseline_std: num(t.baseStd),
        window: w,
      },
      enter
        ? {
            text:
              `Losses/gradients oscillate (period ≈ ${fmt(period)} steps): lower lr_D ×0.5. If it persists after 2 halvings, halve both lrs; ` +
              'instance noise or a zero-centred gradient penalty (R1) also damp the oscillation.',
            action: LOWER_LR_D,
          }
        : null,
    );
  }
}

export const gradientOscillation: DetectorFactory = {
  rule: RULE,
  description:
    'Gradient oscillation: a periodic component in log10 ‖∇D‖ (or the D loss) by Fisher’s g on a prewhitened 256-step window, ' +
    'with amplitude ≥ 2× the baseline, on 3 evaluations. Remedy: lower lr_D ×0.5.',
  defaults: DEFAULTS,
  create: (env) => new OscillationDetector(env),
};
