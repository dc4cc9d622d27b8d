// Rule `d_overpowering` (docs/detectors.md §2, WARN; CRITICAL when G is starved of gradient), one alert per
// discriminator (keys 'D' and 'D2'): a_t = min(real acc, fake acc), A = EWMA span 200 of a_t, D_loss_n = D loss / D_eq
// (D_eq = the loss when D outputs 0.5 everywhere: BCE 2·ln2, LSGAN 0.5, per scale, summed over `numScales`).
// Enter: A ≥ 0.95 and EWMA200(D_loss_n) ≤ 0.1, after W0, and, when the run sends D's verdicts as histograms
// (dist/<D|D2>/<real|fake>/scale<k>), D separates real from fake patches at every scale (P(real > fake) ≥ 0.99): a D
// right on average whose verdicts still overlap has not saturated. `for` 20 evaluations of 25 points = 500 points. Exit: A ≤ 0.85
// (`clear` 8 evaluations = 200 points). CRITICAL when the median ‖∇G‖ of the last 200 points is below 0.1× its
// baseline median (B = the 1000 points after W0).
// Remedy: lower lr_D ×0.5, unless G learns far slower than D (lr/G < slowG × lr/D; BicycleGAN's default is lr/G = 2 ×
// lr/D): then D wins because G does not move, and lowering lr_D does not help (bench/remedies.ts, from the d_wins
// checkpoint where the rule fired, G and E at 2e-6, D at 2e-3: D's accuracies stayed 1.00 over the next 170–192 steps with lr_D
// ×0.5 and ×0.1, and averaged 0.81/0.87 with lr_G and lr_E ×100); the remedy then raises lr_G back toward 2 × lr/D
// (at most ×100) and says to raise lr_E likewise.
import {
  DISCRIMINATOR_METRICS,
  discriminatorOutputDistribution,
  histogramQuantile,
  histogramSeparation,
  METRIC,
  type ControlCommand,
  type DiscriminatorKey,
  type KnownMetric,
} from '../../../protocol/index.js';
import { Ewma, medianInPlace, Ring } from '../stats.js';
import type {
  Detector,
  DetectorEnv,
  DetectorFactory,
  DetectorOutput,
  Evaluation,
  RuleSettings,
  StepHistogram,
  StepValues,
} from '../types.js';
import { evaluation, finite, fmt, FrozenBaseline, LOWER_LR_D, num, paramsOf, RELEARN_POINTS } from './common.js';

const RULE = 'd_overpowering';

const DEFAULTS = {
  enabled: true,
  for: 20,
  clear: 8,
  cooldown: 2000,
  params: {
    warmup: 1000,
    span: 200,
    accEnter: 0.95,
    lossEnter: 0.1,
    accExit: 0.85,
    /** GAN loss: 0 = vanilla (BCE on logits), 1 = LSGAN; the engine sets it from the run's ganMode. */
    lsgan: 0,
    numScales: 2,
    /** CRITICAL when median ‖∇G‖ (last `starveWindow` points) < starve × its baseline median. */
    starve: 0.1,
    starveWindow: 200,
    baselinePoints: 1000,
    evalEvery: 25,
    relearn: RELEARN_POINTS,
    /** lr/G below this × lr/D: G is too slow, and the remedy raises lr_G instead of lowering lr_D. */
    slowG: 0.1,
    /**
     * When the run sends D's verdicts as distributions (dist/<D|D2>/<real|fake>/scale<k>), D dominates only if it
     * also separates real from fake patches at every scale: P(verdict on a real patch > on a fake one) ≥ this.
     * 0 = do not use them.
     */
    separationEnter: 0.99,
    /** Histograms older than this many steps no longer count (the trainer stopped sending them). */
    separationStale: 500,
  },
} satisfies RuleSettings;

/** The rule's parameters, by name. */
type Params = (typeof DEFAULTS)['params'];

/** How well D told real from fake patches in its latest verdict histograms (its weakest scale). */
interface Separation {
  /** P(verdict on a real patch > on a fake one), ties half: 1 = no overlap. */
  auc: number;
  realP10: number;
  fakeP90: number;
  step: number;
}

interface Disc {
  key: DiscriminatorKey;
  real: KnownMetric;
  fake: KnownMetric;
  loss: KnownMetric;
  acc: Ewma;
  loss_n: Ewma;
  seen: boolean;
}

class DOverpoweringDetector implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  private readonly dEq: number;
  private readonly discs: Disc[];
  private readonly gRecent: Ring;
  private readonly gScratch: Float64Array;
  private readonly gBaseline: FrozenBaseline;
  private n = 0;
  private relearnUntil = 0;
  private lrG = Number.NaN;
  private lrD = Number.NaN;
  readonly distributionNames: readonly string[];
  private readonly verdicts = new Map<string, StepHistogram>();

  constructor(env: DetectorEnv) {
    const p = (this.p = paramsOf(env, DEFAULTS));
    this.dEq = p.numScales * (p.lsgan ? 0.5 : 2 * Math.LN2);
    const span = p.span;
    const disc = (key: DiscriminatorKey): Disc => ({
      key,
      real: DISCRIMINATOR_METRICS[key].realAcc,
      fake: DISCRIMINATOR_METRICS[key].fakeAcc,
      loss: DISCRIMINATOR_METRICS[key].loss,
      acc: new Ewma(span),
      loss_n: new Ewma(span),
      seen: false,
    });
    this.discs = [disc('D'), disc('D2')];
    this.gRecent = new Ring(p.starveWindow);
    this.gScratch = new Float64Array(p.starveWindow);
    this.gBaseline = new FrozenBaseline(p.baselinePoints, p.warmup);
    this.distributionNames =
      p.separationEnter > 0
        ? this.discs.flatMap((d) =>
            Array.from({ length: p.numScales }, (_, k) => [
              discriminatorOutputDistribution(d.key, 'real', k),
              discriminatorOutputDistribution(d.key, 'fake', k),
            ]).flat(),
          )
        : [];
  }

  observeDistribution(d: StepHistogram): void {
    this.verdicts.set(d.name, d);
  }

  /** D's separation at its weakest scale, from real and fake histograms of one step no older than separationStale. */
  private separation(key: DiscriminatorKey, step: number): Separation | null {
    let worst: Separation | null = null;
    for (let k = 0; k < this.p.numScales; k++) {
      const real = this.verdicts.get(discriminatorOutputDistribution(key, 'real', k));
      const fake = this.verdicts.get(discriminatorOutputDistribution(key, 'fake', k));
      if (!real || !fake || real.step !== fake.step || real.step < step - this.p.separationStale) continue;
      const auc = histogramSeparation(real.histogram, fake.histogram);
      if (Number.isNaN(auc) || (worst && worst.auc <= auc)) continue;
      worst = {
        auc,
        realP10: histogramQuantile(real.histogram, 0.1),
        fakeP90: histogramQuantile(fake.histogram, 0.9),
        step: real.step,
      };
    }
    return worst;
  }

  rebaseline(_step: number): void {
    for (const d of this.discs) {
      d.acc.reset();
      d.loss_n.reset();
    }
    this.gRecent.clear();
    this.relearnUntil = this.n + this.p.relearn;
    this.gBaseline.restart();
  }

  observe(point: StepValues): DetectorOutput | null {
    let any = false;
    for (const d of this.discs) {
      const real = finite(point, d.real);
      const fake = finite(point, d.fake);
      const loss = finite(point, d.loss);
      if (real === undefined || fake === undefined) continue;
      any = d.seen = true;
      d.acc.push(Math.min(real, fake));
      if (loss !== undefined) d.loss_n.push(loss / this.dEq);
    }
    if (!any) return null;
    this.lrG = finite(point, METRIC.lrG) ?? this.lrG;
    this.lrD = finite(point, METRIC.lrD) ?? this.lrD;
    const n = ++this.n;
    const p = this.p;
    const g = finite(point, METRIC.gradNormG);
    if (g !== undefined) {
      this.gRecent.push(g);
      this.gBaseline.push(g, n);
    }
    if (n <= p.warmup || n <= this.relearnUntil || n % p.evalEvery !== 0) return null;

    let gMedian = Number.NaN;
    const evals: Evaluation[] = [];
    for (const d of this.discs) {
      if (!d.seen) continue;
      const A = d.acc.value;
      const L = d.loss_n.value;
      const sep = this.separation(d.key, point.step);
      const separates = sep === null || sep.auc >= p.separationEnter;
      const enter = A >= p.accEnter && (d.loss_n.count === 0 || L <= p.lossEnter) && separates;
      const exit = A <= p.accExit;
      let starved = false;
      if (enter && this.gBaseline.frozen && this.gRecent.size > 0) {
        if (Number.isNaN(gMedian)) gMedian = medianInPlace(this.gScratch, this.gRecent.copyTo(this.gScratch));
        starved = gMedian < p.starve * this.gBaseline.median;
      }
      const lrD = Number.isFinite(this.lrD) ? this.lrD : undefined;
      const lrText = lrD !== undefined ? ` (${fmt(lrD)} → ${fmt(lrD * 0.5)})` : '';
      const what = `accuracy ${fmt(A)} ≥ ${fmt(p.accEnter)} and D loss ${fmt(L)}×D_eq ≤ ${fmt(p.lossEnter)}${separationText(sep)}`;
      evals.push(
        evaluation(
          d.key,
          enter,
          exit,
          starved ? 'critical' : 'warn',
          enter
            ? `Discriminator ${d.key} dominates: ${what}${starved ? `; G is starved of gradient (median ‖∇G‖ ${fmt(gMedian)} < ${fmt(p.starve)}× baseline ${fmt(this.gBaseline.median)})` : ''}`
            : `Discriminator ${d.key} balanced: accuracy ${fmt(A)}, D loss ${fmt(L)}×D_eq${separationText(sep)}`,
          {
            accuracy_ewma: num(A),
            d_loss_n_ewma: num(L),
            separation: sep ? num(sep.auc) : null,
            verdict_real_p10: sep ? num(sep.realP10) : null,
            verdict_fake_p90: sep ? num(sep.fakeP90) : null,
            verdicts_step: sep?.step ?? null,
            d_eq: num(this.dEq),
            grad_G_median: num(gMedian),
            grad_G_baseline: num(this.gBaseline.median),
          },
          enter ? this.remedy(d.key, lrText) : null,
        ),
      );
    }
    return evals.length > 0 ? { evaluations: evals } : null;
  }

  private remedy(key: DiscriminatorKey, lrText: string): { text: string; action: ControlCommand | null } {
    const { lrG, lrD } = this;
    if (lrG >= 0 && lrD > 0 && lrG < this.p.slowG * lrD) {
      const factor = lrG > 0 ? Math.min(100, Number(((2 * lrD) / lrG).toPrecision(2))) : Number.NaN;
      const raise =
        lrG > 0
          ? `raise lr_G ×${fmt(factor)} (${fmt(lrG)} → ${fmt(lrG * factor)}) and lr_E likewise`
          : 'set lr_G and lr_E above 0';
      return {
        text:
          `Discriminator ${key} dominates because G learns far slower than D (lr_G ${fmt(lrG)} < ${fmt(this.p.slowG)} × lr_D ${fmt(lrD)}): ` +
          `${raise}. Lowering lr_D does not help a G that does not move (measured: D's accuracy stayed 1.00 with lr_D ×0.5 and ×0.1).`,
        action: lrG > 0 ? { action: 'scale_lr', args: { net: 'G', factor } } : null,
      };
    }
    return {
      text:
        `Discriminator ${key} dominates (accuracy ≥ 95%, D loss ≈ 0): lower lr_D ×0.5${lrText}. ` +
        'Alternatives: instance noise σ = 0.1 decayed to 0, or one-sided label smoothing of real targets to 0.9.',
      action: LOWER_LR_D,
    };
  }
}

/** The verdict histograms' part of a message: how far apart D puts real and fake patches. */
function separationText(sep: Separation | null): string {
  if (!sep) return '';
  return `; separation ${fmt(sep.auc)} at its weakest scale (D(real) 10th percentile ${fmt(sep.realP10)}, D(fake) 90th percentile ${fmt(sep.fakeP90)}, step ${sep.step})`;
}

export const dOverpowering: DetectorFactory = {
  rule: RULE,
  description:
    'Discriminator overpowering (D and D2): min(real, fake) accuracy EWMA ≥ 0.95 and normalised D loss ≤ 0.1 for 500 steps ' +
    "(and, when the run sends D's verdict histograms, real and fake verdicts apart: P(real > fake) ≥ 0.99). " +
    'Remedy: lower lr_D ×0.5 (raise lr_G when it is below 0.1 × lr_D).',
  defaults: DEFAULTS,
  create: (env) => new DOverpoweringDetector(env),
};
