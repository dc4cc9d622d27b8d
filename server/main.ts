// `npm start`: open the database, serve the API and the dashboard, shut down cleanly on SIGINT/SIGTERM.
import { CommanderError } from 'commander';
import { isGanwatchError } from '../protocol/index.js';
import { Store } from '../db/store.js';
import { buildApp } from './app.js';
import { parseServerArgs, type ServerConfig } from './config.js';

export async function startServer(config: ServerConfig): Promise<{ url: string; close: () => Promise<void> }> {
  const store = Store.open(config.db, { synchronous: config.durable ? 'full' : 'normal' });
  const publicUrl = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const { app } = await buildApp({
    store,
    token: config.token,
    readToken: config.readToken,
    logger: { level: config.logLevel },
    webhooks: config.webhooks,
    publicUrl,
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    store.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await app.close();
      store.close();
    })());
  return { url: `http://${host}:${port}`, close };
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = parseServerArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  const server = await startServer(config);
  console.log(`ganwatch listening on ${server.url} (database ${config.db}${config.token ? ', writes need a token' : ''})`);
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

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    if (isGanwatchError(err)) console.error(`ganwatch: ${err.code}: ${err.message}`);
    else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') console.error(`ganwatch: ${(err as Error).message} (is another server running? use --port)`);
    else console.error('ganwatch: failed to start:', err);
    process.exit(2);
  });
}
