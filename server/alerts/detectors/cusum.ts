// The robust EWMA-residual two-sided CUSUM of docs/detectors.md §8, exactly as its pseudo-code: an EWMA level and
// scale absorb slow trends, clipped (Huberised) residuals keep single spikes from firing it, and an optional block
// size b (automatic from the warm-up's lag-1 autocorrelation φ̂: b = max(1, ⌈10·φ̂/(1−φ̂)⌉)) tames autocorrelation.
// O(1) per point after the warm-up buffer. Used by `change_point` (markers) and `divergence` (slow divergence).
import { detrendLinear, lag1Autocorr, MAD_TO_SIGMA, medianInPlace } from '../stats.js';

export interface CusumOptions {
  /** Level and scale tracking rates. */
  lambdaM: number;
  lambdaS: number;
  /** Reference value and decision interval, in σ. */
  k: number;
  h: number;
  /** Residual clip, in σ. */
  c: number;
  /** Warm-up points before the level and scale are set. */
  warm: number;
  /** Points to stay quiet after an alarm (converted to updates when b > 1). */
  hold: number;
  /** Block size: a number ≥ 1, or 0 for automatic from the warm-up φ̂. */
  block: number;
  /** Upper bound of the automatic block size. */
  bMax: number;
  /** Blocks the warm-up needs when b > 1 (the warm-up then lasts max(warm, minBlocks·b) points). */
  minBlocks: number;
  /** Known level and scale: skip the warm-up (the §8 exact test). */
  known?: { mean: number; sd: number };
}

export const CUSUM_DEFAULTS: Readonly<CusumOptions> = {
  lambdaM: 0.01,
  lambdaS: 0.01,
  k: 0.5,
  h: 8,
  c: 4,
  warm: 300,
  hold: 100,
  block: 0,
  bMax: 100,
  minBlocks: 30,
};

export type CusumDirection = 'up' | 'down' | 'nonfinite';

export interface CusumAlarm {
  direction: CusumDirection;
  /** Step of the point that raised the alarm. */
  step: number;
  /** First step of the change (the update after the last reset of the alarming sum); null for non-finite. */
  changeAt: number | null;
  /** Level and scale just before the alarm (NaN for non-finite). */
  level: number;
  scale: number;
}

/** √(π/2): E|r| = √(2/π) for a standard normal, so 1.2533·|r| estimates σ. */
const ABS_TO_SIGMA = 1.2533;

export class RobustCusum {
  readonly opts: CusumOptions;
  private b = 1;
  private warmBuf: Float64Array;
  private warmSteps: Float64Array;
  private warmN = 0;
  private warmNeed: number;
  private ready = false;
  private m = 0;
  private s = 1;
  private sp = 0;
  private sn = 0;
  private holdLeft = 0;
  private pResetPending = true;
  private nResetPending = true;
  private changeP = 0;
  private changeN = 0;
  // The block being filled.
  private blockSum = 0;
  private blockN = 0;
  private blockStart = 0;
  private wasFinite = true;

  constructor(options: Partial<CusumOptions> = {}) {
    this.opts = { ...CUSUM_DEFAULTS, ...options };
    this.warmNeed = this.opts.warm;
    this.warmBuf = new Float64Array(this.opts.warm);
    this.warmSteps = new Float64Array(this.opts.warm);
    this.reset();
  }

  /** Block size in use (known once the warm-up has seen `warm` points). */
  get blockSize(): number {
    return this.b;
  }

  /** Back to the warm-up (or to the known level and scale). */
  reset(): void {
    const { known, block } = this.opts;
    this.sp = this.sn = 0;
    this.holdLeft = 0;
    this.pResetPending = this.nResetPending = true;
    this.blockSum = this.blockN = 0;
    this.warmN = 0;
    this.wasFinite = true;
    this.b = block >= 1 ? Math.floor(block) : 1;
    this.warmNeed = Math.max(this.opts.warm, this.b > 1 ? this.opts.minBlocks * this.b : 0);
    if (known) {
      this.m = known.mean;
      this.s = known.sd;
      this.ready = true;
    } else {
      this.ready = false;
    }
  }

  /** Feeds one point; returns an alarm or null. A non-finite point is skipped; the first of a run of them alarms. */
  push(x: number, step: number): CusumAlarm | null {
    if (!Number.isFinite(x)) {
      if (!this.wasFinite) return null;
      this.wasFinite = false;
      return { direction: 'nonfinite', step, changeAt: null, level: Number.NaN, scale: Number.NaN };
    }
    this.wasFinite = true;
    if (!this.ready) {
      this.warmUp(x, step);
      return null;
    }
    if (this.b === 1) return this.update(x, step, step);
    if (this.blockN === 0) this.blockStart = step;
    this.blockSum += x;
    if (++this.blockN < this.b) return null;
    const xm = this.blockSum / this.blockN;
    this.blockSum = this.blockN = 0;
    return this.update(xm, this.blockStart, step);
  }

  private warmUp(x: number, step: number): void {
    if (this.warmN === this.warmBuf.length) {
      const grown = new Float64Array(this.warmNeed);
      grown.set(this.warmBuf);
      this.warmBuf = grown;
      const grownSteps = new Float64Array(this.warmNeed);
      grownSteps.set(this.warmSteps);
      this.warmSteps = grownSteps;
    }
    this.warmBuf[this.warmN] = x;
    this.warmSteps[this.warmN] = step;
    this.warmN++;
    if (this.warmN === this.opts.warm && this.opts.block < 1) {
      const detrended = new Float64Array(this.warmN);
      detrendLinear(this.warmBuf, this.warmN, detrended);
      const phi = Math.min(lag1Autocorr(detrended, this.warmN), 0.999);
      this.b = phi > 0 ? Math.min(this.opts.bMax, Math.max(1, Math.ceil((10 * phi) / (1 - phi)))) : 1;
      this.warmNeed = Math.max(this.opts.warm, this.b > 1 ? this.opts.minBlocks * this.b : 0);
    }
    if (this.warmN < this.warmNeed) return;
    // Level and scale from the (block means of the) buffer: median, and the trend-robust diff-MAD.
    const nb = Math.floor(this.warmN / this.b);
    const used = nb * this.b;
    const off = this.warmN - used; // drop the oldest partial block
    const series = new Float64Array(nb);
    for (let i = 0; i < nb; i++) {
      let s = 0;
      for (let j = 0; j < this.b; j++) s += this.warmBuf[off + i * this.b + j] as number;
      series[i] = s / this.b;
    }
    const diffs = new Float64Array(Math.max(0, nb - 1));
    for (let i = 1; i < nb; i++) diffs[i - 1] = Math.abs((series[i] as number) - (series[i - 1] as number));
    this.m = medianInPlace(series, nb);
    const dm = diffs.length > 0 ? medianInPlace(diffs, diffs.length) : 0;
    this.s = this.floor((MAD_TO_SIGMA * dm) / Math.SQRT2);
    this.ready = true;
    this.warmN = 0;
  }

  private floor(s: number): number {
    return Math.max(s, 1e-3 * Math.abs(this.m), 1e-12);
  }

  /** One CUSUM update on x (a point or a block mean) whose first step is `start`; `step` is its last step. */
  private update(x: number, start: number, step: number): CusumAlarm | null {
    const { c, k, h, lambdaM, lambdaS } = this.opts;
    const s = this.s;
    const r = (x - this.m) / s;
    const rc = r > c ? c : r < -c ? -c : r;
    this.m += lambdaM * rc * s;
    this.s = this.floor((1 - lambdaS) * s + lambdaS * ABS_TO_SIGMA * Math.abs(rc) * s);
    if (this.holdLeft > 0) {
      this.holdLeft--;
      return null;
    }
    if (this.pResetPending) this.changeP = start;
    if (this.nResetPending) this.changeN = start;
    this.sp = Math.max(0, this.sp + rc - k);
    this.sn = Math.max(0, this.sn - rc - k);
    this.pResetPending = this.sp === 0;
    this.nResetPending = this.sn === 0;
    if (this.sp > h || this.sn > h) {
      const up = this.sp > h;
      const alarm: CusumAlarm = {
        direction: up ? 'up' : 'down',
        step,
        changeAt: up ? this.changeP : this.changeN,
        level: this.m,
        scale: s,
      };
      this.sp = this.sn = 0;
      this.pResetPending = this.nResetPending = true;
      this.m = x;
      this.holdLeft = Math.ceil(this.opts.hold / this.b);
      return alarm;
    }
    return null;
  }
}
