// The monitor client: pushes metric points, status changes, sample images and latent codes to a ganwatch server and
// receives control commands, without ever making training wait for the network. Every batch goes to the on-disk spool
// before it is sent and stays there until the server acknowledges it (acks come after the commit); on every new
// connection, to the same server or the next of several, every unacknowledged batch is resent in seq order. The
// server upserts by (run, metric, step), so this at-least-once delivery stores everything exactly once.
// This module wires the parts together: the socket (connection.ts), what awaits an ack (acks.ts), the point buffer
// and distribution buffers (points.ts, distributions.ts), uploads (uploads.ts), controls (controls.ts) and the spool (spool.ts, through spool-guard.ts).
import os from 'node:os';
import {
  MAX_POINTS_PER_BATCH,
  RUN_STATUSES,
  gwError,
  type CreateRunBody,
  type Distribution,
  type GanwatchError,
  type IngestServerFrame,
  type RunStatus,
} from '../../protocol/index.js';
import { Outbox } from './acks.js';
import { Sleeper } from './backoff.js';
import { Connection, DEFAULT_FAILOVER_MS } from './connection.js';
import { Controls, type ReceivedControl } from './controls.js';
import { DistributionBuffer, encodeDistribution } from './distributions.js';
import { createRemoteRun, fetchRemoteRun, onFirstAnswering, serverError } from './http.js';
import { PointBuffer } from './points.js';
import { Reporter } from './report.js';
import { ServerList, parseServers } from './servers.js';
import { SpoolGuard } from './spool-guard.js';
import { Spool } from './spool.js';
import { Uploader, latentsUpload, mediaUpload, type PreparedUpload } from './uploads.js';

export interface MonitorOptions {
  /**
   * Base URL of the server, e.g. http://127.0.0.1:8080, or several (an array, or separated by commas) of servers
   * sharing one store: the client fails over to the next when the one in use is gone.
   */
  server: string | readonly string[];
  /** Sent as `Authorization: Bearer TOKEN` on every request and on the ingest socket. */
  token?: string;
  /** Resume this run: a server run id, or the folder name of a run in the spool. */
  run?: string;
  /** Create a new run with this body (ignored when `run` is given). */
  create?: CreateRunBody;
  /** Folder holding one spool folder per run. */
  spoolDir: string;
  /** No network at all: everything goes to the spool for a later `npm run sync`. */
  offline?: boolean;
  /** How often the point buffer becomes a batch (ms). Default 200. */
  flushIntervalMs?: number;
  /** A batch is cut as soon as the buffer holds this many points. Default 2,000; at most 10,000. */
  maxBatchPoints?: number;
  /** Unacknowledged frame text kept in memory; beyond it frames are re-read from the spool. Default 64 MiB. */
  memoryCapBytes?: number;
  /** The spool log is compacted once it is this large and nothing is pending. Default 4 MiB. */
  compactBytes?: number;
  /** With several servers: how long the one in use may stay unreachable before the next is tried (ms). Default 3 s. */
  failoverMs?: number;
  /** Called on every problem the client meets and survives (network, rejected batches, disk, a failover). */
  onError?: (error: GanwatchError) => void;
}

export type { ReceivedControl };

export interface MonitorStats {
  /** Points given to push(). */
  pushed: number;
  /** Points acknowledged (stored) by the server. */
  acked: number;
  /** Points the server rejected for good (reported through onError). */
  rejected: number;
  /** Points waiting in the buffer for the next batch. */
  bufferedPoints: number;
  /** Point and status frames sent or queued but not acknowledged. */
  unackedBatches: number;
  /** Media and latent uploads not yet stored. */
  pendingUploads: number;
  /** Size of the spool log, in bytes. */
  spoolBytes: number;
  connected: boolean;
  /** The server address in use. */
  server: string;
  /** Ingest sockets opened after the first one. */
  reconnects: number;
  /** Moves to the next server address after the one in use stayed unreachable. */
  failovers: number;
  /** `CODE: message` of the last problem, or null. */
  lastError: string | null;
}

const DEFAULT_FLUSH_MS = 200;
// Keeps the rare cut inside push() (a tight loop that outruns the timer) to a few milliseconds.
const DEFAULT_MAX_BATCH_POINTS = 2_000;
const DEFAULT_MEMORY_CAP = 64 * 1024 * 1024;
const DEFAULT_COMPACT_BYTES = 4 * 1024 * 1024;

function localRunKey(): string {
  const random = Math.floor(Math.random() * 36 ** 8)
    .toString(36)
    .padStart(8, '0');
  return `local${Date.now().toString(36)}${random}`;
}

/** The spool folder of the run `opts` asks for: found, or made after the server confirmed or created the run. */
async function openSpool(opts: MonitorOptions, servers: ServerList): Promise<Spool> {
  if (!opts.spoolDir) throw gwError('GW_ERR_OPTION', 'spoolDir is required');
  const createdAt = Date.now() / 1000;
  if (opts.run) {
    const id = opts.run;
    const key = Spool.find(opts.spoolDir, id);
    if (key !== null) return Spool.open(opts.spoolDir, key);
    if (!opts.offline) {
      const { server } = await onFirstAnswering(servers.all, (s) => fetchRemoteRun(s, opts.token, id));
      servers.use(server);
    }
    return Spool.create(opts.spoolDir, { key: id, server: id, create: null, createdAt });
  }
  if (!opts.create) {
    throw gwError('GW_ERR_OPTION', 'MonitorClient.open needs `create` (a new run) or `run` (resume a run)');
  }
  const body: CreateRunBody = { host: os.hostname().slice(0, 200), ...opts.create };
  if (opts.offline) return Spool.create(opts.spoolDir, { key: localRunKey(), server: null, create: body, createdAt });
  const { server, value: run } = await onFirstAnswering(servers.all, (s) => createRemoteRun(s, opts.token, body));
  servers.use(server);
  return Spool.create(opts.spoolDir, { key: run.id, server: run.id, create: body, createdAt });
}

export class MonitorClient {
  private readonly servers: ServerList;
  private readonly token: string | undefined;
  private readonly offline: boolean;
  private readonly compactBytes: number;
  private readonly reporter: Reporter;
  private readonly sleeper = new Sleeper();
  private readonly spool: SpoolGuard;
  private readonly points: PointBuffer;
  private readonly distributions = new DistributionBuffer();
  private readonly connection: Connection;
  private readonly outbox: Outbox;
  private readonly controls: Controls;
  private readonly uploader: Uploader;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly exitHook: () => void;
  private readonly waiters = new Set<() => void>();
  private closePromise: Promise<boolean> | null = null;
  private closed = false;
  private pushed = 0;

  /**
   * Opens a monitored run.
   * - `create`: POSTs the run to the first server that answers (fails with GW_ERR_SERVER if none is reachable, or
   *   one refuses); offline: makes a local run (folder `local…`) that `npm run sync` creates on the server later.
   * - `run`: resumes. If the spool already holds the run, no network is needed at open (the client connects in the
   *   background); otherwise the run is checked with GET and open fails with GW_ERR_SERVER (unreachable) or
   *   GW_ERR_RUN_NOT_FOUND. Unsettled items found in the spool are resent.
   */
  static async open(opts: MonitorOptions): Promise<MonitorClient> {
    const servers = new ServerList(parseServers(opts.server));
    const spool = await openSpool(opts, servers);
    return new MonitorClient(opts, servers, spool);
  }

  private constructor(opts: MonitorOptions, servers: ServerList, spool: Spool) {
    this.servers = servers;
    this.token = opts.token;
    this.offline = opts.offline === true;
    this.compactBytes = opts.compactBytes ?? DEFAULT_COMPACT_BYTES;
    this.reporter = new Reporter(opts.onError);
    this.spool = new SpoolGuard(spool, this.reporter);
    this.points = new PointBuffer(
      Math.max(1, Math.min(MAX_POINTS_PER_BATCH, Math.floor(opts.maxBatchPoints ?? DEFAULT_MAX_BATCH_POINTS))),
    );
    this.connection = new Connection(
      servers,
      this.token,
      this.reporter,
      this.sleeper,
      { prepare: () => this.prepareRun(), opened: () => this.onOpen(), message: (text) => this.onMessage(text) },
      opts.failoverMs ?? DEFAULT_FAILOVER_MS,
    );
    this.outbox = new Outbox(this.spool, this.connection, {
      memoryCap: opts.memoryCapBytes ?? DEFAULT_MEMORY_CAP,
      sends: !this.offline,
    });
    this.outbox.restore(spool.pendingFrames());
    this.controls = new Controls(this.offline ? null : (text) => this.connection.send(text), this.reporter);
    this.uploader = new Uploader({
      spool: this.spool,
      servers,
      token: this.token,
      reporter: this.reporter,
      sleeper: this.sleeper,
      settled: () => this.afterSettling(),
    });
    this.flushTimer = setInterval(() => this.cut(), opts.flushIntervalMs ?? DEFAULT_FLUSH_MS);
    this.flushTimer.unref();
    // A trainer that exits without close() still leaves its last buffered points in the spool.
    this.exitHook = () => this.cut();
    process.on('exit', this.exitHook);
    if (!this.offline) {
      this.connection.start();
      this.uploader.start();
    }
  }

  /** The run's folder name in the spool (the server id, or `local…` for a run made offline). Stable. */
  get spoolKey(): string {
    return this.spool.spool.key;
  }

  /** The run id on the server; null while the run exists only locally. */
  get runId(): string | null {
    return this.spool.spool.run.server;
  }

  /** The server address in use. */
  get serverUrl(): string {
    return this.servers.current;
  }

  /** Every server address, in failover order. */
  get serverUrls(): readonly string[] {
    return this.servers.all;
  }

  get isOffline(): boolean {
    return this.offline;
  }

  /**
   * Records one step's values. Never blocks on the network and never throws for network trouble; throws
   * GW_ERR_MONITOR_INPUT for input the server would reject (bad step, metric name, non-number value).
   */
  push(step: number, values: Record<string, number>, wall?: number): void {
    if (this.closed) throw gwError('GW_ERR_MONITOR_INPUT', 'push() after close()');
    const point = this.points.encode(step, values, wall);
    if (!this.points.fits(point)) this.cut();
    this.points.add(point);
    this.pushed++;
    if (this.points.full) this.cut();
  }

  /**
   * Records one histogram (a distribution of a named quantity at a step), sent in the same spooled, acknowledged and
   * resent frames as points. Throws GW_ERR_MONITOR_INPUT for a record the server would refuse.
   */
  pushDistribution(record: Distribution): void {
    if (this.closed) throw gwError('GW_ERR_MONITOR_INPUT', 'pushDistribution() after close()');
    const text = encodeDistribution(record);
    if (!this.distributions.fits(text)) this.cut();
    this.distributions.add(text);
    if (this.distributions.full) this.cut();
  }

  /** Queues a PNG sample grid for upload (epoch, step, kind e.g. 'samples', optional meta object). */
  pushMedia(epoch: number, step: number, kind: string, png: Uint8Array, meta?: Record<string, unknown>): void {
    if (this.closed) throw gwError('GW_ERR_MONITOR_INPUT', 'pushMedia() after close()');
    this.queueUpload(mediaUpload(epoch, step, kind, png, meta));
  }

  /**
   * Queues latent codes for upload: `codes` is either rows of `dim` numbers or a flat Float32Array of
   * rows × dim values; `labels` (one non-negative integer per code) colour the t-SNE plot.
   */
  pushLatents(
    epoch: number,
    step: number | undefined,
    dim: number,
    codes: Float32Array | number[][],
    labels?: ArrayLike<number>,
  ): void {
    if (this.closed) throw gwError('GW_ERR_MONITOR_INPUT', 'pushLatents() after close()');
    this.queueUpload(latentsUpload(epoch, step, dim, codes, labels));
  }

  /** Reports a run status change (after every point pushed before it). */
  setStatus(status: RunStatus): void {
    if (this.closed) throw gwError('GW_ERR_MONITOR_INPUT', 'setStatus() after close()');
    if (!(RUN_STATUSES as readonly string[]).includes(status)) {
      throw gwError('GW_ERR_MONITOR_INPUT', `status must be one of ${RUN_STATUSES.join(', ')}`);
    }
    this.cut();
    const seq = this.spool.spool.takeSeq();
    this.outbox.add(seq, 'status', 0, JSON.stringify({ type: 'status', seq, status }));
  }

  /**
   * Calls `handler` for each control command as it arrives (from the socket's event handler: apply it at the
   * next step boundary, then answer with controlResult). While at least one handler is registered, commands are
   * not queued for takeControls(). Returns a function that unregisters the handler.
   */
  onControl(handler: (control: ReceivedControl) => void): () => void {
    return this.controls.onControl(handler);
  }

  /** Control commands received since the last call (when no onControl handler is registered), oldest first. */
  takeControls(): ReceivedControl[] {
    return this.controls.take();
  }

  /** Answers control `id`: applied (`ok`) at `step`, or failed with `message`. Sent now, or after reconnecting. */
  controlResult(id: number, ok: boolean, step?: number, message?: string): void {
    this.controls.answer(id, ok, step, message);
  }

  /**
   * Cuts the buffer and waits until everything pushed so far is settled: acknowledged by the server (or rejected
   * by it for good, which onError reported) and every upload stored. Resolves false on timeout.
   * Offline, it resolves true once everything is on disk (fdatasync).
   */
  flush(timeoutMs = 30_000): Promise<boolean> {
    if (!this.closed) this.cut();
    if (this.offline || this.closed) {
      this.spool.sync();
      return Promise.resolve(this.offline || this.isSettled());
    }
    if (this.isSettled()) {
      this.spool.sync();
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onSettled);
        if (ok) this.spool.sync();
        resolve(ok);
      };
      const onSettled = () => done(true);
      // Not unref'd: someone awaits this, so the process must stay up until it resolves.
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(onSettled);
    });
  }

  /**
   * Flushes (up to `timeoutMs`, default 10 s), then closes the socket and the spool. What is not yet
   * acknowledged stays in the spool and is resent by the next open() of this run or by `npm run sync`.
   * Resolves to the flush result.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<boolean> {
    this.closePromise ??= this.shutDown(opts.timeoutMs ?? 10_000);
    return this.closePromise;
  }

  /**
   * Points to other servers (e.g. one restarted on another port): one address, a comma-separated list or an array.
   * Everything unacknowledged is resent there.
   */
  setServer(url: string | readonly string[]): void {
    this.servers.replace(parseServers(url));
    this.reporter.connectionRestored();
    this.connection.reset();
    this.uploader.abort();
    this.sleeper.wakeAll();
  }

  stats(): MonitorStats {
    return {
      pushed: this.pushed,
      acked: this.outbox.acked,
      rejected: this.outbox.rejected,
      bufferedPoints: this.points.count,
      unackedBatches: this.outbox.size,
      pendingUploads: this.spool.spool.pendingUploadCount,
      spoolBytes: this.spool.spool.bytes,
      connected: this.connection.connected,
      server: this.servers.current,
      reconnects: this.connection.reconnects,
      failovers: this.connection.failovers,
      lastError: this.reporter.lastError,
    };
  }

  private async shutDown(timeoutMs: number): Promise<boolean> {
    const ok = await this.flush(timeoutMs);
    this.closed = true;
    this.spool.markClosed();
    clearInterval(this.flushTimer);
    process.off('exit', this.exitHook);
    this.uploader.stop();
    this.sleeper.wakeAll();
    await this.connection.stop();
    this.spool.close(this.isSettled());
    return ok;
  }

  /** Turns the point and distribution buffers into frames: next seqs, spooled, sent if connected. */
  private cut(): void {
    if (this.closed) return;
    if (this.points.count > 0) {
      const seq = this.spool.spool.takeSeq();
      const { text, count } = this.points.frame(seq);
      this.outbox.add(seq, 'points', count, text);
    }
    if (this.distributions.count > 0) {
      const seq = this.spool.spool.takeSeq();
      // Zero points: the stats' acked/rejected counts stay counts of points.
      this.outbox.add(seq, 'distributions', 0, this.distributions.frame(seq).text);
    }
  }

  private queueUpload({ upload, payload }: PreparedUpload): void {
    if (this.spool.queueUpload(upload, payload) && !this.offline) this.uploader.start();
  }

  /** The run id for the socket; a run made offline is created on the server first. */
  private async prepareRun(): Promise<string | null> {
    const spool = this.spool.spool;
    if (spool.run.server === null) {
      const create = spool.run.create ?? { name: spool.key };
      const run = await createRemoteRun(this.servers.current, this.token, create);
      if (this.closed) return null;
      spool.bind(run.id);
      this.uploader.start();
    }
    return this.closed ? null : spool.run.server;
  }

  private onOpen(): void {
    this.controls.resendUnsent();
    this.outbox.resendAll();
  }

  private onMessage(text: string): void {
    let frame: IngestServerFrame;
    try {
      frame = JSON.parse(text) as IngestServerFrame;
    } catch {
      this.reporter.report(gwError('GW_ERR_SERVER', this.servers.current, 'sent a frame that is not JSON'));
      return;
    }
    if (this.closed) return;
    switch (frame.type) {
      case 'ack':
        if (this.outbox.ack(frame.seq)) this.afterSettling();
        break;
      case 'error':
        this.onErrorFrame(frame.seq, frame.code, frame.message);
        break;
      case 'control':
        this.controls.receive(frame.id, frame.action, frame.args);
        break;
      default:
        break;
    }
  }

  private onErrorFrame(seq: number | null, code: string, message: string): void {
    const error = serverError(code, seq === null ? message : `batch ${seq}: ${message}`);
    if (seq !== null && this.outbox.refuse(seq, code, message) === 'rejected') this.checkSettled();
    this.reporter.report(error);
  }

  private isSettled(): boolean {
    return (
      this.points.count === 0 &&
      this.distributions.count === 0 &&
      this.outbox.size === 0 &&
      this.spool.spool.pendingUploadCount === 0
    );
  }

  /** After an ack or a settled upload: compact a large spool once nothing is pending, and wake flush(). */
  private afterSettling(): void {
    if (!this.closed && this.isSettled()) this.spool.compactBeyond(this.compactBytes);
    this.checkSettled();
  }

  private checkSettled(): void {
    if (this.waiters.size === 0 || !this.isSettled()) return;
    for (const w of [...this.waiters]) w();
  }
}
