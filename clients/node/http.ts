// The client's HTTP side: creating and reading runs, on the first of several servers that answers, and turning
// fetch failures and error bodies into messages that say what went wrong.
import {
  API_PREFIX,
  ERRORS,
  GanwatchError,
  gwError,
  type CreateRunBody,
  type ErrorCode,
  type Run,
} from '../../protocol/index.js';

const OPEN_TIMEOUT_MS = 10_000;

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
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
export async function describeHttpError(res: Response): Promise<{ code: string | null; detail: string }> {
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
export function serverError(code: string, message: string): GanwatchError {
  const known = (ERRORS as Record<string, { status: number }>)[code];
  return new GanwatchError((known ? code : 'GW_ERR_SERVER') as ErrorCode, message, known?.status ?? 500);
}

// Errors of servers that did not answer at all, as opposed to those that answered with an error: the next address
// is worth a try after the first kind only.
const unanswered = new WeakSet<GanwatchError>();

/** Whether `err` says a server could not be reached at all (rather than that it answered with an error). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof GanwatchError && unanswered.has(err);
}

function unreachable(server: string, detail: string): GanwatchError {
  const error = gwError('GW_ERR_SERVER', server, detail);
  unanswered.add(error);
  return error;
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
    throw unreachable(server, `${describeFetchFailure(err)}; cannot create run '${body.name}'`);
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
    throw unreachable(server, `${describeFetchFailure(err)}; cannot resume run '${id}'`);
  }
  if (res.status === 404) throw gwError('GW_ERR_RUN_NOT_FOUND', id);
  if (!res.ok) {
    const { detail } = await describeHttpError(res);
    throw gwError('GW_ERR_SERVER', server, `cannot read run '${id}': ${detail}`);
  }
  return (await res.json()) as Run;
}

/**
 * Calls `call` on each server in turn until one answers. A server that cannot be reached is skipped; an answer, even
 * an error, is final (servers sharing a store would all say the same). When none answers, the error names each.
 */
export async function onFirstAnswering<T>(
  servers: readonly string[],
  call: (server: string) => Promise<T>,
): Promise<{ server: string; value: T }> {
  const failures: GanwatchError[] = [];
  for (const server of servers) {
    try {
      return { server, value: await call(server) };
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      failures.push(err as GanwatchError);
    }
  }
  if (failures.length === 1) throw failures[0] as GanwatchError;
  throw new GanwatchError('GW_ERR_SERVER', failures.map((e) => e.message).join('; '), ERRORS.GW_ERR_SERVER.status);
}

/** Polls the health route of each server until one answers or `ms` pass (whatever follows reports a failure). */
export async function waitForServer(servers: readonly string[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const server of servers) {
      try {
        const res = await fetch(`${server}${API_PREFIX}/health`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // Not up yet.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
