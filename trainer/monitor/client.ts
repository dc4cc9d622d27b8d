// The trainer's monitor client: pushes metric points, status changes, sample images and latent codes to a
// ganwatch server and receives control commands, without ever making training wait for the network.
// Every batch goes to the on-disk spool before it is sent and stays there until the server acknowledges it
// (acks come after the SQLite commit); after a reconnect every unacknowledged batch is resent in seq order.
// The server upserts by (run, metric, step), so this at-least-once delivery stores everything exactly once.
// No tfjs here: any trainer can use it.
import os from 'node:os';
import Value from 'typebox/value';
import WebSocket from 'ws';
import {
  API_PREFIX,
  ControlCommand,
  GanwatchError,
  MAX_BODY_BYTES,
  MAX_LATENT_CODES,
  MAX_LATENT_DIM,
  MAX_MEDIA_BYTES,
  MAX_POINTS_PER_BATCH,
  METRIC_NAME_PATTERN,
  RUN_STATUSES,
  encodeValue,
  gwError,
  isGanwatchError,
  type ControlResultFrame,
  type CreateRunBody,
  type ErrorCode,
  type IngestServerFrame,
  type Run,
  type RunStatus,
  type WireValue,
  ERRORS,
} from '../../protocol/index.js';
import { Spool, type SpooledFrame, type SpooledUpload } from './spool.js';

export interface MonitorOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080. */
  server: string;
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
  /** Called on every problem the client meets and survives (network, rejected batches, disk). */
  onError?: (error: GanwatchError) => void;
}

/** A control command from the server, with the id to answer with `controlResult`. */
export type ReceivedControl = ControlCommand & { id: number };

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
  /** Ingest sockets opened after the first one. */
  reconnects: number;
  /** `CODE: message` of the last problem, or null. */
  lastError: string | null;
}

interface PendingFrame {
  frame: SpooledFrame;
  /** The frame text while it is held in memory; null means re-read it from the spool. */
  text: string | null;
  /** Connection generation it was last sent on (-1: not on the current one). */
  sentGen: number;
  /** False when the spool could not take it: then the text must stay in memory. */
  spooled: boolean;
}

const DEFAULT_FLUSH_MS = 200;
// Keeps the rare cut inside push() (a tight loop that outruns the timer) to a few milliseconds.
const DEFAULT_MAX_BATCH_POINTS = 2_000;
const DEFAULT_MEMORY_CAP = 64 * 1024 * 1024;
const DEFAULT_COMPACT_BYTES = 4 * 1024 * 1024;
const SEND_WINDOW_BYTES = 16 * 1024 * 1024;
const FRAME_ENVELOPE_BYTES = 64;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;
const HEARTBEAT_MS = 10_000;
const HTTP_TIMEOUT_MS = 60_000;
const OPEN_TIMEOUT_MS = 10_000;
const RESULT_MEMORY = 256;
const CONTROL_QUEUE_CAP = 1_000;
/** Server error codes that may succeed later: the frame stays queued instead of being dropped. */
const TRANSIENT_CODES = new Set(['GW_ERR_INTERNAL', 'GW_ERR_RATE_LIMITED']);
const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);
const MEDIA_KIND = /^[A-Za-z0-9_.-]{1,64}$/;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Exponential backoff with jitter: half the capped delay fixed, half random. */
export function backoffDelay(attempt: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Validates and normalizes a server base URL (no trailing slash). */
export function normalizeServer(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw gwError('GW_ERR_OPTION', `server '${url}' is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw gwError('GW_ERR_OPTION', `server '${url}' must be an http:// or https:// URL`);
  }
  return parsed.toString().replace(/\/+$/, '');
}

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

/** Says why a fetch failed, e.g. 'unreachable (ECONNREFUSED)'. */
export function describeFetchFailure(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer (timed out)';
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `unreachable (${cause.code})`;
    if (cause?.message) return `unreachable (${cause.message})`;
    return `unreachable (${err.message})`;
  }
  return `unreachable (${String(err)})`;
}

/** Pulls `code` and `message` out of a server error body, whatever its envelope. */
async function describeHttpError(res: Response): Promise<{ code: string | null; detail: string }> {
  const text = await res.text().catch(() => '');
  let code: string | null = null;
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const inner = (typeof body.error === 'object' && body.error !== null ? body.error : body) as Record<
      string,
      unknown
    >;
    if (typeof inner.code === 'string') code = inner.code;
    if (typeof inner.message === 'string') message = inner.message;
  } catch {
    // Not JSON: keep the raw text.
  }
  return { code, detail: `HTTP ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}` };
}

/** Rebuilds a server-side error (its code comes from the shared registry) as a GanwatchError. */
function serverError(code: string, message: string): GanwatchError {
  const known = (ERRORS as Record<string, { status: number }>)[code];
  return new GanwatchError((known ? code : 'GW_ERR_SERVER') as ErrorCode, message, known?.status ?? 500);
}

function localRunKey(): string {
  const random = Math.floor(Math.random() * 36 ** 8)
    .toString(36)
    .padStart(8, '0');
  return `local${Date.now().toString(36)}${random}`;
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Creates a run on the server; throws GW_ERR_SERVER when the server is unreachable or refuses. */
export async function createRemoteRun(server: string, token: string | undefined, body: CreateRunBody): Promise<Run> {
  let res: Response;
  try {
    res = await fetch(`${server}${API_PREFIX}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(token) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(OPEN_TIMEOUT_MS),
    });
  } catch (err) {
    throw gwError('GW_ERR_SERVER', server, `${describeFetchFailure(err)}; cannot create run '${body.name}'`);
  }
  if (!res.ok) {
    const { detail } = await describeHttpError(res);
    throw gwError('GW_ERR_SERVER', server, `cannot create run '${body.name}': ${detail}`);
  }
  const run = (await res.json()) as Run;
  if (typeof run.id !== 'string') throw gwError('GW_ERR_SERVER', server, 'run creation answered without an id');
  return run;
}

/** Fetches a run; throws GW_ERR_RUN_NOT_FOUND on 404 and GW_ERR_SERVER when unreachable. */
export async function fetchRemoteRun(server: string, token: string | undefined, id: string): Promise<Run> {
  let res: Response;
  try {
    res = await fetch(`${server}${API_PREFIX}/runs/${encodeURIComponent(id)}`, {
      headers: authHeaders(token),
      signal: AbortSignal.timeout(OPEN_TIMEOUT_MS),
    });
  } catch (err) {
    throw gwError('GW_ERR_SERVER', server, `${describeFetchFailure(err)}; cannot resume run '${id}'`);
  }
  if (res.status === 404) throw gwError('GW_ERR_RUN_NOT_FOUND', id);
  if (!res.ok) {
    const { detail } = await describeHttpError(res);
    throw gwError('GW_ERR_SERVER', server, `cannot read run '${id}': ${detail}`);
  }
  return (await res.json()) as Run;
}

export class MonitorClient {
  private server: string;
  private readonly token: string | undefined;
  private readonly offline: boolean;
  private readonly spool: Spool;
  private readonly onErrorCallback: ((error: GanwatchError) => void) | undefined;
  private readonly maxBatchPoints: number;
  private readonly memoryCap: number;
  private readonly compactBytes: number;

  // Point buffer: each point already serialized, so a batch is a string join.
  private buffer: string[] = [];
  private bufferBytes = 0;
  private readonly knownNames = new Set<string>();

  private readonly pending = new Map<number, PendingFrame>();
  private memoryBytes = 0;
  private sendQueue: number[] = [];
  private sendIndex = 0;
  private inflightBytes = 0;
  private generation = 0;

  private ws: WebSocket | null = null;
  private connected = false;
  private everConnected = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private alive = false;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly wakers = new Set<() => void>();
  private uploading = false;
  private uploadAbort: AbortController | null = null;

  private readonly controlHandlers = new Set<(control: ReceivedControl) => void>();
  private controlQueue: ReceivedControl[] = [];
  private readonly seenControls = new Set<number>();
  private readonly controlResults = new Map<number, ControlResultFrame>();
  private unsentResults: ControlResultFrame[] = [];

  private readonly waiters = new Set<() => void>();
  private closePromise: Promise<boolean> | null = null;
  private closed = false;
  private readonly exitHook: () => void;

  private counters = { pushed: 0, acked: 0, rejected: 0, reconnects: 0 };
  private lastError: string | null = null;
  private lastConnectionError: string | null = null;

  /**
   * Opens a monitored run.
   * - `create`: POSTs the run (fails with GW_ERR_SERVER if the server is unreachable or refuses);
   *   offline: makes a local run (folder `local…`) that `npm run sync` creates on the server later.
   * - `run`: resumes. If the spool already holds the run, no network is needed at open (the client connects in the
   *   background); otherwise the run is checked with GET and open fails with GW_ERR_SERVER (unreachable) or
   *   GW_ERR_RUN_NOT_FOUND. Unsettled items found in the spool are resent.
   */
  static async open(opts: MonitorOptions): Promise<MonitorClient> {
    const server = normalizeServer(opts.server);
    if (!opts.spoolDir) throw gwError('GW_ERR_OPTION', 'spoolDir is required');
    let spool: Spool;
    if (opts.run) {
      const key = Spool.find(opts.spoolDir, opts.run);
      if (key !== null) {
        spool = Spool.open(opts.spoolDir, key);
      } else {
        if (!opts.offline) await fetchRemoteRun(server, opts.token, opts.run);
        spool = Spool.create(opts.spoolDir, {
          key: opts.run,
          server: opts.run,
          create: null,
          createdAt: Date.now() / 1000,
        });
      }
    } else if (opts.create) {
      const body: CreateRunBody = { host: os.hostname().slice(0, 200), ...opts.create };
      if (opts.offline) {
        spool = Spool.create(opts.spoolDir, {
          key: localRunKey(),
          server: null,
          create: body,
          createdAt: Date.now() / 1000,
        });
      } else {
        const run = await createRemoteRun(server, opts.token, body);
        spool = Spool.create(opts.spoolDir, {
          key: run.id,
          server: run.id,
          create: body,
          createdAt: Date.now() / 1000,
        });
      }
    } else {
      throw gwError('GW_ERR_OPTION', 'MonitorClient.open needs `create` (a new run) or `run` (resume a run)');
    }
    return new MonitorClient(opts, server, spool);
  }

  private constructor(opts: MonitorOptions, server: string, spool: Spool) {
    this.server = server;
    this.token = opts.token;
    this.offline = opts.offline === true;
    this.spool = spool;
    this.onErrorCallback = opts.onError;
    this.maxBatchPoints = Math.max(
      1,
      Math.min(MAX_POINTS_PER_BATCH, Math.floor(opts.maxBatchPoints ?? DEFAULT_MAX_BATCH_POINTS)),
    );
    this.memoryCap = opts.memoryCapBytes ?? DEFAULT_MEMORY_CAP;
    this.compactBytes = opts.compactBytes ?? DEFAULT_COMPACT_BYTES;

    for (const frame of spool.pendingFrames()) {
      this.pending.set(frame.seq, { frame, text: null, sentGen: -1, spooled: true });
    }
    this.flushTimer = setInterval(() => this.cut(), opts.flushIntervalMs ?? DEFAULT_FLUSH_MS);
    this.flushTimer.unref();
    // A trainer that exits without close() still leaves its last buffered points in the spool.
    this.exitHook = () => this.cut();
    process.on('exit', this.exitHook);
    if (!this.offline) {
      void this.connectLoop();
      void this.uploadLoop();
    }
  }

  /** The run's folder name in the spool (the server id, or `local…` for a run made offline). Stable. */
  get spoolKey(): string {
    return this.spool.key;
  }

  /** The run id on the server; null while the run exists only locally. */
  get runId(): string | null {
    return this.spool.run.server;
  }

  get serverUrl(): string {
    return this.server;
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
    if (!isCount(step)) throw gwError('GW_ERR_MONITOR_INPUT', `step must be a non-negative integer, got ${step}`);
    const time = wall ?? Date.now() / 1000;
    if (!Number.isFinite(time) || time < 0 || time > 1e11) {
      throw gwError('GW_ERR_MONITOR_INPUT', `wall must be seconds since the Unix epoch, got ${wall}`);
    }
    const wire: Record<string, WireValue> = {};
    let count = 0;
    for (const name in values) {
      const value = values[name];
      if (!this.knownNames.has(name)) {
        if (!METRIC_NAME.test(name)) {
          throw gwError('GW_ERR_MONITOR_INPUT', `metric name '${name}' must match ${METRIC_NAME_PATTERN}`);
        }
        this.knownNames.add(name);
      }
      if (typeof value !== 'number') throw gwError('GW_ERR_MONITOR_INPUT', `metric '${name}' is not a number`);
      wire[name] = encodeValue(value);
      count++;
    }
    if (count === 0) throw gwError('GW_ERR_MONITOR_INPUT', `step ${step} has no values`);
    if (count > 1000) throw gwError('GW_ERR_MONITOR_INPUT', `step ${step} has ${count} values; the limit is 1000`);
    const text = JSON.stringify({ step, wall: time, values: wire });
    if (this.bufferBytes + text.length + 1 + FRAME_ENVELOPE_BYTES > MAX_BODY_BYTES) this.cut();
    this.buffer.push(text);
    this.bufferBytes += text.length + 1;
    this.counters.pushed++;
    if (this.buffer.length >= this.maxBatchPoints) this.cut();
  }

  /** Queues a PNG sample grid for upload (epoch, step, kind e.g. 'samples', optional meta object). */
  pushMedia(epoch: number, step: number, kind: string, png: Uint8Array, meta?: Record<string, unknown>): void {
    if (this.closed) throw gwError('GW_ERR_MONITOR_INPUT', 'pushMedia() after close()');
    if (!isCount(epoch) || !isCount(step))
      throw gwError('GW_ERR_MONITOR_INPUT', 'media epoch and step must be non-negative integers');
    if (!MEDIA_KIND.test(kind))
      throw gwError('GW_ERR_MONITOR_INPUT', `media kind '${kind}' must match ${MEDIA_KIND.source}`);
    const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
    if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
      throw gwError('GW_ERR_MONITOR_INPUT', 'media must be PNG bytes (they must start with the PNG signature)');
    }
    if (bytes.length > MAX_MEDIA_BYTES) {
      throw gwError('GW_ERR_MONITOR_INPUT', `PNG of ${bytes.length} bytes exceeds the ${MAX_MEDIA_BYTES}-byte limit`);
    }
    let metaText: string | undefined;
    if (meta !== undefined) {
      metaText = JSON.stringify(meta);
      if (metaText.length > 10_000)
        throw gwError('GW_ERR_MONITOR_INPUT', 'media meta exceeds 10,000 characters of JSON');
    }
    this.queueUpload(
      metaText === undefined
        ? { kind: 'media', epoch, step, mediaKind: kind }
        : { kind: 'media', epoch, step, mediaKind: kind, meta: metaText },
      bytes,
    );
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
    if (!isCount(epoch) || (step !== undefined && !isCount(step))) {
      throw gwError('GW_ERR_MONITOR_INPUT', 'latents epoch and step must be non-negative integers');
    }
    if (!Number.isInteger(dim) || dim < 1 || dim > MAX_LATENT_DIM) {
      throw gwError('GW_ERR_MONITOR_INPUT', `latent dim must be an integer in [1, ${MAX_LATENT_DIM}], got ${dim}`);
    }
    let rows: number[][];
    if (codes instanceof Float32Array) {
      if (codes.length % dim !== 0)
        throw gwError('GW_ERR_MONITOR_INPUT', `${codes.length} values do not split into rows of ${dim}`);
      rows = [];
      // 9 significant digits give back the same float32, in about half the JSON of a full double.
      for (let r = 0; r < codes.length / dim; r++) {
        const row = new Array<number>(dim);
        for (let c = 0; c < dim; c++) row[c] = Number((codes[r * dim + c] as number).toPrecision(9));
        rows.push(row);
      }
    } else {
      rows = codes;
    }
    if (rows.length < 1 || rows.length > MAX_LATENT_CODES) {
      throw gwError(
        'GW_ERR_MONITOR_INPUT',
        `latent code count must be in [1, ${MAX_LATENT_CODES}], got ${rows.length}`,
      );
    }
    for (const [i, row] of rows.entries()) {
      if (row.length !== dim)
        throw gwError('GW_ERR_MONITOR_INPUT', `latent code ${i} has ${row.length} values, expected ${dim}`);
      for (const v of row) {
        if (typeof v !== 'number' || !Number.isFinite(v))
          throw gwError('GW_ERR_MONITOR_INPUT', `latent code ${i} holds a non-finite value`);
      }
    }
    let labelList: number[] | undefined;
    if (labels !== undefined) {
      labelList = Array.from(labels);
      if (labelList.length !== rows.length) {
        throw gwError('GW_ERR_MONITOR_INPUT', `${labelList.length} labels for ${rows.length} latent codes`);
      }
      if (!labelList.every((l) => Number.isInteger(l) && l >= 0 && l <= 1_000_000)) {
        throw gwError('GW_ERR_MONITOR_INPUT', 'latent labels must be integers in [0, 1000000]');
      }
    }
    const body = JSON.stringify({
      epoch,
      ...(step === undefined ? {} : { step }),
      dim,
      codes: rows,
      ...(labelList ? { labels: labelList } : {}),
    });
    if (body.length > MAX_BODY_BYTES) {
      throw gwError(
        'GW_ERR_MONITOR_INPUT',
        `latents body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}; subsample the codes`,
      );
    }
    this.queueUpload(
      step === undefined
        ? { kind: 'latents', epoch, count: rows.length }
        : { kind: 'latents', epoch, step, count: rows.length },
      body,
    );
  }

  /** Reports a run status change (after every point pushed before it). */
  setStatus(status: RunStatus): void {
    if (this.closed) throw gwError('GW_ERR_MONITOR_INPUT', 'setStatus() after close()');
    if (!(RUN_STATUSES as readonly string[]).includes(status)) {
      throw gwError('GW_ERR_MONITOR_INPUT', `status must be one of ${RUN_STATUSES.join(', ')}`);
    }
    this.cut();
    const seq = this.spool.takeSeq();
    this.enqueueFrame(seq, 'status', 0, JSON.stringify({ type: 'status', seq, status }));
  }

  /**
   * Calls `handler` for each control command as it arrives (from the socket's event handler: apply it at the
   * next step boundary, then answer with controlResult). While at least one handler is registered, commands are
   * not queued for takeControls(). Returns a function that unregisters the handler.
   */
  onControl(handler: (control: ReceivedControl) => void): () => void {
    this.controlHandlers.add(handler);
    return () => this.controlHandlers.delete(handler);
  }

  /** Control commands received since the last call (when no onControl handler is registered), oldest first. */
  takeControls(): ReceivedControl[] {
    const taken = this.controlQueue;
    this.controlQueue = [];
    return taken;
  }

  /** Answers control `id`: applied (`ok`) at `step`, or failed with `message`. Sent now, or after reconnecting. */
  controlResult(id: number, ok: boolean, step?: number, message?: string): void {
    const frame: ControlResultFrame = { type: 'control_result', id, ok };
    if (step !== undefined && isCount(step)) frame.step = step;
    if (message !== undefined) frame.message = message.slice(0, 2000);
    this.controlResults.set(id, frame);
    if (this.controlResults.size > RESULT_MEMORY) {
      const oldest = this.controlResults.keys().next().value;
      if (oldest !== undefined) this.controlResults.delete(oldest);
    }
    if (this.offline) return;
    if (!this.sendRaw(JSON.stringify(frame))) this.unsentResults.push(frame);
  }

  /**
   * Cuts the buffer and waits until everything pushed so far is settled: acknowledged by the server (or rejected
   * by it for good, which onError reported) and every upload stored. Resolves false on timeout.
   * Offline, it resolves true once everything is on disk (fdatasync).
   */
  flush(timeoutMs = 30_000): Promise<boolean> {
    if (!this.closed) this.cut();
    if (this.offline || this.closed) {
      this.syncSpool();
      return Promise.resolve(this.offline || this.isSettled());
    }
    if (this.isSettled()) {
      this.syncSpool();
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onSettled);
        if (ok) this.syncSpool();
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

  private async shutDown(timeoutMs: number): Promise<boolean> {
    const ok = await this.flush(timeoutMs);
    this.closed = true;
    clearInterval(this.flushTimer);
    process.off('exit', this.exitHook);
    this.stopHeartbeat();
    this.uploadAbort?.abort();
    this.wakeAll();
    const ws = this.ws;
    if (ws) {
      await new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        // Give the close handshake a moment, then cut the connection rather than wait ws's 30 s.
        const timer = setTimeout(() => ws.terminate(), 1_000);
        ws.once('close', () => clearTimeout(timer));
        ws.close(1000, 'client closed');
      });
    }
    try {
      if (this.isSettled()) this.spool.compact();
    } catch (err) {
      this.report(gwError('GW_ERR_SPOOL', this.spool.dir, (err as Error).message));
    }
    this.spool.close();
    return ok;
  }

  /** Points to a different server (e.g. one restarted on another port); everything unacked is resent there. */
  setServer(url: string): void {
    this.server = normalizeServer(url);
    this.lastConnectionError = null;
    this.ws?.terminate();
    this.uploadAbort?.abort();
    this.wakeAll();
  }

  stats(): MonitorStats {
    return {
      pushed: this.counters.pushed,
      acked: this.counters.acked,
      rejected: this.counters.rejected,
      bufferedPoints: this.buffer.length,
      unackedBatches: this.pending.size,
      pendingUploads: this.spool.pendingUploadCount,
      spoolBytes: this.spool.bytes,
      connected: this.connected,
      reconnects: this.counters.reconnects,
      lastError: this.lastError,
    };
  }

  // ---------------------------------------------------------------- batching and the spool

  /** Turns the point buffer into a frame: next seq, spooled, sent if connected. */
  private cut(): void {
    if (this.buffer.length === 0 || this.closed) return;
    const count = this.buffer.length;
    const seq = this.spool.takeSeq();
    const text = `{"type":"points","seq":${seq},"points":[${this.buffer.join(',')}]}`;
    this.buffer = [];
    this.bufferBytes = 0;
    this.enqueueFrame(seq, 'points', count, text);
  }

  private enqueueFrame(seq: number, kind: 'points' | 'status', points: number, text: string): void {
    let frame: SpooledFrame;
    let spooled = true;
    try {
      frame = this.spool.appendFrame(seq, kind, points, text);
    } catch (err) {
      // A full or failing disk must not stop training: keep the frame in memory only.
      spooled = false;
      frame = { seq, kind, points, offset: -1, length: Buffer.byteLength(text) };
      this.report(gwError('GW_ERR_SPOOL', this.spool.dir, `cannot append: ${(err as Error).message}`));
    }
    // Offline nothing is sent, so nothing needs to stay in memory.
    const keep = !spooled || (!this.offline && this.memoryBytes + text.length <= this.memoryCap);
    if (keep) this.memoryBytes += text.length;
    this.pending.set(seq, { frame, text: keep ? text : null, sentGen: -1, spooled });
    this.sendQueue.push(seq);
    this.pump();
  }

  private queueUpload(upload: Parameters<Spool['appendUpload']>[0], payload: Buffer | string): void {
    try {
      this.spool.appendUpload(upload, payload);
    } catch (err) {
      this.report(
        gwError('GW_ERR_SPOOL', this.spool.dir, `cannot store ${upload.kind} for upload: ${(err as Error).message}`),
      );
      return;
    }
    if (!this.offline) void this.uploadLoop();
  }

  private isSettled(): boolean {
    return this.buffer.length === 0 && this.pending.size === 0 && this.spool.pendingUploadCount === 0;
  }

  private checkSettled(): void {
    if (this.waiters.size === 0 || !this.isSettled()) return;
    for (const w of [...this.waiters]) w();
  }

  private maybeCompact(): void {
    if (this.closed || this.spool.bytes < this.compactBytes || !this.isSettled()) return;
    try {
      this.spool.compact();
    } catch (err) {
      this.report(gwError('GW_ERR_SPOOL', this.spool.dir, `compaction failed: ${(err as Error).message}`));
    }
  }

  private syncSpool(): void {
    if (this.closed) return;
    try {
      this.spool.sync();
    } catch (err) {
      this.report(gwError('GW_ERR_SPOOL', this.spool.dir, `fdatasync failed: ${(err as Error).message}`));
    }
  }

  private spoolWrite(what: string, write: () => void): void {
    if (this.closed) return;
    try {
      write();
    } catch (err) {
      this.report(gwError('GW_ERR_SPOOL', this.spool.dir, `cannot record ${what}: ${(err as Error).message}`));
    }
  }

  // ---------------------------------------------------------------- the ingest socket

  private ingestUrl(run: string): string {
    return `${this.server.replace(/^http/, 'ws')}${API_PREFIX}/ingest?run=${encodeURIComponent(run)}`;
  }

  private async connectLoop(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      let opened = false;
      try {
        if (this.spool.run.server === null) await this.bindRun();
        const run = this.spool.run.server;
        if (run === null || this.closed) break;
        opened = await this.connectOnce(run);
      } catch (err) {
        this.reportConnection(isGanwatchError(err) ? err : gwError('GW_ERR_SERVER', this.server, String(err)));
      }
      if (this.closed) break;
      attempt = opened ? 0 : attempt + 1;
      await this.sleep(backoffDelay(attempt));
    }
  }

  /** Creates on the server a run that so far existed only in the spool (offline mode). */
  private async bindRun(): Promise<void> {
    const create = this.spool.run.create ?? { name: this.spool.key };
    const run = await createRemoteRun(this.server, this.token, create);
    if (this.closed) return;
    this.spool.bind(run.id);
    void this.uploadLoop();
  }

  /** Opens one socket and resolves when it closes: true if it was ever open. */
  private connectOnce(run: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const url = this.ingestUrl(run);
      const ws = new WebSocket(url, {
        headers: authHeaders(this.token),
        handshakeTimeout: OPEN_TIMEOUT_MS,
        perMessageDeflate: false,
      });
      this.ws = ws;
      let opened = false;
      ws.on('open', () => {
        opened = true;
        this.onOpen(ws);
      });
      ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        if (!isBinary) this.onMessage(data.toString());
      });
      ws.on('pong', () => {
        this.alive = true;
      });
      ws.on('error', (err: Error) => {
        const hint = /\b401\b/.test(err.message)
          ? ' (the token is missing or wrong)'
          : /\b404\b/.test(err.message)
            ? ` (run '${run}' does not exist on this server)`
            : '';
        this.reportConnection(gwError('GW_ERR_SERVER', this.server, `ingest socket: ${err.message}${hint}`));
      });
      ws.on('close', () => {
        if (this.ws === ws) {
          this.ws = null;
          this.connected = false;
          this.stopHeartbeat();
        }
        resolve(opened);
      });
    });
  }

  private onOpen(ws: WebSocket): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    this.connected = true;
    if (this.everConnected) this.counters.reconnects++;
    this.everConnected = true;
    this.lastConnectionError = null;
    this.generation++;
    this.inflightBytes = 0;
    this.sendQueue = [...this.pending.keys()].sort((a, b) => a - b);
    this.sendIndex = 0;
    const results = this.unsentResults;
    this.unsentResults = [];
    for (const r of results) this.sendRaw(JSON.stringify(r));
    this.startHeartbeat(ws);
    this.pump();
  }

  /** Sends queued frames in seq order, keeping at most SEND_WINDOW_BYTES unacknowledged on the wire. */
  private pump(): void {
    const ws = this.ws;
    if (!this.connected || !ws || ws.readyState !== WebSocket.OPEN) return;
    while (this.sendIndex < this.sendQueue.length && this.inflightBytes < SEND_WINDOW_BYTES) {
      const seq = this.sendQueue[this.sendIndex++] as number;
      const entry = this.pending.get(seq);
      if (!entry || entry.sentGen === this.generation) continue;
      let text = entry.text;
      if (text === null) {
        try {
          text = this.spool.readFrame(entry.frame);
        } catch (err) {
          this.report(
            gwError('GW_ERR_SPOOL', this.spool.dir, `cannot re-read batch ${seq}: ${(err as Error).message}`),
          );
          continue;
        }
      }
      ws.send(text);
      entry.sentGen = this.generation;
      this.inflightBytes += entry.frame.length;
    }
    if (this.sendIndex > 1024 && this.sendIndex * 2 > this.sendQueue.length) {
      this.sendQueue = this.sendQueue.slice(this.sendIndex);
      this.sendIndex = 0;
    }
  }

  private sendRaw(text: string): boolean {
    const ws = this.ws;
    if (!this.connected || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    return true;
  }

  private onMessage(text: string): void {
    this.alive = true;
    let frame: IngestServerFrame;
    try {
      frame = JSON.parse(text) as IngestServerFrame;
    } catch {
      this.report(gwError('GW_ERR_SERVER', this.server, 'sent a frame that is not JSON'));
      return;
    }
    if (this.closed) return;
    switch (frame.type) {
      case 'ack':
        this.onAck(frame.seq);
        break;
      case 'error':
        this.onErrorFrame(frame.seq, frame.code, frame.message);
        break;
      case 'control':
        this.onControlFrame(frame.id, frame.action, frame.args);
        break;
      default:
        break;
    }
  }

  private settleFrame(seq: number): PendingFrame | null {
    const entry = this.pending.get(seq);
    if (!entry) return null;
    this.pending.delete(seq);
    if (entry.sentGen === this.generation) this.inflightBytes -= entry.frame.length;
    if (entry.text !== null) this.memoryBytes -= entry.text.length;
    return entry;
  }

  private onAck(seq: number): void {
    const entry = this.settleFrame(seq);
    if (!entry) return;
    this.counters.acked += entry.frame.points;
    if (entry.spooled) this.spoolWrite('an ack', () => this.spool.appendAck([seq]));
    this.pump();
    this.maybeCompact();
    this.checkSettled();
  }

  private onErrorFrame(seq: number | null, code: string, message: string): void {
    const error = serverError(code, seq === null ? message : `batch ${seq}: ${message}`);
    if (seq !== null && this.pending.has(seq)) {
      if (TRANSIENT_CODES.has(code)) {
        // Worth another try: resend it after a pause on this connection.
        const entry = this.pending.get(seq) as PendingFrame;
        if (entry.sentGen === this.generation) this.inflightBytes -= entry.frame.length;
        entry.sentGen = -1;
        const timer = setTimeout(() => {
          this.sendQueue.push(seq);
          this.pump();
        }, 1_000);
        timer.unref();
      } else {
        const entry = this.settleFrame(seq) as PendingFrame;
        this.counters.rejected += entry.frame.points;
        if (entry.spooled) this.spoolWrite('a rejection', () => this.spool.appendReject(seq, code, message));
        this.pump();
        this.checkSettled();
      }
    }
    this.report(error);
  }

  private onControlFrame(id: number, action: string, args: Record<string, unknown>): void {
    if (!isCount(id)) return;
    const answered = this.controlResults.get(id);
    if (answered) {
      // The server resent a command we already answered (our result may have been lost): answer again.
      this.sendRaw(JSON.stringify(answered));
      return;
    }
    if (this.seenControls.has(id)) return;
    this.seenControls.add(id);
    const command = { action, args };
    if (!Value.Check(ControlCommand, command)) {
      this.controlResult(
        id,
        false,
        undefined,
        `this trainer does not understand control '${action}' with these arguments`,
      );
      return;
    }
    const control = { id, ...(command as ControlCommand) };
    if (this.controlHandlers.size > 0) {
      for (const handler of [...this.controlHandlers]) {
        try {
          handler(control);
        } catch (err) {
          this.report(gwError('GW_ERR_MONITOR_INPUT', `control handler threw: ${(err as Error).message}`));
        }
      }
    } else {
      this.controlQueue.push(control);
      if (this.controlQueue.length > CONTROL_QUEUE_CAP) this.controlQueue.shift();
    }
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    this.alive = true;
    this.heartbeat = setInterval(() => {
      if (!this.alive) {
        // Timers run before pending I/O after a long synchronous training step; let the I/O phase deliver a
        // late pong before calling the connection dead.
        setImmediate(() => {
          if (!this.alive && this.ws === ws) ws.terminate();
        });
        return;
      }
      this.alive = false;
      try {
        ws.ping();
      } catch {
        // A socket that cannot ping is closing; its close event does the rest.
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  // ---------------------------------------------------------------- uploads over HTTP

  /** Uploads spooled media and latents one at a time, oldest first, retrying until stored or rejected. */
  private async uploadLoop(): Promise<void> {
    if (this.uploading || this.offline) return;
    this.uploading = true;
    let attempt = 0;
    try {
      while (!this.closed) {
        const upload = this.spool.pendingUploads()[0];
        if (!upload) break;
        const run = this.spool.run.server;
        if (run === null) return; // bindRun() restarts this loop once the run exists on the server
        const outcome = await this.sendUpload(run, upload);
        if (this.closed) break;
        if (outcome === 'retry') {
          attempt++;
          await this.sleep(backoffDelay(attempt));
          continue;
        }
        attempt = 0;
        if (outcome === 'ok') {
          this.spoolWrite('an upload', () => this.spool.appendUploadDone(upload.id, true));
        } else {
          this.spoolWrite('a rejected upload', () =>
            this.spool.appendUploadDone(upload.id, false, outcome.code, outcome.message),
          );
          this.report(serverError(outcome.code, `${upload.kind} upload (epoch ${upload.epoch}): ${outcome.message}`));
        }
        this.maybeCompact();
        this.checkSettled();
      }
    } finally {
      this.uploading = false;
    }
  }

  private async sendUpload(
    run: string,
    upload: SpooledUpload,
  ): Promise<'ok' | 'retry' | { code: string; message: string }> {
    let payload: Buffer;
    try {
      payload = this.spool.readUploadPayload(upload);
    } catch (err) {
      return { code: 'GW_ERR_SPOOL', message: `payload file lost: ${(err as Error).message}` };
    }
    const base = `${this.server}${API_PREFIX}/runs/${encodeURIComponent(run)}`;
    let url: string;
    let contentType: string;
    if (upload.kind === 'media') {
      const q = new URLSearchParams({ epoch: String(upload.epoch), step: String(upload.step), kind: upload.mediaKind });
      if (upload.meta !== undefined) q.set('meta', upload.meta);
      url = `${base}/media?${q.toString()}`;
      contentType = 'image/png';
    } else {
      url = `${base}/latents`;
      contentType = 'application/json';
    }
    const abort = new AbortController();
    this.uploadAbort = abort;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType, ...authHeaders(this.token) },
        body: new Uint8Array(payload),
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(HTTP_TIMEOUT_MS)]),
      });
    } catch (err) {
      if (!abort.signal.aborted) {
        this.reportConnection(
          gwError('GW_ERR_SERVER', this.server, `${describeFetchFailure(err)} while uploading ${upload.kind}`),
        );
      }
      return 'retry';
    } finally {
      if (this.uploadAbort === abort) this.uploadAbort = null;
    }
    if (res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      return 'ok';
    }
    const { code, detail } = await describeHttpError(res);
    if (res.status >= 500 || res.status === 401 || res.status === 408 || res.status === 429) {
      // May succeed later (server trouble, or a token the user will fix): keep it queued.
      this.reportConnection(gwError('GW_ERR_SERVER', this.server, `${upload.kind} upload: ${detail}`));
      return 'retry';
    }
    return { code: code ?? 'GW_ERR_SERVER', message: detail };
  }

  // ---------------------------------------------------------------- helpers

  /** Waits `ms`, or less if setServer() or close() wakes every sleeper. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.wakers.add(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private report(error: GanwatchError): void {
    this.lastError = `${error.code}: ${error.message}`;
    if (!this.onErrorCallback) return;
    try {
      this.onErrorCallback(error);
    } catch {
      // A throwing error callback must not break the client.
    }
  }

  /** Reports a connection problem once, not on every retry of the same failure. */
  private reportConnection(error: GanwatchError): void {
    if (error.message === this.lastConnectionError) {
      this.lastError = `${error.code}: ${error.message}`;
      return;
    }
    this.lastConnectionError = error.message;
    this.report(error);
  }
}
