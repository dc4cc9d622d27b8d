// Rule `mode_collapse` (docs/detectors.md §3, WARN; CRITICAL when M1 and M2 both hold), one alert (key '').
// M1, per validation record with `val/diversity`: div_max = running max from validation epoch E0 = 3 (0-indexed
// epochs 0..2 are not counted: outputs near initialisation are noise and look diverse). M1 enters when div < 0.5·div_max
// on 2 consecutive epochs and leaves when div ≥ 0.7·div_max. When `val/mode_coverage` (fraction of the K modes the
// samples cover) is pushed, it goes into the evidence and M1 also enters when coverage ≤ 0.5× its running max (from
// E0) on 2 consecutive epochs; leaving then also needs coverage ≥ 0.7× its max.
// M1c (coverage floor), when `val/mode_coverage` is pushed, after step W0 and E0: the coverage level (median of the
// last 3 validations) below `coverageFloor` (0.75: a quarter of the modes out of reach of random z) on 2 consecutive
// validations; leaves at ≥ `coverageExit`. Unlike diversity or a gradient norm, coverage has an absolute meaning (the
// fraction of the dataset's own modes reached), so an absolute floor holds for any model; a run that never reaches the
// modes has no best to fall from, which is what the demo's run did (bench/alerts-real.ts).
// M2, every 25 points after W0: r = EWMA500(loss/z_L1)/0.798 (0.798 = E|z| for z ~ N(0,1): the error when G ignores z).
// Enters when r − min(r) ≥ 0.2 with Mann-Kendall Z ≥ 3.09 on the last 50 block means (b = 20) (z was recoverable and is
// no longer), or when r ≥ 0.9 while the run pushes no validation diversity or coverage, held for 500 points; leaves
// when r < 0.75. With validations, r ≥ 0.9 alone does not count: on data with few modes (the demo's 4 palettes) z is
// never recoverable beyond the mode it selects, so r sits at 0.99 from the first step whether the outputs cover every
// mode or not, and the validation metrics measure what r cannot. M3 (KL) is evidence only.
// Both parts keep their own persistence (epochs and points), so the rule's `for` and `clear` default to 1.
import { METRIC } from '../../../protocol/index.js';
import { BlockMeans, Ewma, ringMannKendallZ } from '../stats.js';
import type { Detector, DetectorEnv, DetectorFactory, DetectorOutput, RuleSettings, StepValues } from '../types.js';
import { evaluation, finite, fmt, LambdaStep, num, paramsOf, RELEARN_POINTS } from './common.js';

const RULE = 'mode_collapse';

/**
 * What bench/remedies.ts measured for the coverage floor on the demo: forks of one run with λ_latent ×2 and every other
 * change tried (λ_cyc ×2, lr E ×5, λ_kl ×5/×10, λ_latent ×4) left coverage below 0.75. The seed's remedy stays (it did
 * no harm), and the alert does not promise more than was measured.
 */
const COVERAGE_CAVEAT =
  ' (Measured on the demo: this did not bring mode coverage to 0.75 within 768 steps; nor did λ_cyc, λ_kl or lr E changes.)';

const DEFAULTS = {
  enabled: true,
  for: 1,
  clear: 1,
  cooldown: 2000,
  params: {
    /** Validation epochs before div_max starts. */
    e0: 3,
    m1Enter: 0.5,
    m1Exit: 0.7,
    m1Epochs: 2,
    /** M1c: the coverage level below which a run misses modes, and the level that clears it. */
    coverageFloor: 0.75,
    coverageExit: 0.8,
    warmup: 1000,
    span: 500,
    /** E|z| for z ~ N(0, 1): the latent L1 when z is not recoverable. */
    zIgnored: 0.798,
    rEnter: 0.9,
    rRise: 0.2,
    mkZ: 3.09,
    blockSize: 20,
    blocks: 50,
    /** Points the M2 enter condition must hold. */
    m2Points: 500,
    rExit: 0.75,
    /** λ_latent above which raising it further is not offered (cap 2.0). */
    lambdaCap: 2,
    evalEvery: 25,
    relearn: RELEARN_POINTS,
  },
} satisfies RuleSettings;

/** The rule's parameters, by name. */
type Params = (typeof DEFAULTS)['params'];

class ModeCollapseDetector implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  // M1
  private epochs = 0;
  private divMax = Number.NaN;
  private covMax = Number.NaN;
  private lowRun = 0;
  private m1 = false;
  private lastDiv = Number.NaN;
  private lastCov = Number.NaN;
  // M1c
  private readonly covs: number[] = [];
  private covLevel = Number.NaN;
  private floorRun = 0;
  private m1c = false;
  /** A validation diversity or coverage was pushed: M2's absolute level no longer counts on its own. */
  private validated = false;
  // M2
  private n = 0;
  private relearnUntil = 0;
  private readonly zl1: Ewma;
  private readonly blocks: BlockMeans;
  private readonly mkScratch: Float64Array;
  private rMin = Infinity;
  private condSince = -1;
  private m2 = false;
  private r = Number.NaN;
  private mk = 0;
  private readonly kl = new Ewma(500);
  private readonly lambdaLatent: LambdaStep;

  constructor(env: DetectorEnv) {
    this.p = paramsOf(env, DEFAULTS);
    this.zl1 = new Ewma(this.p.span);
    this.blocks = new BlockMeans(this.p.blockSize, this.p.blocks);
    this.mkScratch = new Float64Array(this.p.blocks);
    this.lambdaLatent = new LambdaStep('latent', 2, this.p.lambdaCap, ' (0.5 → 1.0)');
  }

  rebaseline(_step: number): void {
    this.zl1.reset();
    this.blocks.clear();
    this.rMin = Infinity;
    this.condSince = -1;
    this.relearnUntil = this.n + this.p.relearn;
  }

  observe(point: StepValues): DetectorOutput | null {
    const p = this.p;
    this.lambdaLatent.see(point);
    let evaluate = false;

    const div = finite(point, METRIC.valDiversity);
    if (div !== undefined) {
      this.validation(div, finite(point, METRIC.valModeCoverage), point.step);
      evaluate = true;
    }

    const z = finite(point, METRIC.lossZL1);
    if (z !== undefined) {
      const n = ++this.n;
      this.zl1.push(z);
      this.blocks.push(z);
      const klv = finite(point, METRIC.lossKl);
      if (klv !== undefined) this.kl.push(klv);
      if (n > p.warmup && n > this.relearnUntil && n % p.evalEvery === 0) {
        this.stepCheck(n);
        evaluate = true;
      }
    }
    if (!evaluate) return null;

    const validation = this.m1 || this.m1c;
    const enter = validation || this.m2;
    const both = validation && this.m2;
    const parts = [
      this.m1 ? `validation diversity ${fmt(this.lastDiv)} < ${fmt(p.m1Enter)}× its best ${fmt(this.divMax)}` : '',
      this.m1c
        ? `mode coverage ${fmt(this.covLevel)} (median of the last 3 validations) < ${fmt(p.coverageFloor)}: random z reach about ${fmt(Math.round(this.covLevel * 100))}% of the modes`
        : '',
      this.m2 ? `latent error ratio r = ${fmt(this.r)} rose from ${fmt(this.rMin)} (1 = z ignored)` : '',
    ].filter(Boolean);
    const lam = this.lambdaLatent;
    return {
      evaluations: [
        evaluation(
          '',
          enter,
          !enter,
          both ? 'critical' : 'warn',
          enter
            ? `Mode collapse: ${parts.join('; ')}`
            : `No mode collapse (diversity ${fmt(this.lastDiv)}, r = ${fmt(this.r)})`,
          {
            m1: this.m1,
            m1c: this.m1c,
            m2: this.m2,
            diversity: num(this.lastDiv),
            diversity_max: num(this.divMax),
            mode_coverage: num(this.lastCov),
            mode_coverage_max: num(this.covMax),
            mode_coverage_level: num(this.covLevel),
            r: num(this.r),
            r_min: num(this.rMin),
            mann_kendall_z: num(this.mk),
            kl: num(this.kl.value),
            lambda_latent: num(lam.value),
          },
          enter
            ? {
                text: lam.capped
                  ? `${this.symptom()}, and lambda_latent is already ${fmt(lam.value)} (cap ${fmt(p.lambdaCap)}): ` +
                    'add a mode-seeking term (maximise image distance over latent distance, MSGAN).'
                  : `${this.symptom()}: raise lambda_latent (λ_z) ×2${lam.change()}. If it persists, add a mode-seeking term (MSGAN).` +
                    (this.m1c && !this.m1 && !this.m2 ? COVERAGE_CAVEAT : ''),
                action: lam.action(),
              }
            : null,
        ),
      ],
    };
  }

  private symptom(): string {
    return this.m1c && !this.m1 && !this.m2 ? 'Random z do not reach every mode' : 'Outputs no longer vary with z';
  }

  private validation(div: number, cov: number | undefined, step: number): void {
    const p = this.p;
    const e = this.epochs++;
    this.validated = true;
    this.lastDiv = div;
    if (cov !== undefined) this.lastCov = cov;
    if (e < p.e0) return;
    if (cov !== undefined) this.coverageFloorCheck(cov, step);
    this.divMax = Number.isNaN(this.divMax) ? div : Math.max(this.divMax, div);
    if (cov !== undefined) this.covMax = Number.isNaN(this.covMax) ? cov : Math.max(this.covMax, cov);
    const covLow = cov !== undefined && cov <= p.m1Enter * this.covMax;
    const low = div < p.m1Enter * this.divMax || covLow;
    this.lowRun = low ? this.lowRun + 1 : 0;
    if (this.lowRun >= p.m1Epochs) this.m1 = true;
    const covOk = cov === undefined || cov >= p.m1Exit * this.covMax;
    if (this.m1 && div >= p.m1Exit * this.divMax && covOk) this.m1 = false;
  }

  private coverageFloorCheck(cov: number, step: number): void {
    const p = this.p;
    this.covs.push(cov);
    if (this.covs.length > 3) this.covs.shift();
    if (this.covs.length < 3) return;
    const sorted = [...this.covs].sort((a, b) => a - b);
    const level = (this.covLevel = sorted[1] as number);
    if (step <= p.warmup) return;
    this.floorRun = level < p.coverageFloor ? this.floorRun + 1 : 0;
    if (this.floorRun >= p.m1Epochs) this.m1c = true;
    if (this.m1c && level >= p.coverageExit) this.m1c = false;
  }

  private stepCheck(n: number): void {
    const p = this.p;
    const r = (this.r = this.zl1.value / p.zIgnored);
    this.rMin = Math.min(this.rMin, r);
    const full = this.blocks.blocks.full;
    this.mk = full ? ringMannKendallZ(this.blocks.blocks, this.mkScratch) : 0;
    const rose = r - this.rMin >= p.rRise && full && this.mk >= p.mkZ;
    const cond = rose || (r >= p.rEnter && !this.validated);
    if (!cond) this.condSince = -1;
    else if (this.condSince < 0) this.condSince = n;
    if (cond && n - this.condSince >= p.m2Points) this.m2 = true;
    if (this.m2 && r < p.rExit) this.m2 = false;
  }
}

export const modeCollapse: DetectorFactory = {
  rule: RULE,
  description:
    'Mode collapse: validation diversity (or mode coverage) below 0.5× its best on 2 validations, or mode coverage below 0.75 ' +
    '(M1); the latent error rising to the "z ignored" level for 500 steps (M2; its level alone only without validations); ' +
    'CRITICAL when both. Remedy: raise lambda_latent ×2.',
  defaults: DEFAULTS,
  create: (env) => new ModeCollapseDetector(env),
};
