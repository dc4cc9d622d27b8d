// `npm start`: open the database, serve the API and the dashboard, shut down cleanly on SIGINT/SIGTERM.
import { CommanderError } from 'commander';
import { isGanwatchError } from '../protocol/index.js';
import { openStore, redactLocation } from '../db/store.js';
import { buildApp } from './app.js';
import { parseServerArgs, type ServerConfig } from './config.js';
import { startRetention } from './services/retention.js';
import { checkBind } from './security.js';

export async function startServer(config: ServerConfig): Promise<{ url: string; close: () => Promise<void> }> {
  checkBind(config.host, config.token, config.insecure);
  const store = await openStore(config.db, { synchronous: config.durable ? 'full' : 'normal' });
  // An IPv6 address goes in brackets in a URL.
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const publicUrl = config.publicUrl ?? `http://${host}:${config.port}`;
  let built: Awaited<ReturnType<typeof buildApp>>;
  try {
    built = await buildApp({
      store,
      token: config.token,
      readToken: config.readToken,
      logger: { level: config.logLevel },
      webhooks: config.webhooks,
      publicUrl,
      corsOrigins: config.cors,
      rateLimit: config.rateLimit,
      trustProxy: config.trustProxy,
      trainerTimeoutMs: config.trainerTimeout * 1000,
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const { app, ctx } = built;
  let stopRetention = (): void => undefined;
  try {
    // Join the servers on this store: relayed frames and notices, a heartbeat, and runs left `running` by a server
    // that stopped or was killed (none is held by a live server) marked disconnected.
    // (Heartbeat first: a server that hears this one's hello and then beats must already count it.)
    await ctx.presence.start();
    ctx.relay.start();
    await ctx.presence.adoptOrphans();
    ctx.liveness.start(config.livenessTick * 1000);
    app.addHook('onClose', async () => {
      ctx.liveness.stop();
      await ctx.presence.stop(); // its runs' `disconnected` still reaches the other servers' browsers
      ctx.relay.stop();
    });
    if (config.retentionDays !== null) {
      const retention = startRetention(ctx, config.retentionDays, (msg) => app.log.warn(msg));
      stopRetention = retention.stop;
      await retention.done;
    }
    app.addHook('onClose', async () => stopRetention());
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    stopRetention();
    await app.close();
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await app.close();
      await store.close();
    })());
  return { url: `http://${host}:${port}`, close };
}

/** Starts the server, prints where it listens, and closes it cleanly on SIGINT/SIGTERM (exit 0). */
export async function serve(config: ServerConfig): Promise<void> {
  const server = await startServer(config);
  console.log(
    `ganwatch listening on ${server.url} (database ${redactLocation(config.db)}${config.token ? ', writes need a token' : ''})`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`ganwatch: ${signal}, closing sockets and checkpointing the database`);
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

/** One line on stderr for a server that could not start, and exit code 2. */
export function exitOnStartFailure(err: unknown): never {
  if (isGanwatchError(err)) console.error(`ganwatch: ${err.code}: ${err.message}`);
  else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
    console.error(`ganwatch: ${(err as Error).message} (is another server running? use --port)`);
  else console.error('ganwatch: failed to start:', err);
  process.exit(2);
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = parseServerArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  await serve(config);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch(exitOnStartFailure);
}
