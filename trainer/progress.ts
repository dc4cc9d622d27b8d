// What the trainer prints while it runs: a one-line progress bar redrawn in place on a terminal, plain lines every
// few seconds otherwise (logs, CI), messages that never garble the bar, and the final summary.
import { METRIC, type KnownMetric } from '../protocol/metric-names.js';

export interface StepReport {
  epoch: number;
  epochs: number;
  /** Batches done in this epoch, and its length. */
  batch: number;
  batches: number;
  step: number;
  imagesPerSec: number;
  metrics: Partial<Record<KnownMetric, number>>;
  paused?: boolean;
}

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Redraw in place (default: the stream is a TTY). */
  tty?: boolean;
  /** Plain mode: at most one line per this many ms (default 10 s). */
  plainIntervalMs?: number;
}

/** The metrics the bar shows, with short labels. */
const KEY_METRICS: readonly [KnownMetric, string][] = [
  [METRIC.lossD, 'D'],
  [METRIC.lossGGan, 'G_GAN'],
  [METRIC.cycError, 'cyc'],
  [METRIC.latentMse, 'lat'],
];

export function formatNumber(v: number | undefined): string {
  if (v === undefined) return '-';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e5) return String(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : a >= 10 ? 2 : 3);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function bar(done: number, total: number, width: number): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export class Progress {
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  readonly tty: boolean;
  private readonly plainInterval: number;
  private lastDraw = 0;
  private lastPlain = 0;
  private shown = false;
  private last: StepReport | null = null;
  /** Images/s smoothed over recent steps (one step's rate jumps with the machine's load). */
  private rate: number | null = null;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stdout;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.plainInterval = opts.plainIntervalMs ?? 10_000;
  }

  /** One step done: redraws the bar (at most ~8 times a second) or prints a plain line every interval. */
  step(report: StepReport): void {
    const x = report.imagesPerSec;
    this.rate = this.rate === null || !Number.isFinite(this.rate) ? x : 0.8 * this.rate + 0.2 * x;
    const r = { ...report, imagesPerSec: this.rate };
    this.last = r;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 120 && r.batch < r.batches) return;
      this.lastDraw = now;
      this.draw(this.line(r, true));
    } else if (this.lastPlain === 0 || now - this.lastPlain >= this.plainInterval) {
      this.lastPlain = now;
      this.stream.write(`${this.line(r, false)}\n`);
    }
  }

  /** Prints a message line (the bar is cleared first and redrawn after). */
  log(message: string): void {
    if (this.tty && this.shown) this.stream.write('\r\x1b[2K');
    this.stream.write(`${message}\n`);
    this.shown = false;
    if (this.tty && this.last) this.draw(this.line(this.last, true));
  }

  /** Shows a paused state in place of the rate. */
  paused(isPaused: boolean): void {
    if (this.last) this.last = { ...this.last, paused: isPaused };
    if (this.tty && this.last) this.draw(this.line(this.last, true));
  }

  /** Clears the bar for good (before the summary). */
  done(): void {
    if (this.tty && this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
    this.last = null;
  }

  private draw(text: string): void {
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${text.length > cols - 1 ? text.slice(0, cols - 1) : text}`);
    this.shown = true;
  }

  private line(r: StepReport, withBar: boolean): string {
    const metrics = KEY_METRICS.map(([key, label]) => `${label} ${formatNumber(r.metrics[key])}`).join('  ');
    const rate = r.paused ? 'PAUSED' : `${r.imagesPerSec.toFixed(1)} img/s`;
    const where = `epoch ${r.epoch}/${r.epochs} ${withBar ? `${bar(r.batch, r.batches, 16)} ` : ''}${r.batch}/${r.batches}`;
    return `${where}  step ${r.step}  ${rate}  ${metrics}`;
  }
}

export interface TrainingSummary {
  steps: number;
  /** Steps taken by this process (fewer than `steps` after a resume). */
  stepsThisRun: number;
  epochs: number;
  elapsedMs: number;
  reason: string;
  best: { metric: string; value: number; epoch: number; step: number } | null;
  checkpointDir: string | null;
  bestCheckpoint: string | null;
  dashboardUrl: string | null;
  spoolNote: string | null;
}

/** The final summary: steps, time, best validation metric, checkpoints, dashboard. */
export function formatSummary(s: TrainingSummary): string {
  const lines = [
    `training ${s.reason}`,
    `  steps        ${s.steps}${s.stepsThisRun !== s.steps ? ` (${s.stepsThisRun} in this run)` : ''}, ${s.epochs} epoch${s.epochs === 1 ? '' : 's'}`,
    `  time         ${formatDuration(s.elapsedMs)}${s.stepsThisRun > 0 ? ` (${formatNumber(s.elapsedMs / s.stepsThisRun / 1000)} s/step overall)` : ''}`,
    `  best         ${s.best ? `${s.best.metric} ${formatNumber(s.best.value)} at epoch ${s.best.epoch} (step ${s.best.step})` : 'no validation yet'}`,
    `  checkpoints  ${s.checkpointDir ?? 'none'}${s.bestCheckpoint ? ` (best: ${s.bestCheckpoint})` : ''}`,
  ];
  if (s.dashboardUrl) lines.push(`  dashboard    ${s.dashboardUrl}`);
  if (s.spoolNote) lines.push(`  ${s.spoolNote}`);
  return lines.join('\n');
}
