// The HTTP API client: every fetch the dashboard makes, with the read token as a Bearer header when there is one.
import type {
  Alert,
  Control,
  ControlCommand,
  DistributionNamesResponse,
  DistributionsResponse,
  MarkerRecord,
  MediaItem,
  MetricSummary,
  PatchRunBody,
  Projection,
  ProjectionMethod,
  Run,
  RunRow,
  SeriesResponse,
  UserRule,
  UserRuleBody,
} from '../../protocol/index.js';
import { API_PREFIX } from '../../protocol/wire.js';

const TOKEN_KEY = 'ganwatch.token';

let token: string | null = readInitialToken();

function readInitialToken(): string | null {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    try {
      localStorage.setItem(TOKEN_KEY, fromUrl);
    } catch {
      /* storage may be disabled */
    }
    return fromUrl;
  }
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return token;
}

/** Uses a token entered by the user from now on (null forgets it). */
export function setToken(value: string | null): void {
  token = value && value.trim() ? value.trim() : null;
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage may be disabled */
  }
}

/** A URL for things the browser fetches by itself (images, links): the token must ride in the query string. */
export function withToken(url: string): string {
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole error body (e.g. the position of a bad runs-table expression). */
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) params.set(k, String(v));
  const qs = params.toString();
  return `${API_PREFIX}${path}${qs ? `?${qs}` : ''}`;
}

async function call<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The server did not answer (is it running?)');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const b = (body ?? {}) as { code?: string; message?: string };
    if (res.status === 401) unauthorizedListeners.forEach((fn) => fn());
    throw new ApiError(
      res.status,
      b.code ?? `HTTP_${res.status}`,
      b.message ?? `${method} ${path} failed with HTTP ${res.status}`,
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {},
    );
  }
  return body as T;
}

const unauthorizedListeners = new Set<() => void>();
/** Called whenever the server answers 401 (no or wrong read token). */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export interface SeriesRequest {
  buckets: number;
  from?: number;
  to?: number;
}

export type { Projection, ProjectionMethod };

export interface LatentEpoch {
  epoch: number;
  step?: number | null;
  count: number;
  dim?: number;
}

export const api = {
  runs: (signal?: AbortSignal) => call<{ runs: Run[] }>('GET', '/runs', { signal }).then((r) => r.runs),
  /** One page of the runs table (GET /runs with q, sort, columns, limit, cursor). */
  runTable: (
    query: { q?: string; sort?: string; columns?: string; limit: number; cursor?: string },
    signal?: AbortSignal,
  ) => call<{ runs: RunRow[]; total: number; next_cursor: string | null }>('GET', '/runs', { query, signal }),
  runFields: (signal?: AbortSignal) => call<{ metrics: string[]; config: string[] }>('GET', '/runs/fields', { signal }),
  run: (id: string, signal?: AbortSignal) => call<Run>('GET', `/runs/${id}`, { signal }),
  /** The runs forked from run `id`. */
  children: (id: string, signal?: AbortSignal) =>
    call<{ runs: Run[] }>('GET', '/runs', { query: { parent: id }, signal }).then((r) => r.runs),
  patchRun: (id: string, body: PatchRunBody) => call<Run>('PATCH', `/runs/${id}`, { body }),
  deleteRun: (id: string) => call<void>('DELETE', `/runs/${id}`),
  metrics: (id: string, signal?: AbortSignal) =>
    call<{ metrics: MetricSummary[] }>('GET', `/runs/${id}/metrics`, { signal }).then((r) => r.metrics),
  series: (id: string, metric: string, req: SeriesRequest, signal?: AbortSignal) =>
    call<SeriesResponse>('GET', `/runs/${id}/series`, {
      query: { metric, buckets: req.buckets, from: req.from, to: req.to },
      signal,
    }),
  markers: (id: string, signal?: AbortSignal) =>
    call<{ markers: MarkerRecord[] }>('GET', `/runs/${id}/markers`, { signal }).then((r) => r.markers),
  alerts: (query: { run?: string; state?: 'firing' | 'resolved'; limit?: number } = {}, signal?: AbortSignal) =>
    call<{ alerts: Alert[] }>('GET', '/alerts', { query, signal }).then((r) => r.alerts),
  ackAlert: (id: number) => call<Alert>('POST', `/alerts/${id}/ack`),
  muteAlert: (id: number, muted: boolean) => call<Alert>('POST', `/alerts/${id}/mute`, { body: { muted } }),
  applyAlert: (id: number) => call<{ alert: Alert; control: Control }>('POST', `/alerts/${id}/apply`),
  controls: (id: string, signal?: AbortSignal) =>
    call<{ controls: Control[]; trainer_connected?: boolean }>('GET', `/runs/${id}/controls`, { signal }),
  issueControl: (id: string, command: ControlCommand) =>
    call<Control>('POST', `/runs/${id}/controls`, { body: command }),
  media: (id: string, kind = 'samples', signal?: AbortSignal) =>
    call<{ media: MediaItem[] }>('GET', `/runs/${id}/media`, { query: { kind }, signal }).then((r) => r.media),
  latentEpochs: (id: string, signal?: AbortSignal) =>
    call<{ epochs: LatentEpoch[] }>('GET', `/runs/${id}/latents`, { signal }).then((r) => r.epochs),
  /** The user rules that apply to a run (server-wide and its own), or every rule when `run` is null. */
  userRules: (run: string | null, signal?: AbortSignal) =>
    call<{ rules: UserRule[] }>('GET', run === null ? '/alerts/user-rules' : `/runs/${run}/alerts/user-rules`, {
      signal,
    }).then((r) => r.rules),
  /** A new rule for one run, or server-wide when `run` is null. */
  createUserRule: (run: string | null, body: UserRuleBody) =>
    call<UserRule>('POST', run === null ? '/alerts/user-rules' : `/runs/${run}/alerts/user-rules`, { body }),
  updateUserRule: (id: number, body: UserRuleBody) => call<UserRule>('PUT', `/alerts/user-rules/${id}`, { body }),
  deleteUserRule: (id: number) => call<void>('DELETE', `/alerts/user-rules/${id}`),
  /** The distributions a run has (names, record counts, step ranges). */
  distributionNames: (id: string, signal?: AbortSignal) =>
    call<DistributionNamesResponse>('GET', `/runs/${id}/distributions/names`, { signal }).then((r) => r.names),
  /** One distribution's records over a step range, downsampled by the server to at most `max`. */
  distributions: (
    id: string,
    query: { name: string; from?: number; to?: number; max?: number },
    signal?: AbortSignal,
  ) => call<DistributionsResponse>('GET', `/runs/${id}/distributions`, { query, signal }),
  projection: (id: string, epoch: number, method: ProjectionMethod, signal?: AbortSignal) =>
    call<Projection>('GET', `/runs/${id}/projections`, { query: { epoch, method }, signal }),
};
