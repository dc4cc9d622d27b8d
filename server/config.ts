// Server configuration: command-line flags over environment variables over defaults.
import { Command, Option } from 'commander';

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
}

export function parseServerArgs(argv: string[]): ServerConfig {
  const program = new Command('ganwatch-server')
    .description('ganwatch: the server that stores training metrics in SQLite and serves the dashboard')
    .addOption(new Option('--host <host>', 'address to bind').env('GANWATCH_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on (0 picks a free one)').env('GANWATCH_PORT').default('8080'))
    .addOption(new Option('--db <path>', 'SQLite database file (created on first start)').env('GANWATCH_DB').default('./data/ganwatch.db'))
    .addOption(new Option('--token <token>', 'require this token for every write (HTTP and the ingest socket)').env('GANWATCH_TOKEN'))
    .addOption(new Option('--read-token <token>', 'require this token for reads too (API, live socket, dashboard)').env('GANWATCH_READ_TOKEN'))
    .addOption(new Option('--durable', 'fsync every commit (survives power loss, slower); default survives process crashes').env('GANWATCH_DURABLE'))
    .addOption(
      new Option('--webhook <url>', 'POST every alert to this URL (JSON with a Slack-compatible "text"); repeatable')
        .env('GANWATCH_WEBHOOK')
        .argParser((value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)]),
    )
    .addOption(new Option('--public-url <url>', 'the dashboard address people use, for links in alert messages').env('GANWATCH_PUBLIC_URL'))
    .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug').env('GANWATCH_LOG_LEVEL').default('warn'))
    .showHelpAfterError()
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    host: string;
    port: string;
    db: string;
    token?: string;
    readToken?: string;
    durable?: boolean;
    logLevel: string;
    webhook?: string[] | string;
    publicUrl?: string;
  }>();
  const webhooks = typeof o.webhook === 'string' ? o.webhook.split(',').filter(Boolean) : (o.webhook ?? []);
  for (const url of webhooks) {
    if (!/^https?:\/\/[^\s]+$/.test(url)) program.error(`error: --webhook must be an http(s) URL (got '${url}')`, { exitCode: 2 });
  }
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    program.error(`error: --port must be an integer from 0 to 65535 (got '${o.port}')`, { exitCode: 2 });
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
  };
}
