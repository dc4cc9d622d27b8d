// Server configuration: command-line flags over environment variables over defaults.
import { Command, Option } from 'commander';
import { DEFAULT_RATE_LIMIT } from './security.js';

/** A yes/no environment variable: only 1, true or yes turn it on (an empty `GANWATCH_INSECURE=` line does not). */
const envFlag = (name: string): boolean => /^(1|true|yes|on)$/i.test(process.env[name]?.trim() ?? '');

/** The database file when neither --db nor GANWATCH_DB names one. */
export const DEFAULT_DB = './data/ganwatch.db';

const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value.split(',').filter(Boolean),
];

export interface ServerConfig {
  host: string;
  port: number;
  db: string;
  token: string | null;
  readToken: string | null;
  durable: boolean;
  logLevel: string;
  webhooks: string[];
  publicUrl: string | null;
  /** Origins allowed to call the API cross-origin (none: no CORS headers at all). */
  cors: string[];
  /** Writes per minute per client (HTTP per IP, ingest frames per socket); 0: no limit. */
  rateLimit: number;
  /** Serve a non-loopback address without a token. */
  insecure: boolean;
  /** Delete runs that finished or failed more than this many days ago, at start-up and daily; null: keep everything. */
  retentionDays: number | null;
  /** Take the client address from X-Forwarded-For (behind a reverse proxy), for rate limits. */
  trustProxy: boolean;
  /** Seconds after its last answered control poll that an HTTP trainer still counts as connected. */
  trainerTimeout: number;
  /** Seconds between the liveness checks (a run that hangs, or stays disconnected). */
  livenessTick: number;
}

/** The server's flags on `program` (used by `npm start` and by `ganwatch serve`). */
export function addServerOptions(program: Command): Command {
  return program
    .addOption(new Option('--host <host>', 'address to bind').env('GANWATCH_HOST').default('127.0.0.1'))
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)').env('GANWATCH_PORT').default('8080'),
    )
    .addOption(
      new Option('--db <path>', 'SQLite database file (created on first start)').env('GANWATCH_DB').default(DEFAULT_DB),
    )
    .addOption(
      new Option('--token <token>', 'require this token for every write (HTTP and the ingest socket)').env(
        'GANWATCH_TOKEN',
      ),
    )
    .addOption(
      new Option('--read-token <token>', 'require this token for reads too (API, live socket, dashboard)').env(
        'GANWATCH_READ_TOKEN',
      ),
    )
    .addOption(
      new Option('--durable', 'fsync every commit (survives power loss, slower); default survives process crashes').env(
        'GANWATCH_DURABLE',
      ),
    )
    .addOption(
      new Option('--webhook <url>', 'POST every alert to this URL (JSON with a Slack-compatible "text"); repeatable')
        .env('GANWATCH_WEBHOOK')
        .argParser(collect),
    )
    .addOption(
      new Option('--public-url <url>', 'the dashboard address people use, for links in alert messages').env(
        'GANWATCH_PUBLIC_URL',
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'fatal, error, warn, info, debug').env('GANWATCH_LOG_LEVEL').default('warn'),
    )
    .addOption(
      new Option(
        '--cors <origin>',
        'let pages from this origin (e.g. https://lab.example.org) call the API; repeatable; default: no CORS',
      )
        .env('GANWATCH_CORS')
        .argParser(collect),
    )
    .addOption(
      new Option(
        '--rate-limit <n>',
        'writes per minute per client: HTTP per IP, ingest frames per socket (0: no limit)',
      )
        .env('GANWATCH_RATE_LIMIT')
        .default(String(DEFAULT_RATE_LIMIT)),
    )
    .addOption(new Option('--insecure', 'allow a non-loopback --host without a token (env GANWATCH_INSECURE=1)'))
    .addOption(
      new Option(
        '--retention-days <n>',
        'delete runs that finished or failed more than n days ago (at start-up, then daily)',
      ).env('GANWATCH_RETENTION_DAYS'),
    )
    .addOption(
      new Option(
        '--trainer-timeout <s>',
        'an HTTP trainer (one polling for controls) that has not polled for s seconds is disconnected',
      )
        .env('GANWATCH_TRAINER_TIMEOUT')
        .default('10'),
    )
    .addOption(
      new Option('--liveness-tick <s>', 'check every s seconds for runs that hang or stay disconnected')
        .env('GANWATCH_LIVENESS_TICK')
        .default('10'),
    )
    .addOption(
      new Option(
        '--trust-proxy',
        'behind a reverse proxy: client addresses from X-Forwarded-For (env GANWATCH_TRUST_PROXY=1)',
      ),
    );
}

export function parseServerArgs(argv: string[]): ServerConfig {
  const program = addServerOptions(
    new Command('ganwatch-server').description(
      'ganwatch: the server that stores training metrics in SQLite and serves the dashboard',
    ),
  )
    .showHelpAfterError()
    .exitOverride();
  program.parse(argv, { from: 'user' });
  return serverConfigOf(program);
}

/** Checks and converts the parsed flags of a program built with addServerOptions (exit code 2 on a bad value). */
export function serverConfigOf(program: Command): ServerConfig {
  const o = program.opts<{
    host: string;
    port: string;
    db: string;
    token?: string;
    readToken?: string;
    durable?: boolean;
    logLevel: string;
    webhook?: string[];
    publicUrl?: string;
    cors?: string[];
    rateLimit: string;
    insecure?: boolean;
    retentionDays?: string;
    trustProxy?: boolean;
    trainerTimeout: string;
    livenessTick: string;
  }>();
  // Commander runs collect() on environment values too: both lists are already split.
  const webhooks = o.webhook ?? [];
  for (const url of webhooks) {
    if (!/^https?:\/\/[^\s]+$/.test(url))
      program.error(`error: --webhook must be an http(s) URL (got '${url}')`, { exitCode: 2 });
  }
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    program.error(`error: --port must be an integer from 0 to 65535 (got '${o.port}')`, { exitCode: 2 });
  }
  const cors = o.cors ?? [];
  for (const origin of cors) {
    let ok: boolean;
    try {
      const u = new URL(origin);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === origin;
    } catch {
      ok = false;
    }
    if (!ok)
      program.error(
        `error: --cors takes an origin like https://lab.example.org (scheme, host, optional port; got '${origin}')`,
        { exitCode: 2 },
      );
  }
  const rateLimit = Number(o.rateLimit);
  if (!Number.isInteger(rateLimit) || rateLimit < 0) {
    program.error(
      `error: --rate-limit must be a whole number of writes per minute, 0 for no limit (got '${o.rateLimit}')`,
      { exitCode: 2 },
    );
  }
  let retentionDays: number | null = null;
  if (o.retentionDays !== undefined && o.retentionDays !== '') {
    retentionDays = Number(o.retentionDays);
    if (!Number.isFinite(retentionDays) || retentionDays <= 0) {
      program.error(`error: --retention-days must be a positive number of days (got '${o.retentionDays}')`, {
        exitCode: 2,
      });
    }
  }
  const trainerTimeout = Number(o.trainerTimeout);
  if (!Number.isFinite(trainerTimeout) || trainerTimeout <= 0 || trainerTimeout > 3600) {
    program.error(
      `error: --trainer-timeout must be a number of seconds above 0 and at most 3600 (got '${o.trainerTimeout}')`,
      { exitCode: 2 },
    );
  }
  const livenessTick = Number(o.livenessTick);
  if (!Number.isFinite(livenessTick) || livenessTick < 0.05 || livenessTick > 3600) {
    program.error(`error: --liveness-tick must be a number of seconds from 0.05 to 3600 (got '${o.livenessTick}')`, {
      exitCode: 2,
    });
  }
  return {
    host: o.host,
    port,
    db: o.db,
    token: o.token || null,
    readToken: o.readToken || null,
    durable: Boolean(o.durable),
    logLevel: o.logLevel,
    webhooks,
    publicUrl: o.publicUrl ?? null,
    cors,
    rateLimit,
    insecure: Boolean(o.insecure) || envFlag('GANWATCH_INSECURE'),
    retentionDays,
    trustProxy: Boolean(o.trustProxy) || envFlag('GANWATCH_TRUST_PROXY'),
    trainerTimeout,
    livenessTick,
  };
}
