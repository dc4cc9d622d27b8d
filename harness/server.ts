// Test support: the real ganwatch server as a child process on an ephemeral port, with a real store: a SQLite file in a
// temp folder, or a fresh PostgreSQL database when the suite runs on PostgreSQL (harness/store.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshLocation } from './store.js';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

// Clients made by the tests (and trainers they start) push no system metrics unless a test asks for them: a sample
// every 10 s would add points to the exact counts other tests check whenever a slow machine makes a run last longer.
process.env.GANWATCH_SYSTEM_METRICS ??= '0';

export interface ServerOptions {
  /** The store: a SQLite file or a postgres:// URL (default: a fresh one, see harness/store.ts). */
  dbPath?: string;
  token?: string;
  readToken?: string;
  port?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface RunningServer {
  url: string;
  port: number;
  /** The store's location: a SQLite file or a postgres:// URL. */
  dbPath: string;
  process: ChildProcess;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and database (after stop or kill). */
  restart(): Promise<void>;
}

export function tempDir(prefix = 'ganwatch-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function launch(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ child, url: m[1]! });
      }
    };
    child.stdout.on('data', onData);
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${err || out}`)));
  });
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const dbPath = options.dbPath ?? (await freshLocation());
  const baseArgs = ['--host', '127.0.0.1', '--db', dbPath, ...(options.extraArgs ?? [])];
  if (options.token) baseArgs.push('--token', options.token);
  if (options.readToken) baseArgs.push('--read-token', options.readToken);
  const env = {
    GANWATCH_TOKEN: '',
    GANWATCH_READ_TOKEN: '',
    GANWATCH_PORT: '',
    GANWATCH_DB: '',
    ...(options.env ?? {}),
  };
  const launched = await launch([...baseArgs, '--port', String(options.port ?? 0)], env);
  const url = launched.url;
  let child = launched.child;
  const port = Number(new URL(url).port);
  const server: RunningServer = {
    url,
    port,
    dbPath,
    process: child,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async restart() {
      await exited(child);
      for (let attempt = 0; ; attempt++) {
        try {
          ({ child } = await launch([...baseArgs, '--port', String(port)], env));
          server.process = child;
          return;
        } catch (err) {
          if (attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100)); // the port may linger briefly after a kill
        }
      }
    },
  };
  return server;
}

/** Codes of a kept-alive connection that broke before the request was answered. */
const SOCKET_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * fetch, with a GET retried once when the pooled connection it was sent on broke (as browsers retry an idempotent
 * request), and any failure named with its cause: "fetch failed" alone does not say whether the server died.
 */
async function fetchOnce(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
    if (init.method === 'GET' && SOCKET_ERRORS.has(code)) return fetch(url, init);
    const cause = (err as { cause?: unknown }).cause;
    const why = cause instanceof Error ? ` (${cause.message})` : '';
    throw new Error(`${init.method} ${url}: ${(err as Error).message}${why}`, { cause: err });
  }
}

/** JSON over HTTP with an optional token; returns status and parsed body. */
export async function api<T = any>(
  server: { url: string },
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: string | Blob | undefined;
  if (Buffer.isBuffer(body)) {
    payload = new Blob([new Uint8Array(body)]);
    headers['content-type'] = 'image/png';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetchOnce(server.url + path, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}
