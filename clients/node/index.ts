// ganwatch's Node client, the package entry `ganwatch/client`: connect() opens a monitored run for any Node or
// TensorFlow.js training script (ganwatch's own trainer uses nothing else). What is logged goes through an on-disk
// spool and is resent until the server has stored it, across outages, restarts and a failover between servers.
import path from 'node:path';
import { gwError, isGanwatchError, type CreateRunBody, type GanwatchError } from '../../protocol/index.js';
import { MonitorClient, type MonitorOptions } from './client.js';
import { fetchRemoteRun, waitForServer } from './http.js';
import { Run, type ForkOptions } from './run.js';
import { readServerFile, watchServerFile, type ServerFileWatch } from './server-file.js';
import { parseServers } from './servers.js';
import { DEFAULT_SYSTEM_INTERVAL_MS, describeSystem, systemMetricsDefault } from './system-metrics.js';

export interface ConnectOptions {
  /** The new run's name. Default: the script's file name and the time. */
  name?: string;
  /** Hyperparameters and anything else worth comparing runs by (a JSON object). */
  config?: Record<string, unknown>;
  tags?: string[];
  notes?: string;
  /** The run's alert settings (rule overrides, auto_apply), as in the API. */
  alerts?: CreateRunBody['alerts'];
  /** Recorded with the run, e.g. the tfjs backend and its device. */
  backend?: string;
  device?: string;
  /**
   * The server: one URL, several separated by commas, or an array (servers sharing one store; the client fails over
   * to the next when the one in use is gone). Default: $GANWATCH_SERVER, else http://127.0.0.1:$GANWATCH_PORT, else
   * http://127.0.0.1:8080.
   */
  server?: string | readonly string[];
  /** The server's write token. Default: $GANWATCH_TOKEN. */
  token?: string;
  /** Continue this run (its id, or its spool folder name) instead of creating one; what it left unsent is resent. */
  resume?: string;
  /** Folder of the on-disk spool. Default: `.spool`. */
  spool?: string;
  /** No network: record into the spool, to upload later with `npm run sync`. */
  offline?: boolean;
  /**
   * Follow the server's address in this file: when it names a server it wins over `server`, and when it changes
   * (checked every second, or at once on SIGHUP) the run moves there and resends what is unacknowledged.
   */
  serverFile?: string;
  /** Called with the new addresses when the server file moves the run. */
  onServerChange?: (servers: readonly string[]) => void;
  /** Wait up to this long for a server to answer before creating the run (ms). Default 0: fail at once. */
  waitMs?: number;
  /** Problems the client meets and survives (network, rejected data, disk, failovers). Default: printed to stderr. */
  onError?: (error: GanwatchError) => void;
  /** With several servers: how long the one in use may stay unreachable before the next is tried (ms). Default 3 s. */
  failoverMs?: number;
  /** How often buffered values are sent (ms). Default 200. */
  flushIntervalMs?: number;
  /**
   * Push system metrics (sys/cpu_percent, sys/rss_mb, and per GPU sys/gpu_util/N, sys/gpu_mem_mb/N, sys/gpu_temp_c/N
   * when nvidia-smi is on PATH) at the latest step logged, and record the GPU names in the run's `system`. Default:
   * true, unless $GANWATCH_SYSTEM_METRICS is 0, false, off or no.
   */
  systemMetrics?: boolean;
  /** How often system metrics are sampled (ms). Default 10,000. */
  systemIntervalMs?: number;
  /**
   * Create the run as a fork of run `id`, continuing after its step `step` (the dashboard draws the parent's curves up
   * to there in this run's charts). `run.fork(step)` fills it in.
   */
  parent?: { id: string; step: number };
}

/** The default server: $GANWATCH_SERVER, else the local server on $GANWATCH_PORT, else port 8080. */
export function defaultServer(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GANWATCH_SERVER) return env.GANWATCH_SERVER;
  if (env.GANWATCH_PORT) return `http://127.0.0.1:${env.GANWATCH_PORT}`;
  return 'http://127.0.0.1:8080';
}

function defaultName(): string {
  const script = process.argv[1] ? path.basename(process.argv[1]) : 'node';
  return `${script} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`;
}

function printError(error: GanwatchError): void {
  process.stderr.write(`ganwatch: ${error.code}: ${error.message}\n`);
}

/** The body that creates the run: the options that describe it, and the machine. */
async function runBody(o: ConnectOptions, probeGpus: boolean): Promise<CreateRunBody> {
  return {
    name: o.name ?? defaultName(),
    ...(o.config !== undefined ? { config: o.config } : {}),
    ...(o.tags !== undefined ? { tags: o.tags } : {}),
    ...(o.notes !== undefined ? { notes: o.notes } : {}),
    ...(o.alerts !== undefined ? { alerts: o.alerts } : {}),
    ...(o.backend !== undefined ? { backend: o.backend } : {}),
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(o.parent !== undefined ? { parent_id: o.parent.id, fork_step: o.parent.step } : {}),
    system: await describeSystem(probeGpus),
  };
}

function systemInterval(o: ConnectOptions): number | null {
  if (!(o.systemMetrics ?? systemMetricsDefault())) return null;
  const ms = o.systemIntervalMs ?? DEFAULT_SYSTEM_INTERVAL_MS;
  if (!(Number.isFinite(ms) && ms > 0)) {
    throw gwError('GW_ERR_OPTION', `systemIntervalMs must be a positive number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

/** Follows `file` for a new server address; returns how to stop. */
function followServerFile(
  client: MonitorClient,
  file: string,
  onChange: ((servers: readonly string[]) => void) | undefined,
  onError: (error: GanwatchError) => void,
): ServerFileWatch {
  return watchServerFile(file, client.serverUrls.join(','), (text) => {
    try {
      client.setServer(text);
      onChange?.(client.serverUrls);
    } catch (err) {
      const detail = isGanwatchError(err) ? err.message : String(err);
      onError(gwError('GW_ERR_OPTION', `ignoring server file '${file}': ${detail}`));
    }
  });
}

/**
 * Opens a run: creates it on the server (or continues `resume`), or, offline, in the spool only. Rejects with
 * GW_ERR_OPTION for a bad option (e.g. a server address that is not an http(s) URL), GW_ERR_SERVER when no server
 * answers, GW_ERR_RUN_NOT_FOUND when `resume` names a run the server does not have, GW_ERR_SPOOL when the spool
 * folder is unusable (e.g. another process has the run open).
 */
export async function connect(options: ConnectOptions = {}): Promise<Run> {
  const onError = options.onError ?? printError;
  const filed = options.serverFile !== undefined ? readServerFile(options.serverFile) : null;
  const servers = parseServers(filed ?? options.server ?? defaultServer());
  const token = options.token ?? (process.env.GANWATCH_TOKEN || undefined);
  const offline = options.offline === true;
  const systemIntervalMs = systemInterval(options);
  if (!offline && options.waitMs) await waitForServer(servers, options.waitMs);
  const clientOptions: MonitorOptions = {
    server: servers,
    ...(token !== undefined ? { token } : {}),
    spoolDir: options.spool ?? '.spool',
    offline,
    onError,
    ...(options.resume !== undefined
      ? { run: options.resume }
      : { create: await runBody(options, systemIntervalMs !== null) }),
    ...(options.failoverMs !== undefined ? { failoverMs: options.failoverMs } : {}),
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
  };
  const client = await MonitorClient.open(clientOptions);
  const watch =
    options.serverFile !== undefined && !offline
      ? followServerFile(client, options.serverFile, options.onServerChange, onError)
      : null;
  const fork = (step: number, f: ForkOptions): Promise<Run> => forkRun(options, client, token, step, f);
  return new Run(client, () => watch?.stop(), systemIntervalMs, fork);
}

/** A new run, created with the options `options` opened its parent with, as a fork of it after `step`. */
async function forkRun(
  options: ConnectOptions,
  client: MonitorClient,
  token: string | undefined,
  step: number,
  f: ForkOptions,
): Promise<Run> {
  const id = client.runId;
  if (id === null || client.isOffline) {
    throw gwError('GW_ERR_OPTION', 'an offline run cannot be forked (sync it to a server first)');
  }
  const parent = await fetchRemoteRun(client.serverUrl, token, id);
  const { resume: _resume, serverFile: _serverFile, onServerChange: _onServerChange, ...rest } = options;
  return connect({
    ...rest,
    server: client.serverUrls,
    ...(token !== undefined ? { token } : {}),
    name: f.name ?? `${parent.name} (fork at step ${step})`.slice(0, 200),
    config: f.config ?? parent.config,
    tags: f.tags ?? parent.tags,
    ...(f.notes !== undefined ? { notes: f.notes } : {}),
    backend: parent.backend ?? options.backend,
    device: parent.device ?? options.device,
    parent: { id, step },
    waitMs: 0,
  });
}

export {
  Run,
  type CloseOptions,
  type Control,
  type ForkOptions,
  type HistogramOptions,
  type ImageOptions,
  type LatentOptions,
} from './run.js';
export { MonitorClient, type MonitorOptions, type MonitorStats, type ReceivedControl } from './client.js';
export { Spool, type SpoolRunInfo, type SpooledFrame, type SpooledUpload } from './spool.js';
export { normalizeServer, parseServers } from './servers.js';
export { describeFetchFailure, fetchRemoteRun } from './http.js';
export { readServerFile, watchServerFile, type ServerFileWatch } from './server-file.js';
export { GanwatchError, isGanwatchError } from '../../protocol/index.js';
