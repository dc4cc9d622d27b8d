// Rule `divergence` (docs/detectors.md §1, CRITICAL): three alerts, keyed
//   'nonfinite'  any step metric (not val/*) is NaN or ±Infinity: fires at that step, no warm-up, no pending;
//   'blowup'     log10 of a gradient norm (G, E, D, D2) more than 6 robust σ above its rolling median/MAD (500 points)
//                for 3 consecutive points, or loss/L1 or loss/z_L1 above 10× its rolling median for 3 points
//                (CRITICAL); a gradient norm whose level (the rolling median) stays `gradLevelWarn` (10)× above its
//                level in the baseline window B (the 1000 points after W0) for 3 refreshes of the median is a WARN;
//   'slow'       an upward alarm of the §8 CUSUM on ln(loss/L1) within the last `slowLatch` points, confirmed by
//                Mann-Kendall Z > 3.09 on the last 50 block means (b = 20).
// Exits: 'nonfinite' and 'blowup' after 200 points with every value finite, every gradient z < 3 (and its level under
// gradLevelWarn) and every loss < 3× its median; 'slow' when the Mann-Kendall Z falls below 1.64.
// The WARN level is relative to the run's own baseline, not an absolute norm: ganhacks' "over 100" is
// architecture-dependent, and on the demo's 32 px discriminators ‖∇D2‖ runs at a median of ~100 when healthy
// (bench/alerts-real.ts measured it: the old absolute cut fired on every demo run at step 991).
// Any lr or λ change, and the remedy, restart the rolling windows; a λ change also restarts the baseline levels (the
// gradient norms scale with the λs).
// A step with `skipped_step` = 1 (an optimizer step skipped by a loss scaler) is ignored entirely.
import {
  GRAD_NORM_METRIC,
  METRIC,
  METRIC_PREFIX,
  type ControlCommand,
  type KnownMetric,
} from '../../../protocol/index.js';
import { BlockMeans, medianInPlace, Ring, ringMannKendallZ, ringMedianMad, robustZ } from '../stats.js';
import type {
  Detector,
  DetectorEnv,
  DetectorFactory,
  DetectorOutput,
  Evaluation,
  RebaselineCause,
  RuleSettings,
  Severity,
  StepValues,
} from '../types.js';
import { RobustCusum } from './cusum.js';
import { evaluation, fmt, FrozenBaseline, num, paramsOf, RELEARN_POINTS } from './common.js';

const RULE = 'divergence';

const DEFAULTS = {
  enabled: true,
  for: 0,
  clear: 1,
  cooldown: 2000,
  params: {
    /** W0: silent (except the non-finite check) for this many points. */
    warmup: 1000,
    /** Rolling window of the median/MAD, in points. */
    window: 500,
    zEnter: 6,
    zExit: 3,
    /** Consecutive points a blow-up must last. */
    consecutive: 3,
    /** Clean points needed to resolve 'nonfinite' and 'blowup'. */
    exitPoints: 200,
    /** WARN when a gradient norm's rolling median is this many times its baseline median (0 = off). */
    gradLevelWarn: 10,
    lossRatio: 10,
    lossExitRatio: 3,
    mkZ: 3.09,
    mkExitZ: 1.64,
    blockSize: 20,
    blocks: 50,
    /** Points an upward CUSUM alarm stays eligible for confirmation by the trend test. */
    slowLatch: 1000,
    evalEvery: 25,
    relearn: RELEARN_POINTS,
    /** Baseline window B (after W0): the gradient levels gradLevelWarn compares with, and the remedy's clipping level. */
    baselinePoints: 1000,
  },
} satisfies RuleSettings;

/** The rule's parameters, by name. */
type Params = (typeof DEFAULTS)['params'];

const GRADS = Object.values(GRAD_NORM_METRIC);
const LOSSES = [METRIC.lossL1, METRIC.lossZL1] as const;

/** The remedy's action: restore the last checkpoint with every lr halved (and clipping when its level is known). */
function rollback(maxNorm: number | null): ControlCommand {
  return {
    action: 'rollback',
    args: { checkpoint: 'latest', lr_factor: 0.5, ...(maxNorm !== null ? { max_norm: maxNorm } : {}) },
  };
}

/** One watched series: rolling window, refreshed median/MAD, run length above the enter level. */
class Watched {
  readonly ring: Ring;
  median = Number.NaN;
  mad = Number.NaN;
  refreshedAt = -Infinity;
  run = 0;
  /** Consecutive median refreshes with the level gradLevelWarn× above the baseline's. */
  levelRun = 0;
  last = Number.NaN;
  lastScore = Number.NaN;
  /** Evidence key of the score: `<metric>:z` (gradients) or `<metric>:ratio` (losses). */
  readonly scoreKey: string;

  /** Gradients: the frozen baseline of log10 ‖∇‖ (B = the points after W0) that the level is compared with. */
  readonly baseline: FrozenBaseline | null;

  constructor(
    readonly name: KnownMetric,
    readonly isGrad: boolean,
    window: number,
    p: Readonly<Params>,
  ) {
    this.ring = new Ring(window);
    this.scoreKey = `${name}:${isGrad ? 'z' : 'ratio'}`;
    this.baseline = isGrad ? new FrozenBaseline(p.baselinePoints, p.warmup) : null;
  }

  reset(): void {
    this.ring.clear();
    this.median = this.mad = Number.NaN;
    this.refreshedAt = -Infinity;
    this.run = this.levelRun = 0;
  }
}

class DivergenceDetector implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  private readonly watched: Watched[];
  private readonly scratch: Float64Array;
  private readonly cusum = new RobustCusum();
  private readonly blocks: BlockMeans;
  private readonly mkScratch: Float64Array;
  private readonly gBaseline: FrozenBaseline;
  private n = 0;
  private relearnUntil = 0;
  private lastNonfinite = -Infinity;
  private nonfiniteNames: string[] = [];
  private lastBad = -Infinity;
  private blowupWas = false;
  private blowupCause = '';
  private blowupSeverity: Severity = 'critical';
  private slowAlarmAt = -Infinity;
  private slowAlarmStep = -1;

  constructor(env: DetectorEnv) {
    this.p = paramsOf(env, DEFAULTS);
    const window = this.p.window;
    this.watched = [
      ...GRADS.map((g) => new Watched(g, true, window, this.p)),
      ...LOSSES.map((l) => new Watched(l, false, window, this.p)),
    ];
    this.scratch = new Float64Array(window);
    this.blocks = new BlockMeans(this.p.blockSize, this.p.blocks);
    this.mkScratch = new Float64Array(this.p.blocks);
    this.gBaseline = new FrozenBaseline(this.p.baselinePoints, this.p.warmup);
  }

  rebaseline(_step: number, cause: RebaselineCause): void {
    for (const w of this.watched) {
      w.reset();
      if (cause === 'lambda') w.baseline?.restart(); // the norms' level scales with the λs
    }
    this.cusum.reset();
    this.blocks.clear();
    this.slowAlarmAt = -Infinity;
    this.relearnUntil = this.n + this.p.relearn;
  }

  observe(point: StepValues): DetectorOutput | null {
    const vals = point.values;
    if (vals.get(METRIC.skippedStep) === 1) return null;
    const p = this.p;
    // Non-finite check: always on. forEach, because entry destructuring allocates per metric.
    let nonfinite: string[] | null = null;
    let any = false;
    vals.forEach((v, name) => {
      const isVal = name.charCodeAt(0) === 118 && name.startsWith(METRIC_PREFIX.val);
      if (isVal) return;
      any = true;
      if (!Number.isFinite(v)) (nonfinite ??= []).push(`${name} = ${fmt(v)}`);
    });
    if (!any) return null; // a validation-only record is not a step point
    const n = ++this.n;
    if (nonfinite) {
      this.lastNonfinite = n;
      this.nonfiniteNames = nonfinite;
    }

    const warm = n > p.warmup;
    const active = warm && n > this.relearnUntil;
    const g = vals.get(METRIC.gradNormG);
    if (g !== undefined && g > 0) this.gBaseline.push(g, n);

    // Blow-up: z (gradients) or ratio (losses) against the window before this point, then the point joins the window.
    let blowupNow = false;
    let critical = false;
    for (const w of this.watched) {
      const raw = vals.get(w.name);
      if (raw === undefined || !Number.isFinite(raw) || (w.isGrad && raw <= 0)) continue;
      const x = w.isGrad ? Math.log10(raw) : raw;
      w.last = raw;
      w.baseline?.push(x, n);
      if (active && w.ring.size >= Math.min(p.relearn, p.window)) {
        if (n - w.refreshedAt >= p.evalEvery) {
          // Losses need only the median (ratio test); the MAD is a second selection, the dominant cost here.
          if (w.isGrad) {
            const mm = ringMedianMad(w.ring, this.scratch);
            w.median = mm.median;
            w.mad = mm.mad;
            const base = w.baseline;
            const high =
              p.gradLevelWarn > 0 &&
              base !== null &&
              base.frozen &&
              w.median - base.median >= Math.log10(p.gradLevelWarn);
            w.levelRun = high ? w.levelRun + 1 : 0;
          } else {
            w.median = medianInPlace(this.scratch, w.ring.copyTo(this.scratch));
          }
          w.refreshedAt = n;
        }
        if (w.isGrad) {
          const z = robustZ(x, w.median, w.mad);
          w.lastScore = z;
          w.run = z > p.zEnter ? w.run + 1 : 0;
          if (z >= p.zExit || w.levelRun > 0) this.lastBad = n;
          const net = w.name.slice(METRIC_PREFIX.gradNorm.length);
          if (w.run >= p.consecutive) {
            blowupNow = critical = true;
            this.blowupCause = `gradient norm ‖∇${net}‖ = ${fmt(raw)} is ${fmt(z)} robust σ above its rolling median ${fmt(Math.pow(10, w.median))} (log10) for ${w.run} steps`;
          } else if (w.levelRun >= p.consecutive && !critical) {
            blowupNow = true;
            this.blowupCause = `gradient norm ‖∇${net}‖ runs at a median of ${fmt(Math.pow(10, w.median))} over the last ${p.window} steps, ${fmt(Math.pow(10, w.median - (w.baseline as FrozenBaseline).median))}× its baseline median ${fmt(Math.pow(10, (w.baseline as FrozenBaseline).median))} (≥ ${fmt(p.gradLevelWarn)}×)`;
          }
        } else {
          const ratio = raw / Math.max(w.median, 1e-12);
          w.lastScore = ratio;
          w.run = ratio > p.lossRatio ? w.run + 1 : 0;
          if (ratio >= p.lossExitRatio) this.lastBad = n;
          if (w.run >= p.consecutive) {
            blowupNow = critical = true;
            this.blowupCause = `${w.name} = ${fmt(raw)} is ${fmt(ratio)}× its rolling median ${fmt(w.median)} for ${w.run} steps`;
          }
        }
      }
      w.ring.push(x);
    }
    if (blowupNow) this.blowupSeverity = critical ? 'critical' : 'warn';

    // Slow divergence: CUSUM on ln(L1), confirmed by the trend of block means.
    const l1 = vals.get(METRIC.lossL1);
    if (l1 !== undefined && Number.isFinite(l1) && l1 > 0) {
      const y = Math.log(l1);
      const alarm = this.cusum.push(y, point.step);
      if (alarm && alarm.direction === 'up' && active) {
        this.slowAlarmAt = n;
        this.slowAlarmStep = alarm.step;
      }
      this.blocks.push(y);
    }

    const evals: Evaluation[] = [];
    const due = n % p.evalEvery === 0;
    if (nonfinite || due) evals.push(this.nonfiniteEval(n, point.step, nonfinite !== null));
    if (active && ((blowupNow && !this.blowupWas) || due)) evals.push(this.blowupEval(n, point.step, blowupNow));
    this.blowupWas = blowupNow;
    if (active && due) evals.push(this.slowEval(n, point.step));
    return evals.length > 0 ? { evaluations: evals } : null;
  }

  private remedy(step: number, why: string): { text: string; action: ControlCommand } {
    const p99 = this.gBaseline.frozen && Number.isFinite(this.gBaseline.p99) && this.gBaseline.p99 > 0;
    const clip = p99
      ? ` and enable gradient clipping at the baseline p99 of ‖∇G‖ (max_norm ≈ ${fmt(this.gBaseline.p99)})`
      : '';
    return {
      text:
        `Training diverged at step ${step} (${why}). Restore the last checkpoint from before step ${step}, ` +
        `multiply every lr by 0.5${clip}, and continue from there (Apply does this as one rollback: the run ` +
        `continues as a child run forked at the checkpoint's step). Repeat ×0.5 at most twice, then stop.`,
      action: rollback(p99 ? Math.min(this.gBaseline.p99, 1e9) : null),
    };
  }

  private nonfiniteEval(n: number, step: number, now: boolean): Evaluation {
    const clean = n - this.lastNonfinite;
    const names = this.nonfiniteNames;
    const what = names.slice(0, 3).join(', ') + (names.length > 3 ? ` (and ${names.length - 3} more)` : '');
    const message = now
      ? `Non-finite values at step ${step}: ${what}`
      : `All step metrics finite for ${Math.min(clean, n)} steps`;
    return evaluation(
      'nonfinite',
      now,
      clean >= this.p.exitPoints,
      'critical',
      message,
      { nonfinite: now ? names.join(', ') : null, finite_steps: Math.min(clean, n) },
      now ? this.remedy(step, 'non-finite values') : null,
    );
  }

  private blowupEval(n: number, step: number, now: boolean): Evaluation {
    const evidence: Evaluation['evidence'] = { clean_steps: num(Math.min(n - this.lastBad, n)) };
    for (const w of this.watched) {
      if (!Number.isFinite(w.last)) continue;
      evidence[w.name] = num(w.last);
      evidence[w.scoreKey] = num(w.lastScore);
      if (w.baseline?.frozen && Number.isFinite(w.median))
        evidence[`${w.name}:level`] = num(Math.pow(10, w.median - w.baseline.median));
    }
    const severity = now ? this.blowupSeverity : 'critical';
    return evaluation(
      'blowup',
      now,
      n - this.lastBad >= this.p.exitPoints,
      severity,
      now
        ? `Blow-up at step ${step}: ${this.blowupCause}`
        : `No blow-up: gradient z and loss ratios back to normal for ${Math.min(n - this.lastBad, n)} steps`,
      evidence,
      now ? this.remedy(step, this.blowupCause) : null,
    );
  }

  private slowEval(n: number, step: number): Evaluation {
    const p = this.p;
    const full = this.blocks.blocks.full;
    const z = full ? ringMannKendallZ(this.blocks.blocks, this.mkScratch) : 0;
    const latched = n - this.slowAlarmAt <= p.slowLatch;
    const enter = full && latched && z > p.mkZ;
    const span = p.blocks * p.blockSize;
    const why = `ln(loss/L1) rose: CUSUM alarm at step ${this.slowAlarmStep}, Mann-Kendall Z = ${fmt(z)} > ${fmt(p.mkZ)} over the last ${span} steps`;
    return evaluation(
      'slow',
      enter,
      full && z < p.mkExitZ,
      'critical',
      enter ? `Slow divergence at step ${step}: ${why}` : `No upward trend in loss/L1 (Mann-Kendall Z = ${fmt(z)})`,
      {
        mann_kendall_z: num(z),
        cusum_alarm_step: latched ? this.slowAlarmStep : null,
        block_size: p.blockSize,
        blocks: this.blocks.blocks.size,
      },
      enter ? this.remedy(step, 'slow divergence of loss/L1') : null,
    );
  }
}

export const divergence: DetectorFactory = {
  rule: RULE,
  description:
    'Divergence: non-finite metrics (at once), gradient-norm or loss blow-up (robust z > 6 or 10× the rolling median for 3 steps; ' +
    'WARN when a gradient norm runs at 10× its baseline level), ' +
    'or slow divergence of loss/L1 (CUSUM + Mann-Kendall). Remedy: pause, restore a checkpoint, halve the lrs, clip.',
  defaults: DEFAULTS,
  create: (env) => new DivergenceDetector(env),
};
