// Rule `early_stop` (docs/detectors.md §7, INFO → STOP), one alert (key ''), evaluated at each validation record
// that carries the watched metric. An epoch improves when it beats the best by min_delta (FID: `minDelta`, absolute,
// default 0.5 = max(0.5, 2·σ_FID) for σ_FID ≤ 0.25; other metrics: `minDeltaRel`·|best|). The counter is validation
// checks since the last improvement (patience counts checks, not training epochs); it enters at counter ≥ patience, i.e.
// at best_epoch + 20. It also enters (WARN) on a non-finite value, and, for a 'min' metric, on a value above
// 3× the best for 3 checks (Lightning's divergence_threshold analogue). An epoch whose val/diversity is below 0.5× its
// running max (from validation epoch E0 = 3) is not accepted as best: FID can improve while diversity collapses.
// Params are numbers (the settings contract), so the metric and mode are codes:
//   metric: 0 = auto (val/fid when the first validation carries it, else val/L1), 1 = val/fid, 2 = val/L1,
//           3 = val/ssim, 4 = val/diversity;   mode: 0 = the metric's own (min for fid and L1, max for ssim and
//           diversity), 1 = min, 2 = max.
import { METRIC, type ControlCommand, type KnownMetric } from '../../../protocol/index.js';
import type { Detector, DetectorEnv, DetectorFactory, DetectorOutput, RuleSettings, StepValues } from '../types.js';
import { evaluation, fmt, num, paramsOf } from './common.js';

const RULE = 'early_stop';

const DEFAULTS = {
  enabled: true,
  for: 0,
  clear: 1,
  cooldown: 0,
  params: {
    metric: 0,
    mode: 0,
    patience: 20,
    minDelta: 0.5,
    minDeltaRel: 0.001,
    divergenceFactor: 3,
    divergenceChecks: 3,
    e0: 3,
    collapse: 0.5,
  },
} satisfies RuleSettings;

/** The rule's parameters, by name. */
type Params = (typeof DEFAULTS)['params'];

export const EARLY_STOP_METRIC_CODES: Readonly<Record<number, KnownMetric>> = {
  1: METRIC.valFid,
  2: METRIC.valL1,
  3: METRIC.valSsim,
  4: METRIC.valDiversity,
};

const STOP: ControlCommand = { action: 'stop', args: {} };

class EarlyStopDetector implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  private metric: KnownMetric | null;
  private mode: 'min' | 'max' = 'min';
  private checks = 0;
  private best: number | null = null;
  private bestEpoch = -1;
  private bestStep = -1;
  private sinceBest = 0;
  private aboveRun = 0;
  private divEpochs = 0;
  private divMax = Number.NaN;

  constructor(env: DetectorEnv) {
    this.p = paramsOf(env, DEFAULTS);
    this.metric = EARLY_STOP_METRIC_CODES[this.p.metric] ?? null;
    if (this.metric) this.mode = this.modeFor(this.metric);
  }

  private modeFor(metric: KnownMetric): 'min' | 'max' {
    const m = this.p.mode;
    if (m === 1) return 'min';
    if (m === 2) return 'max';
    return metric === METRIC.valSsim || metric === METRIC.valDiversity ? 'max' : 'min';
  }

  rebaseline(_step: number): void {
    // Validation history is not invalidated by an lr or λ change: the best checkpoint stays the best.
  }

  observe(point: StepValues): DetectorOutput | null {
    const vals = point.values;
    if (this.metric === null) {
      if (vals.has(METRIC.valFid)) this.metric = METRIC.valFid;
      else if (vals.has(METRIC.valL1)) this.metric = METRIC.valL1;
      else return null;
      this.mode = this.modeFor(this.metric);
    }
    const collapsed = this.diversityCollapsed(vals.get(METRIC.valDiversity));
    const v = vals.get(this.metric);
    if (v === undefined) return null;
    const p = this.p;
    const epoch = this.checks++;
    const isFinite = Number.isFinite(v);
    const md = this.metric === METRIC.valFid ? p.minDelta : p.minDeltaRel * Math.abs(this.best ?? v);
    const better = isFinite && (this.best === null || (this.mode === 'min' ? v < this.best - md : v > this.best + md));
    const improved = better && !collapsed;
    if (improved) {
      this.best = v;
      this.bestEpoch = epoch;
      this.bestStep = point.step;
      this.sinceBest = 0;
    } else {
      this.sinceBest++;
    }
    const above =
      isFinite && this.mode === 'min' && this.best !== null && this.best > 0 && v > p.divergenceFactor * this.best;
    this.aboveRun = above ? this.aboveRun + 1 : 0;

    const patienceOut = this.sinceBest >= p.patience && this.best !== null;
    const diverged = this.aboveRun >= p.divergenceChecks;
    const enter = patienceOut || !isFinite || diverged;
    const name = this.metric;
    const bestText =
      this.best !== null
        ? `best ${fmt(this.best)} at validation ${this.bestEpoch}, step ${this.bestStep}`
        : 'no best yet';
    let message: string;
    if (!isFinite) message = `Validation ${name} is ${fmt(v)} at step ${point.step}: stop (${bestText})`;
    else if (diverged)
      message = `Validation ${name} ${fmt(v)} > ${fmt(p.divergenceFactor)}× the best for ${this.aboveRun} validations: stop (${bestText})`;
    else if (patienceOut)
      message = `Validation ${name} has not improved by ≥ ${fmt(md)} for ${this.sinceBest} validations (${bestText})`;
    else message = `Validation ${name} ${fmt(v)}: ${this.sinceBest} validations since the best (${bestText})`;
    const restore =
      this.best !== null
        ? ` Stop and restore the checkpoint of validation ${this.bestEpoch} (step ${this.bestStep}).`
        : ' Stop the run.';
    return {
      evaluations: [
        evaluation(
          '',
          enter,
          !enter,
          patienceOut && isFinite && !diverged ? 'info' : 'warn',
          message,
          {
            metric: name,
            mode: this.mode,
            value: num(v),
            best: num(this.best),
            best_epoch: this.bestEpoch >= 0 ? this.bestEpoch : null,
            best_step: this.bestStep >= 0 ? this.bestStep : null,
            since_best: this.sinceBest,
            patience: p.patience,
            min_delta: num(md),
            diversity_collapsed: collapsed,
          },
          enter ? { text: `${message}.${restore}`, action: STOP } : null,
        ),
      ],
    };
  }

  /** Whether this validation's diversity is below `collapse`× its running max (from E0); false without diversity. */
  private diversityCollapsed(div: number | undefined): boolean {
    if (div === undefined || !Number.isFinite(div) || this.metric === METRIC.valDiversity) return false;
    const e = this.divEpochs++;
    if (e < this.p.e0) return false;
    this.divMax = Number.isNaN(this.divMax) ? div : Math.max(this.divMax, div);
    return div < this.p.collapse * this.divMax;
  }
}

export const earlyStop: DetectorFactory = {
  rule: RULE,
  description:
    'Early stopping: the validation metric (val/fid, else val/L1) has not improved by min_delta for 20 validations, or is ' +
    'non-finite, or above 3× its best for 3 validations. Remedy: stop and restore the best checkpoint.',
  defaults: DEFAULTS,
  create: (env) => new EarlyStopDetector(env),
};
