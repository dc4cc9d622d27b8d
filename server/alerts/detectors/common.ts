// Small pieces every detector uses: reading parameters, finite metric values, number formatting for messages,
// a frozen baseline of a series (median, MAD, quantiles over a fixed span of points), relearn windows after a
// re-baseline (docs/detectors.md §0), and the remedies several rules offer.
import { LAMBDA_METRIC, type ControlCommand, type KnownMetric, type LambdaName } from '../../../protocol/index.js';
import { medianMadInPlace, quantileInPlace, Ring } from '../stats.js';
import type { DetectorEnv, Evaluation, RuleParams, Severity, StepValues } from '../types.js';

/** Points of relearn time after a re-baseline (§0). */
export const RELEARN_POINTS = 300;

/**
 * The rule's params, typed by its defaults: each one the settings give, else its default. Names the rule does not
 * declare are left out (settings naming them are refused before they are stored: config.ts checkRules).
 */
export function paramsOf<P extends RuleParams>(env: DetectorEnv, defaults: { readonly params: P }): Readonly<P> {
  const params: RuleParams = { ...defaults.params };
  for (const name of Object.keys(params)) {
    const value = env.settings.params[name];
    if (value !== undefined) params[name] = value;
  }
  // Exactly P's names, each a number: the object P describes.
  return params as Readonly<P>;
}

/** A finite value of `name` in this step, else undefined. Names are protocol/metric-names.ts's, so none is misspelt. */
export function finite(point: StepValues, name: KnownMetric): number | undefined {
  const v = point.values.get(name);
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** Four significant digits, for messages. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

/** A number for an evidence record: non-finite (or missing) as null. */
export function num(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x;
}

/** Builds an evaluation; `remedy` is omitted (null) when there is nothing to suggest. */
export function evaluation(
  key: string,
  enter: boolean,
  exit: boolean,
  severity: Severity,
  message: string,
  evidence: Evaluation['evidence'],
  remedy: { text: string; action: ControlCommand | null } | null,
): Evaluation {
  return { key, enter, exit, severity, message, evidence, remedy };
}

/**
 * Median/MAD/quantiles of a series over its first `span` finite values after the warm-up W0 (the detector's point
 * `after`), then frozen: §0's baseline window B = [W0, W0+span). restart() learns it again after a re-baseline; until
 * the new one is frozen, the old numbers stay readable but `frozen` is false.
 */
export class FrozenBaseline {
  private readonly ring: Ring;
  private collecting = false;
  median = Number.NaN;
  mad = Number.NaN;
  p90 = Number.NaN;
  p99 = Number.NaN;
  frozen = false;

  constructor(
    readonly span: number,
    private readonly after: number,
  ) {
    this.ring = new Ring(span);
  }

  /** Collects a new baseline, if one had begun (before W0 there is nothing to forget). */
  restart(): void {
    if (this.collecting || this.frozen) this.start();
  }

  private start(): void {
    this.ring.clear();
    this.collecting = true;
    this.frozen = false;
  }

  /** Feeds the value at the detector's n-th point. */
  push(x: number, n: number): void {
    if (n > this.after && !this.collecting && !this.frozen) this.start();
    if (!this.collecting || !Number.isFinite(x)) return;
    this.ring.push(x);
    if (this.ring.full) this.freeze();
  }

  private freeze(): void {
    const a = new Float64Array(this.ring.size);
    const n = this.ring.copyTo(a);
    this.p90 = quantileInPlace(a, n, 0.9);
    this.p99 = quantileInPlace(a, n, 0.99);
    const mm = medianMadInPlace(a, n);
    this.median = mm.median;
    this.mad = mm.mad;
    this.frozen = true;
    this.collecting = false;
  }
}

/** The remedy "lower lr_D ×0.5" (d_overpowering, gradient_oscillation). */
export const LOWER_LR_D: ControlCommand = { action: 'scale_lr', args: { net: 'D', factor: 0.5 } };

/**
 * The remedy "scale λ_name by `factor`" (colour distortion, mode collapse): remembers the value the trainer last pushed
 * as lambda/<name>, and offers no command once that reached `cap`.
 */
export class LambdaStep {
  /** The last pushed λ; NaN before any. */
  value = Number.NaN;
  private readonly metric: KnownMetric;

  constructor(
    readonly name: LambdaName,
    readonly factor: number,
    readonly cap: number,
    /** The change in words while no λ was pushed, e.g. ' (10 → 15)' for the trainer's default. */
    private readonly defaultChange: string,
  ) {
    this.metric = LAMBDA_METRIC[name];
  }

  see(point: StepValues): void {
    const v = finite(point, this.metric);
    if (v !== undefined) this.value = v;
  }

  get capped(): boolean {
    return this.value >= this.cap;
  }

  /** The command that applies the step; null at the cap. */
  action(): ControlCommand | null {
    return this.capped ? null : { action: 'scale_lambda', args: { name: this.name, factor: this.factor } };
  }

  /** The change in words for a remedy text, e.g. ' (10 → 15)'. */
  change(): string {
    return Number.isFinite(this.value)
      ? ` (${fmt(this.value)} → ${fmt(this.value * this.factor)})`
      : this.defaultChange;
  }
}
