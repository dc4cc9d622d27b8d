// A monitored run as a training script sees it (what connect() returns): log values, images and latent codes, take
// or handle control commands at step boundaries and answer them, and finish. Nothing here waits for the network; the
// MonitorClient underneath spools, sends, resends and fails over.
import { gwError, type Distribution, type RunStatus } from '../../protocol/index.js';
import type { MonitorClient, MonitorStats, ReceivedControl } from './client.js';
import { histogramRecord } from './distributions.js';
import { SystemSampler } from './system-metrics.js';

/** A control command from the dashboard, the API or an alert's remedy; answer it with `run.answer(id, ...)`. */
export type Control = ReceivedControl;

export interface ImageOptions {
  epoch: number;
  step: number;
  /** What the image shows; the dashboard's sample grids are 'samples' (the default). */
  kind?: string;
  /** Stored with the image, e.g. the grid's layout. */
  meta?: Record<string, unknown>;
}

export interface LatentOptions {
  /** The step the codes were computed at. */
  step?: number;
  /** Values per code: required for a flat Float32Array, taken from the rows otherwise. */
  dim?: number;
}

/** What `run.fork()` may change in the new run; the rest comes from the parent run as the server has it. */
export interface ForkOptions {
  /** Default: the parent's name and `(fork at step N)`. */
  name?: string;
  /** Default: the parent's config. */
  config?: Record<string, unknown>;
  /** Default: the parent's tags. */
  tags?: string[];
  notes?: string;
}

export interface HistogramOptions {
  /** Equal-width buckets over the values' min..max. Default 64; at most 512. */
  buckets?: number;
  /** Seconds since the Unix epoch; default now. */
  wall?: number;
}

export interface CloseOptions {
  /** How long to wait for the server to acknowledge what is still in flight (ms). Default 10 s. */
  timeoutMs?: number;
}

export class Run {
  private ending: Promise<boolean> | null = null;
  private lastStep: number | null = null;
  private readonly sampler: SystemSampler | null;

  /** `systemIntervalMs`: push system metrics (sys/*) this often; null: none. */
  constructor(
    private readonly client: MonitorClient,
    private readonly onEnd: () => void = () => {},
    systemIntervalMs: number | null = null,
    private readonly forker: ((step: number, options: ForkOptions) => Promise<Run>) | null = null,
  ) {
    this.sampler = systemIntervalMs === null ? null : new SystemSampler((v) => this.logSystem(v), systemIntervalMs);
  }

  /** The run's id on the server; null for a run recorded offline (until `npm run sync` creates it). */
  get id(): string | null {
    return this.client.runId;
  }

  /** The run's page on the dashboard of the server in use; null offline. */
  get url(): string | null {
    const id = this.client.runId;
    return id === null || this.client.isOffline ? null : `${this.client.serverUrl}/#/runs/${id}`;
  }

  /** The server address in use. */
  get server(): string {
    return this.client.serverUrl;
  }

  /** The run's folder in the spool: what `npm run sync -- --run KEY` and `connect({ resume: KEY })` take. */
  get spoolKey(): string {
    return this.client.spoolKey;
  }

  get offline(): boolean {
    return this.client.isOffline;
  }

  /**
   * Records one step's values (numbers; NaN and ±Infinity are kept). Returns at once: never waits for the network.
   * Throws GW_ERR_MONITOR_INPUT for what the server would refuse (a bad step, a metric name outside
   * [A-Za-z0-9_./-]{1,128}, a value that is not a number). `wall` defaults to now, in seconds since the epoch.
   */
  log(values: Record<string, number>, step: number, wall?: number): void {
    this.client.push(step, values, wall);
    this.lastStep = step;
  }

  /**
   * A system sample goes at the step logged last, like every point keyed by a step (a later sample at the same step
   * replaces it). Before the first step is logged there is no step to put it at, and it is dropped: at step 0 it would
   * overwrite the sample a resumed run stored there.
   */
  private logSystem(values: Record<string, number>): void {
    if (this.lastStep === null || this.ending !== null) return;
    this.client.push(this.lastStep, values);
  }

  /**
   * Records the distribution of `values` at `step` under `name` (e.g. D's outputs on real images, a layer's
   * weights) as a histogram of equal-width buckets over their min..max; NaN and ±Infinity are counted apart. Returns
   * at once; delivered like log() (spooled, acknowledged, resent). A later histogram of the same name and step
   * replaces it. Throws GW_ERR_MONITOR_INPUT for a bad name, step or bucket count.
   */
  logHistogram(name: string, values: ArrayLike<number>, step: number, { buckets, wall }: HistogramOptions = {}): void {
    this.client.pushDistribution(histogramRecord(name, values, step, buckets, wall));
  }

  /** Records a histogram already bucketed (edges one longer than counts; see protocol/histogram.ts). */
  logDistribution(record: Distribution): void {
    this.client.pushDistribution(record);
  }

  /** Queues a PNG (its bytes) for upload, e.g. a validation sample grid. */
  logImage(png: Uint8Array, { epoch, step, kind = 'samples', meta }: ImageOptions): void {
    this.client.pushMedia(epoch, step, kind, png, meta);
  }

  /**
   * Queues latent codes for the dashboard's t-SNE, PCA and UMAP plots: rows of numbers, or a flat Float32Array with
   * `dim`; `labels` (one non-negative integer per code, or null) colour the points by class.
   */
  logLatents(
    codes: number[][] | Float32Array,
    labels: ArrayLike<number> | null | undefined,
    epoch: number,
    { step, dim }: LatentOptions = {},
  ): void {
    const width = dim ?? (Array.isArray(codes) ? codes[0]?.length : undefined);
    if (width === undefined) {
      throw gwError('GW_ERR_MONITOR_INPUT', 'logLatents needs { dim } with a flat Float32Array of codes');
    }
    this.client.pushLatents(epoch, step, width, codes, labels ?? undefined);
  }

  /** Shows the run paused or running again (finish() and fail() set the final status). */
  setStatus(status: RunStatus): void {
    this.client.setStatus(status);
  }

  /**
   * Calls `handler` for each control command as it arrives. It runs on the socket's event, in the middle of whatever
   * the process is doing: note the command and apply it at the next step boundary, then answer(). While a handler is
   * registered, takeControls() gets nothing. Returns a function that unregisters the handler.
   */
  onControl(handler: (control: Control) => void): () => void {
    return this.client.onControl(handler);
  }

  /** The commands received since the last call, oldest first: call it at each step boundary. */
  takeControls(): Control[] {
    return this.client.takeControls();
  }

  /**
   * Answers control `id`: applied (`ok`) from `step` on, with a message for the dashboard, or refused with the reason
   * in `message`. Sent at once, or as soon as the connection is back.
   */
  answer(id: number, ok: boolean, step?: number, message?: string): void {
    this.client.controlResult(id, ok, step, message);
  }

  /**
   * Creates a child run forked from this one after `step` (the step of the checkpoint the training restarts from):
   * same server, spool folder and options; name, config and tags from this run unless given. The child records its
   * parent and fork step (`parent_id`, `fork_step`), so the dashboard shows the lineage and draws this run's curves up
   * to `step` in the child's charts. This run stays open: finish() it when training has moved to the child. Rejects
   * with GW_ERR_OPTION offline, GW_ERR_MONITOR_INPUT for a bad step, GW_ERR_SERVER when no server answers.
   */
  fork(step: number, options: ForkOptions = {}): Promise<Run> {
    if (!Number.isSafeInteger(step) || step < 0) {
      return Promise.reject(gwError('GW_ERR_MONITOR_INPUT', `fork step must be an integer >= 0, got ${String(step)}`));
    }
    if (this.forker === null) return Promise.reject(gwError('GW_ERR_OPTION', 'this run was not opened by connect()'));
    return this.forker(step, options);
  }

  /** Waits until the server has stored everything logged so far; false after `timeoutMs` (default 30 s). */
  flush(timeoutMs?: number): Promise<boolean> {
    return this.client.flush(timeoutMs);
  }

  /** Points to other servers (one address, a comma-separated list or an array); the unacknowledged is resent there. */
  setServer(servers: string | readonly string[]): void {
    this.client.setServer(servers);
  }

  /**
   * Marks the run finished, waits for the server to store everything (up to `timeoutMs`) and closes. Resolves true
   * when everything was stored; otherwise the rest stays in the spool for the next connect({ resume }) or
   * `npm run sync`.
   */
  finish(opts: CloseOptions = {}): Promise<boolean> {
    return this.end('finished', opts);
  }

  /** As finish(), with the run marked failed. */
  fail(opts: CloseOptions = {}): Promise<boolean> {
    return this.end('failed', opts);
  }

  /** Closes without a final status: the run shows `disconnected` until it is resumed. */
  close(opts: CloseOptions = {}): Promise<boolean> {
    return this.end(null, opts);
  }

  stats(): MonitorStats {
    return this.client.stats();
  }

  private end(status: 'finished' | 'failed' | null, opts: CloseOptions): Promise<boolean> {
    if (this.ending === null) {
      this.sampler?.stop();
      if (status !== null) this.client.setStatus(status);
      this.onEnd();
      this.ending = this.client.close(opts);
    }
    return this.ending;
  }
}
