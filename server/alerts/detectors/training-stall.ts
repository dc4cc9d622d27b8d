// Rule `training_stall` (docs/detectors.md §6), one alert (key ''), evaluated at each completed block of 50 points
// over the last 1500 points (30 block means) of loss/L1 and loss/z_L1 (those the run pushes).
// S1 plateau: I = (median(first 6 blocks) − median(last 6))/median(first 6) < 0.01 and |Mann-Kendall Z| < 1.64, for
// every series. S2 on ‖∇G‖ over the same 1500 points: spiky when p99/median > 10 or ≥ 3 points have robust z > 6
// (log10, against the window's median/MAD); vanishing when its median < 0.1× the baseline median (B = the 1000
// points after W0). S1 + vanishing → WARN "stall with vanishing gradients" (no clipping remedy: see d_overpowering);
// S1 + spiky → WARN "stall" with gradient clipping at the baseline p90 of ‖∇G‖; S1 alone → INFO "plateau" (left to early
// stopping), unless the run never learned: S1 and every series' last 6 blocks less than 5% below its first 6 blocks of
// the run (steps 1–300, for a run that starts at step ≤ blockSize) → WARN "no learning since the start". Measured
// (bench/alerts-real.ts): with G and E frozen the block medians of loss/L1 stay within ±2.5% of the start; a healthy
// demo run's L1 falls by a third within its first 1000 steps (its z_L1 stays flat). Exit: I ≥ 0.02 for a series.
// Gates: after W0; skipped (no evaluation) while lr/G < 0.5·lr0 (lr0 = the largest lr/G seen) and while the window
// holds an lr/G change (linear decay, a remedy), because plateaus are expected then.
// The window is 1500 points, not detectors.md's 3000: with the 1000-point warm-up a 3000-point window could not judge
// before step 3000, past the demo's first 10 minutes (2304 steps); on the demo's real runs a 1500-point window gives no
// warn (bench/alerts-real.ts), and a plain plateau is INFO either way.
import { METRIC, type ControlCommand, type KnownMetric } from '../../../protocol/index.js';
import { BlockMeans, MODIFIED_Z, madFloor, medianInPlace, quantileInPlace, Ring, ringMannKendallZ } from '../stats.js';
import type {
  Detector,
  DetectorEnv,
  DetectorFactory,
  DetectorOutput,
  RuleSettings,
  Severity,
  StepValues,
} from '../types.js';
import { evaluation, finite, fmt, FrozenBaseline, num, paramsOf, RELEARN_POINTS } from './common.js';

const RULE = 'training_stall';

const DEFAULTS = {
  enabled: true,
  for: 1,
  clear: 1,
  cooldown: 2000,
  params: {
    warmup: 1000,
    blockSize: 50,
    blocks: 30,
    edgeBlocks: 6,
    plateauRel: 0.01,
    /** Improvement since the run's first blocks below which it never learned (block-median noise ±2.5%). */
    learnedRel: 0.05,
    mkZ: 1.64,
    exitRel: 0.02,
    spikeRatio: 10,
    spikeZ: 6,
    spikeCount: 3,
    vanish: 0.1,
    lrGate: 0.5,
    baselinePoints: 1000,
    relearn: RELEARN_POINTS,
  },
} satisfies RuleSettings;

/** The rule's parameters, by name. */
type Params = (typeof DEFAULTS)['params'];

const SERIES = [METRIC.lossL1, METRIC.lossZL1] as const;

interface Series {
  name: KnownMetric;
  blocks: BlockMeans;
  seen: boolean;
  /** The run's first `edgeBlocks` block means (the level it started from), when it started from scratch. */
  start: number[];
}

class StallDetector implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  private readonly series: Series[];
  private readonly logGrads: Ring;
  private readonly gScratch: Float64Array;
  private readonly bScratch: Float64Array;
  private readonly edge: Float64Array;
  private readonly gBaseline: FrozenBaseline;
  private readonly window: number;
  private n = 0;
  private relearnUntil = 0;
  private lr0 = 0;
  private lr = Number.NaN;
  private lrChangedAt = -Infinity;
  /** The run's first step is at most one block in: its start level is the untrained networks' (not a resumed fork's). */
  private fromScratch: boolean | null = null;

  constructor(env: DetectorEnv) {
    const p = (this.p = paramsOf(env, DEFAULTS));
    this.window = p.blocks * p.blockSize;
    this.series = SERIES.map((name) => ({
      name,
      blocks: new BlockMeans(p.blockSize, p.blocks),
      seen: false,
      start: [],
    }));
    this.logGrads = new Ring(this.window);
    this.gScratch = new Float64Array(this.window);
    this.bScratch = new Float64Array(p.blocks);
    this.edge = new Float64Array(p.edgeBlocks);
    this.gBaseline = new FrozenBaseline(p.baselinePoints, p.warmup);
  }

  rebaseline(_step: number): void {
    for (const s of this.series) s.blocks.clear();
    this.logGrads.clear();
    this.relearnUntil = this.n + this.p.relearn;
    this.gBaseline.restart();
  }

  observe(point: StepValues): DetectorOutput | null {
    const p = this.p;
    const lr = finite(point, METRIC.lrG);
    if (lr !== undefined) {
      if (Number.isFinite(this.lr) && lr !== this.lr) this.lrChangedAt = this.n;
      this.lr = lr;
      this.lr0 = Math.max(this.lr0, lr);
    }
    // The block clock is loss/L1, or loss/z_L1 when the run pushes no L1.
    let completedL1 = false;
    let completedZ = false;
    let any = false;
    const relearning = this.n < this.relearnUntil;
    this.fromScratch ??= point.step <= p.blockSize;
    for (const s of this.series) {
      const v = finite(point, s.name);
      if (v === undefined) continue;
      any = s.seen = true;
      const mean = relearning ? null : s.blocks.push(v);
      if (mean !== null) {
        if (s.start.length < p.edgeBlocks) s.start.push(mean);
        if (s.name === METRIC.lossL1) completedL1 = true;
        else completedZ = true;
      }
    }
    if (!any) return null;
    const n = ++this.n;
    const g = finite(point, METRIC.gradNormG);
    if (g !== undefined && g > 0) {
      this.gBaseline.push(g, n);
      if (!relearning) this.logGrads.push(Math.log10(g));
    }
    const completed = this.series[0]?.seen === true ? completedL1 : completedZ;
    if (!completed || n <= p.warmup) return null;
    // Gates: lr decaying or changed within the window.
    if (Number.isFinite(this.lr) && (this.lr < p.lrGate * this.lr0 || n - this.lrChangedAt <= this.window)) return null;
    const present = this.series.filter((s) => s.seen);
    if (present.some((s) => !s.blocks.blocks.full)) return null;

    let plateau = true;
    let improving = false;
    let neverLearned = this.fromScratch === true;
    const evidence: Record<string, number | string | boolean | null> = {};
    for (const s of present) {
      const { I, Z, sinceStart } = this.trend(s);
      evidence[`${s.name}:improvement`] = num(I);
      evidence[`${s.name}:mann_kendall_z`] = num(Z);
      evidence[`${s.name}:improvement_since_start`] = num(sinceStart);
      if (!(I < p.plateauRel && Math.abs(Z) < p.mkZ)) plateau = false;
      if (I >= p.exitRel) improving = true;
      if (!(sinceStart < p.learnedRel)) neverLearned = false;
    }

    let severity: Severity = 'info';
    let message = `No plateau: ${present.map((s) => s.name).join(' and ')} still moving`;
    let remedy: { text: string; action: ControlCommand | null } | null = null;
    if (plateau) {
      const s2 = this.gradients();
      Object.assign(evidence, {
        grad_G_median: num(s2.median),
        grad_G_p99_over_median: num(s2.ratio),
        grad_G_spikes: s2.spikes,
        grad_G_baseline_median: num(this.gBaseline.median),
        grad_G_baseline_p90: num(this.gBaseline.p90),
      });
      const span = `${this.window} steps`;
      if (s2.vanishing) {
        severity = 'warn';
        message = `Stall with vanishing gradients: no improvement in ${span}, median ‖∇G‖ ${fmt(s2.median)} < ${fmt(p.vanish)}× baseline ${fmt(this.gBaseline.median)}`;
        remedy = {
          text: 'No improvement and G receives almost no gradient: clipping will not help. Check discriminator overpowering (d_overpowering): lower lr_D.',
          action: null,
        };
      } else if (neverLearned) {
        severity = 'warn';
        message = `No learning since the start: ${present.map((s) => s.name).join(' and ')} no better than in the run's first ${p.edgeBlocks * p.blockSize} steps`;
        remedy = {
          text:
            'The generator has not learned since the start: check that lr/G and lr/E are not 0 or far too small, that its ' +
            'weights are not frozen, and whether the discriminator overpowers it (d_overpowering).',
          action: null,
        };
      } else if (s2.spiky) {
        severity = 'warn';
        const maxNorm = Number.isFinite(this.gBaseline.p90) ? this.gBaseline.p90 : s2.p90;
        message = `Stall: no improvement in ${span} with gradient spikes (p99/median ‖∇G‖ ${fmt(s2.ratio)}, ${s2.spikes} points with z > ${fmt(p.spikeZ)})`;
        remedy = {
          text:
            `No improvement in ${span} with gradient spikes: enable gradient clipping on G and E at max_norm = ${fmt(maxNorm)} ` +
            '(the baseline p90 of ‖∇G‖, about 10% of steps clipped); lower it to p75 if spikes persist.',
          action: { action: 'set_clip', args: { max_norm: Number(maxNorm.toPrecision(4)) } },
        };
      } else {
        message = `Plateau: no improvement in ${span} (gradients smooth; early stopping decides)`;
        remedy = {
          text: 'Loss plateau with healthy gradients: nothing to apply; early stopping on the validation metric decides when to stop.',
          action: null,
        };
      }
      evidence.label =
        severity === 'info'
          ? 'plateau'
          : s2.vanishing
            ? 'stall with vanishing gradients'
            : neverLearned
              ? 'no learning since the start'
              : 'stall';
    }
    return { evaluations: [evaluation('', plateau, improving, severity, message, evidence, remedy)] };
  }

  /**
   * Relative improvement I (first `edgeBlocks` blocks vs the last) and Mann-Kendall Z over the window; sinceStart: the
   * last blocks against the run's first (NaN until they are known).
   */
  private trend(s: Series): { I: number; Z: number; sinceStart: number } {
    const k = this.p.edgeBlocks;
    const ring = s.blocks.blocks;
    const m = ring.size;
    for (let i = 0; i < k; i++) this.edge[i] = ring.get(i);
    const first = medianInPlace(this.edge, k);
    for (let i = 0; i < k; i++) this.edge[i] = ring.get(m - k + i);
    const last = medianInPlace(this.edge, k);
    const I = (first - last) / Math.max(Math.abs(first), 1e-12);
    const Z = ringMannKendallZ(ring, this.bScratch);
    let sinceStart = Number.NaN;
    if (s.start.length === k) {
      for (let i = 0; i < k; i++) this.edge[i] = s.start[i] as number;
      const start = medianInPlace(this.edge, k);
      sinceStart = (start - last) / Math.max(Math.abs(start), 1e-12);
    }
    return { I, Z, sinceStart };
  }

  /** S2 on the window's log10 ‖∇G‖ (quantiles of the logs are the logs of the quantiles). */
  private gradients(): {
    median: number;
    p90: number;
    ratio: number;
    spikes: number;
    spiky: boolean;
    vanishing: boolean;
  } {
    const p = this.p;
    const a = this.gScratch;
    const m = this.logGrads.copyTo(a);
    if (m === 0)
      return { median: Number.NaN, p90: Number.NaN, ratio: Number.NaN, spikes: 0, spiky: false, vanishing: false };
    const lp99 = quantileInPlace(a, m, 0.99);
    const lp90 = quantileInPlace(a, m, 0.9);
    const lmed = quantileInPlace(a, m, 0.5);
    for (let i = 0; i < m; i++) a[i] = Math.abs((a[i] as number) - lmed);
    const lmad = medianInPlace(a, m);
    const cut = lmed + (p.spikeZ * madFloor(lmad, lmed)) / MODIFIED_Z;
    let spikes = 0;
    for (let i = 0; i < m; i++) if (this.logGrads.get(i) > cut) spikes++;
    const median = Math.pow(10, lmed);
    const ratio = Math.pow(10, lp99 - lmed);
    const spiky = ratio > p.spikeRatio || spikes >= p.spikeCount;
    const vanishing = this.gBaseline.frozen && median < p.vanish * this.gBaseline.median;
    return { median, p90: Math.pow(10, lp90), ratio, spikes, spiky, vanishing };
  }
}

export const trainingStall: DetectorFactory = {
  rule: RULE,
  description:
    'Training stall: loss/L1 and loss/z_L1 flat over 1500 steps; WARN with gradient spikes (remedy: gradient clipping at the ' +
    'baseline p90 of ‖∇G‖), vanishing gradients, or no improvement since the run started; INFO "plateau" otherwise. ' +
    'Skipped while the lr decays.',
  defaults: DEFAULTS,
  create: (env) => new StallDetector(env),
};
