// Rule `change_point` (docs/detectors.md §8): a robust EWMA-residual CUSUM per metric, created lazily for every
// metric the run pushes, that marks sudden jumps on the charts. It never alerts: its evaluations are always empty and
// it returns markers (metric, step, changeAt = the CUSUM's last reset + 1, direction).
// Skipped: lr/*, lambda/*, clip/* (controls: their jumps are deliberate and shown as control events), perf/* (timing,
// not training health), val/* (a few points per run: never past the 300-point warm-up) and the skipped_step flag.
// grad_norm/* are watched on log10 (multiplicative, heavy-tailed; the doc's Student-t(3) rate of 5 false alarms per
// 10k points on raw heavy tails is the reason). Block size b is automatic from each metric's warm-up φ̂.
// A step flagged skipped_step = 1 is ignored; a re-baseline sends every CUSUM back to its warm-up.
import { METRIC, METRIC_PREFIX } from '../../../protocol/index.js';
import type {
  Detector,
  DetectorEnv,
  DetectorFactory,
  DetectorOutput,
  Marker,
  RuleSettings,
  StepValues,
} from '../types.js';
import { CUSUM_DEFAULTS, RobustCusum, type CusumOptions } from './cusum.js';
import { num, paramsOf } from './common.js';

const RULE = 'change_point';

const DEFAULTS = {
  enabled: true,
  for: 0,
  clear: 1,
  cooldown: 0,
  params: {
    // The CUSUM's own defaults (detectors.md §8; block 0 = automatic block size from the warm-up φ̂).
    lambdaM: CUSUM_DEFAULTS.lambdaM,
    lambdaS: CUSUM_DEFAULTS.lambdaS,
    k: CUSUM_DEFAULTS.k,
    h: CUSUM_DEFAULTS.h,
    c: CUSUM_DEFAULTS.c,
    warm: CUSUM_DEFAULTS.warm,
    hold: CUSUM_DEFAULTS.hold,
    block: CUSUM_DEFAULTS.block,
    bMax: CUSUM_DEFAULTS.bMax,
    minBlocks: CUSUM_DEFAULTS.minBlocks,
    /** 1 = watch grad_norm/* on log10. */
    logGrad: 1,
  },
} satisfies RuleSettings;

const SKIP_PREFIXES = [
  METRIC_PREFIX.lr,
  METRIC_PREFIX.lambda,
  METRIC_PREFIX.clip,
  METRIC_PREFIX.perf,
  METRIC_PREFIX.val,
  METRIC_PREFIX.sys,
];

function skipped(name: string): boolean {
  if (name === METRIC.skippedStep) return true;
  for (const p of SKIP_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

interface Watch {
  cusum: RobustCusum;
  log: boolean;
}

class ChangePointDetector implements Detector {
  readonly rule = RULE;
  private readonly opts: Partial<CusumOptions>;
  private readonly logGrad: boolean;
  /** null = a metric this rule skips. */
  private readonly watches = new Map<string, Watch | null>();

  constructor(env: DetectorEnv) {
    const p = paramsOf(env, DEFAULTS);
    this.opts = {
      lambdaM: p.lambdaM,
      lambdaS: p.lambdaS,
      k: p.k,
      h: p.h,
      c: p.c,
      warm: p.warm,
      hold: p.hold,
      block: p.block,
      bMax: p.bMax,
      minBlocks: p.minBlocks,
    };
    this.logGrad = p.logGrad > 0;
  }

  rebaseline(_step: number): void {
    for (const w of this.watches.values()) w?.cusum.reset();
  }

  observe(point: StepValues): DetectorOutput | null {
    if (point.values.get(METRIC.skippedStep) === 1) return null;
    let markers: Marker[] | null = null;
    // forEach, because entry destructuring allocates per metric.
    point.values.forEach((raw, name) => {
      let w = this.watches.get(name);
      if (w === undefined) {
        w = skipped(name)
          ? null
          : { cusum: new RobustCusum(this.opts), log: this.logGrad && name.startsWith(METRIC_PREFIX.gradNorm) };
        this.watches.set(name, w);
      }
      if (w === null) return;
      let x = raw;
      if (w.log) {
        if (raw === 0) return; // a zero norm (nothing to update) has no log; not a change in itself
        x = raw > 0 ? Math.log10(raw) : Number.NaN;
      }
      const alarm = w.cusum.push(x, point.step);
      if (!alarm) return;
      (markers ??= []).push({
        metric: name,
        step: alarm.step,
        changeAt: alarm.changeAt,
        direction: alarm.direction,
        evidence:
          alarm.direction === 'nonfinite'
            ? { value: String(raw) }
            : {
                level: num(w.log ? Math.pow(10, alarm.level) : alarm.level) ?? 0,
                scale: num(alarm.scale) ?? 0,
                transform: w.log ? 'log10' : 'none',
                block: w.cusum.blockSize,
              },
      });
    });
    return markers ? { evaluations: [], markers } : null;
  }
}

export const changePoint: DetectorFactory = {
  rule: RULE,
  description:
    'Sudden jumps on any curve (robust EWMA-residual CUSUM per metric, automatic block size against autocorrelation): ' +
    'markers on the chart, never an alert.',
  defaults: DEFAULTS,
  create: (env) => new ChangePointDetector(env),
};
