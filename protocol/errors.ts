// The one registry of user-facing errors: every code a user can see, its HTTP status and its message.
// Search for a code (e.g. GW_ERR_RUN_NOT_FOUND) to find where it is raised. Add new errors here, never inline.
import { API_PREFIX } from './wire.js';

type Format = (...args: string[]) => string;

function def<F extends Format>(status: number, format: F) {
  return { status, format };
}

export const ERRORS = {
  // ---- requests (server) ----
  GW_ERR_VALIDATION: def(400, (detail: string) => `Invalid request: ${detail}`),
  GW_ERR_BAD_JSON: def(400, (detail: string) => `Body is not valid JSON: ${detail}`),
  GW_ERR_BODY_TOO_LARGE: def(413, (limit: string) => `Body too large: the limit is ${limit} bytes`),
  GW_ERR_UNSUPPORTED_MEDIA_TYPE: def(415, (type: string) => `Unsupported content type '${type}'`),
  GW_ERR_NOT_PNG: def(400, () => 'Body is not a PNG image (it must start with the PNG signature)'),
  GW_ERR_DISTRIBUTION_SHAPE: def(
    400,
    (index: string, name: string, step: string, problem: string) =>
      `Distribution ${index} ('${name}' at step ${step}) ${problem}; nothing was stored`,
  ),
  GW_ERR_LATENT_SHAPE: def(400, (detail: string) => `Latent codes do not match their declared shape: ${detail}`),
  GW_ERR_RANGE: def(400, (detail: string) => `Invalid range: ${detail}`),
  GW_ERR_ROUTE_NOT_FOUND: def(404, (method: string, url: string) => `No route ${method} ${url}`),
  GW_ERR_RUN_QUERY: def(
    400,
    (param: string, position: string, detail: string) => `Invalid ${param} at character ${position}: ${detail}`,
  ),
  GW_ERR_RUN_CURSOR: def(
    400,
    (detail: string) => `Invalid cursor: ${detail} (a cursor is only valid with the q, sort and filters it came with)`,
  ),
  GW_ERR_RUN_NOT_FOUND: def(404, (id: string) => `Run '${id}' does not exist`),
  GW_ERR_MEDIA_NOT_FOUND: def(404, (id: string) => `Media item ${id} does not exist in this run`),
  GW_ERR_LATENTS_NOT_FOUND: def(404, (epoch: string) => `No latent codes for epoch ${epoch} in this run`),
  GW_ERR_METRIC_NOT_FOUND: def(404, (name: string) => `Metric '${name}' does not exist in this run`),
  GW_ERR_UNAUTHORIZED: def(
    401,
    (what: string) =>
      `Missing or wrong token: ${what} needs a valid token (Authorization: Bearer TOKEN, or ?token=TOKEN)`,
  ),
  GW_ERR_CONTROL_NOT_FOUND: def(404, (id: string) => `Control ${id} does not exist in this run`),
  GW_ERR_ALERT_NOT_FOUND: def(404, (id: string) => `Alert ${id} does not exist`),
  GW_ERR_NO_REMEDY: def(409, (id: string) => `Alert ${id} has no remedy that can be applied`),
  GW_ERR_UNKNOWN_RULE: def(400, (rule: string, known: string) => `Unknown alert rule '${rule}'; known rules: ${known}`),
  GW_ERR_UNKNOWN_RULE_PARAM: def(
    400,
    (rule: string, param: string, known: string) =>
      `Alert rule '${rule}' has no parameter '${param}'; its parameters: ${known}`,
  ),
  GW_ERR_USER_RULE_NOT_FOUND: def(404, (id: string) => `User rule ${id} does not exist`),
  GW_ERR_USER_RULE_METRIC: def(
    400,
    (metric: string) =>
      `User rule metric '${metric}' is not a metric name or pattern: 1 to 128 of letters, digits, _ . / - and * (any characters)`,
  ),
  GW_ERR_USER_RULE_COMPARISON: def(
    400,
    (comparison: string, known: string) => `User rule comparison '${comparison}' is not one of ${known}`,
  ),
  GW_ERR_RATE_LIMITED: def(429, () => 'Too many requests; retry later'),
  GW_ERR_INTERNAL: def(500, () => 'Internal server error'),
  GW_ERR_DB_UNAVAILABLE: def(
    503,
    (where: string, detail: string) => `The database ${where} cannot be reached (${detail}); retry later`,
  ),
  // ---- WebSocket frames (server) ----
  GW_ERR_FRAME_NOT_JSON: def(400, (detail: string) => `Frame is not valid JSON: ${detail}`),
  GW_ERR_FRAME_BINARY: def(400, () => 'Binary frames are not accepted; send JSON text frames'),
  GW_ERR_FRAME_INVALID: def(400, (detail: string) => `Invalid frame: ${detail}`),
  GW_ERR_FRAME_TOO_LARGE: def(413, (limit: string) => `Frame too large: the limit is ${limit} bytes`),
  GW_ERR_INGEST_RUN: def(400, (detail: string) => `Ingest socket: ${detail}`),
  // ---- server start-up ----
  GW_ERR_CONFIG: def(2, (detail: string) => `Invalid configuration: ${detail}`),
  GW_ERR_DB_OPEN: def(2, (path: string, detail: string) => `Cannot open database '${path}': ${detail}`),
  // ---- trainer ----
  GW_ERR_BACKEND_MISSING: def(
    2,
    (backend: string, install: string) => `Backend '${backend}' is not available: ${install}`,
  ),
  GW_ERR_DATASET_MISSING: def(2, (path: string) => `Dataset folder '${path}' does not exist`),
  GW_ERR_DATASET_EMPTY: def(2, (path: string) => `Dataset folder '${path}' holds no .jpg, .jpeg or .png images`),
  GW_ERR_IMAGE_CORRUPT: def(2, (file: string, detail: string) => `Cannot decode image '${file}': ${detail}`),
  GW_ERR_IMAGE_SIZE: def(2, (file: string, detail: string) => `Image '${file}' has an unusable size: ${detail}`),
  GW_ERR_OPTION: def(2, (detail: string) => `Invalid option: ${detail}`),
  GW_ERR_CHECKPOINT: def(2, (path: string, detail: string) => `Checkpoint '${path}': ${detail}`),
  GW_ERR_SERVER: def(2, (url: string, detail: string) => `Server ${url}: ${detail}`),
  // ---- trainer monitor client ----
  GW_ERR_MONITOR_INPUT: def(2, (detail: string) => `Monitor client: ${detail}`),
  GW_ERR_SPOOL: def(2, (dir: string, detail: string) => `Spool folder '${dir}': ${detail}`),
  // ---- trainer evaluation (SSIM, FID, diversity, latent statistics) ----
  GW_ERR_EVAL_INPUT: def(2, (detail: string) => `Evaluation: ${detail}`),
  // ---- operations (ganwatch CLI: serve, backup, prune) ----
  GW_ERR_INSECURE_BIND: def(
    2,
    (host: string) =>
      `--host ${host} is reachable from other machines: give a --token (or GANWATCH_TOKEN), or --insecure to serve without one`,
  ),
  GW_ERR_BACKUP: def(2, (file: string, detail: string) => `Backup '${file}': ${detail}`),
  GW_ERR_MIGRATE: def(2, (detail: string) => `Migrate: ${detail}`),
  GW_ERR_DB_IN_USE: def(
    2,
    (path: string) =>
      `Database '${path}' seems to be in use by a running server (its -shm file exists): stop the server, or prune through it with --server URL (--force to go ahead anyway)`,
  ),
  // ---- TensorBoard import (ganwatch import tensorboard) ----
  GW_ERR_TB_LOGDIR: def(2, (path: string, detail: string) => `TensorBoard log directory '${path}': ${detail}`),
  GW_ERR_TB_RECORD: def(
    2,
    (file: string, offset: string, detail: string) => `Event file '${file}', record at byte ${offset}: ${detail}`,
  ),
  GW_ERR_TB_STATE: def(2, (path: string, detail: string) => `Import state '${path}': ${detail}`),
  GW_ERR_TB_NAME_CLASH: def(
    2,
    (run: string, first: string, second: string, name: string) =>
      `Run '${run}': tags '${first}' and '${second}' both map to metric '${name}'; their values share one series`,
  ),
  // ---- latent projections (server) ----
  GW_ERR_PROJECTION_METHOD: def(
    400,
    (method: string, known: string) => `Unknown projection method '${method}'; known methods: ${known}`,
  ),
  GW_ERR_NO_LATENTS: def(404, () => `This run has no latent codes yet (POST ${API_PREFIX}/runs/:id/latents)`),
} as const;

export type ErrorCode = keyof typeof ERRORS;
type ArgsOf<C extends ErrorCode> = Parameters<(typeof ERRORS)[C]['format']>;

/** A user-facing error: a searchable code, a message, and the HTTP status (or process exit code) it maps to. */
export class GanwatchError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, status: number) {
    super(message);
    this.name = 'GanwatchError';
    this.code = code;
    this.status = status;
  }
}

/** Builds the registered error `code` with its message arguments. */
export function gwError<C extends ErrorCode>(code: C, ...args: ArgsOf<C>): GanwatchError {
  const entry = ERRORS[code];
  // The cast widens each code's own signature to the one every format shares; ArgsOf<C> already checked the call.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed: without it the spread fails to type-check (TS2556)
  const message = (entry.format as (...a: string[]) => string)(...(args as string[]));
  return new GanwatchError(code, message, entry.status);
}

export function isGanwatchError(err: unknown): err is GanwatchError {
  return err instanceof GanwatchError;
}
