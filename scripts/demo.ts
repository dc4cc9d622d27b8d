// `npm run demo [-- TRAINER FLAGS]`: starts a ganwatch server (unless one already answers at the address) and a
// trainer on the synthetic dataset, sized so curves appear within seconds and a first validation (samples and
// latent codes) within a minute on a 2-core machine. GANWATCH_HOST/PORT/DB/TOKEN are honoured by both processes.
// Ctrl-C stops the trainer first (it checkpoints, sets its status and flushes), then the server it started.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_FLAGS } from './demo-flags.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** tsx's loader by absolute URL, so the children start from any working folder. */
const TSX = import.meta.resolve('tsx');

const log = (msg: string) => console.log(`demo: ${msg}`);

function serverAddress(env: NodeJS.ProcessEnv): { url: string; port: string } {
  const port = env.GANWATCH_PORT || '8080';
  const host = env.GANWATCH_HOST || '127.0.0.1';
  // A server bound to every interface is reached on loopback.
  const connect = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { url: `http://${connect}:${port}`, port };
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(1500) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Sends `signal`, then SIGKILL after `graceMs` if the process is still there. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited(child);
  clearTimeout(timer);
  return code;
}

/** Starts `tsx server/main.ts` and resolves with its URL once it listens. */
function startServer(): Promise<{ child: ChildProcess; url: string }> {
  // Its own process group: a terminal's Ctrl-C reaches only the demo, which stops the trainer before the server.
  const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'server/main.ts')], {
    cwd: process.cwd(),
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`server: ${chunk.toString()}`));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.on('data', (c: Buffer) => process.stdout.write(`server: ${c.toString()}`));
        child.off('exit', onExit);
        resolve({ child, url: m[1]!.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://127.0.0.1:') });
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`the server exited (code ${code}) before listening${out ? `: ${out.trim()}` : ''}`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

async function main(): Promise<number> {
  const extra = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const { url: expected, port } = serverAddress(process.env);
  const startTrainer = (url: string): ChildProcess =>
    spawn(
      process.execPath,
      [
        '--import',
        TSX,
        '--conditions=ganwatch-source',
        path.join(ROOT, 'trainer/train.ts'),
        '--server',
        url,
        '--wait-server',
        '60',
        '--name',
        'demo: synthetic palettes',
        ...DEMO_FLAGS,
        ...extra,
      ],
      { cwd: process.cwd(), env: process.env, stdio: 'inherit', detached: true },
    );

  let server: ChildProcess | null = null;
  let trainer: ChildProcess | null = null;
  let url = expected;
  if (await healthy(expected)) {
    log(`using the ganwatch server already running at ${expected}`);
  } else {
    log(`starting a ganwatch server (database ${process.env.GANWATCH_DB || './data/ganwatch.db'})`);
    const starting = startServer();
    // The trainer loads tfjs while the server starts (it waits for the server before creating its run); with
    // port 0 its address is known only once it listens.
    if (port !== '0') trainer = startTrainer(expected);
    try {
      ({ child: server, url } = await starting);
    } catch (err) {
      console.error(`demo: ${(err as Error).message}`);
      if (trainer) await stopChild(trainer, 'SIGKILL', 0);
      return 1;
    }
  }
  log(`dashboard: ${url}/  (the run appears there; its own page is printed below)`);
  trainer ??= startTrainer(url);
  const theTrainer = trainer;

  let stopping = false;
  let serverDied = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping the trainer (it saves a checkpoint and flushes its data)`);
    await stopChild(theTrainer, 'SIGINT', 60_000);
    if (server && server.exitCode === null && server.signalCode === null) {
      log('stopping the server');
      await stopChild(server, 'SIGINT', 15_000);
    }
  };

  const done = new Promise<number>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (stopping) return;
        void shutdown(signal).then(() => resolve(serverDied ? 1 : 0));
      });
    }
    server?.once('exit', (code, signal) => {
      if (stopping) return;
      serverDied = true;
      console.error(
        `demo: the ganwatch server exited unexpectedly (${signal ?? `code ${code}`}); stopping the trainer`,
      );
      void shutdown('server gone').then(() => resolve(1));
    });
    theTrainer.once('exit', (code, signal) => {
      if (stopping) return;
      if (code === 0) {
        if (server) {
          log(`training ended; the server keeps running at ${url}/ — press Ctrl-C to stop it`);
        } else {
          resolve(0);
        }
      } else {
        console.error(`demo: the trainer exited with ${signal ?? `code ${code}`}`);
        stopping = true;
        void (server ? stopChild(server, 'SIGINT', 15_000) : Promise.resolve(null)).then(() => resolve(code ?? 1));
      }
    });
  });
  return done;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('demo: failed:', err);
    process.exit(1);
  },
);
