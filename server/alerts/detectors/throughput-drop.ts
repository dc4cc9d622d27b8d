// Throughput drop: the trainer's `perf/images_per_s` fell below half its own median (another job took the GPU, the
// data loader starves, the machine swaps or throttles). Not a GAN failure, and nothing to apply: the alert says where
// to look. The baseline is the median of the last `window` values seen while the rule was not entering, so a lasting
// drop does not become the new normal and resolve itself; the current level is the median of the last `recent`
// values, so one slow step (a validation, a checkpoint) is not a drop.
import { METRIC } from '../../../protocol/index.js';
import { medianInPlace, Ring } from '../stats.js';
import type { Detector, DetectorEnv, DetectorFactory, DetectorOutput, RuleSettings, StepValues } from '../types.js';
import { evaluation, finite, fmt, num, paramsOf } from './common.js';

const RULE = 'throughput_drop';

const DEFAULTS = {
  enabled: true,
  for: 3,
  clear: 3,
  cooldown: 0,
  params: {
    /** Values of the baseline median (the run's normal throughput). */
    window: 500,
    /** Values of the current level's median. */
    recent: 20,
    /** No evaluation before this many values (the baseline must mean something). */
    warmup: 100,
    /** Enter when the current level is below `ratio` × the baseline; exit above `exitRatio` × the baseline. */
    ratio: 0.5,
    exitRatio: 0.7,
    evalEvery: 10,
  },
} satisfies RuleSettings;

type Params = (typeof DEFAULTS)['params'];

class ThroughputDrop implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  private readonly baseline: Ring;
  private readonly current: Ring;
  private readonly scratch: Float64Array;
  private n = 0;
  private entering = false;

  constructor(env: DetectorEnv) {
    this.p = paramsOf(env, DEFAULTS);
    this.baseline = new Ring(Math.max(1, this.p.window));
    this.current = new Ring(Math.max(1, this.p.recent));
    this.scratch = new Float64Array(Math.max(this.baseline.capacity, this.current.capacity));
  }

  /** Throughput does not depend on the lr or λ a remedy changes: nothing to re-learn. */
  rebaseline(): void {}

  observe(point: StepValues): DetectorOutput | null {
    const x = finite(point, METRIC.perfImagesPerS);
    if (x === undefined) return null;
    const n = ++this.n;
    this.current.push(x);
    if (!this.entering) this.baseline.push(x);
    if (n <= this.p.warmup || n % this.p.evalEvery !== 0) return null;
    const base = this.median(this.baseline);
    const now = this.median(this.current);
    if (!(base > 0)) return null;
    const enter = now < this.p.ratio * base;
    this.entering = enter;
    return {
      evaluations: [
        evaluation(
          '',
          enter,
          now > this.p.exitRatio * base,
          'warn',
          enter
            ? `Throughput fell to ${fmt(now)} images/s, below ${fmt(this.p.ratio)} × its median ${fmt(base)}`
            : `Throughput ${fmt(now)} images/s (median ${fmt(base)})`,
          { images_per_s: num(now), median: num(base), ratio: num(now / base) },
          enter
            ? {
                text: 'Look at the machine: another process on the GPU, a starving data loader, swapping or thermal throttling.',
                action: null,
              }
            : null,
        ),
      ],
    };
  }

  private median(ring: Ring): number {
    const m = ring.copyTo(this.scratch);
    return medianInPlace(this.scratch, m);
  }
}

export const throughputDrop: DetectorFactory = {
  rule: RULE,
  description: 'Throughput (perf/images_per_s) below half its median: the machine, not the GAN, slowed down.',
  defaults: DEFAULTS,
  create: (env) => new ThroughputDrop(env),
};
