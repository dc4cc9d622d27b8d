// `npm run sync -- --spool DIR --server URL [--token T]`: uploads everything a monitor spool holds (runs recorded
// offline, and whatever an online trainer left unacknowledged when it died) to a ganwatch server.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { API_PREFIX, gwError, isGanwatchError, type GanwatchError } from '../protocol/index.js';
import { MonitorClient, Spool, describeFetchFailure, parseServers } from 'ganwatch/client';

export interface SyncOptions {
  spoolDir: string;
  /** One server address, or several (comma-separated) sharing one store. */
  server: string;
  token?: string;
  /** Give up on a run after this long without progress (ms). */
  stallMs?: number;
  /** Only these spool folders (default: all). */
  runs?: string[];
}

export interface RunSyncResult {
  /** Spool folder name. */
  key: string;
  /** Run id on the server (null if it could not be created). */
  run: string | null;
  /** True if the run was created on the server by this sync (it existed only offline). */
  created: boolean;
  outcome: 'synced' | 'up-to-date' | 'skipped' | 'failed';
  points: number;
  batches: number;
  media: number;
  latents: number;
  rejectedPoints: number;
  errors: string[];
  seconds: number;
}

/** Fails with GW_ERR_SERVER unless something answers HTTP at the health route of one of the servers. */
export async function checkServer(servers: readonly string[], token?: string): Promise<void> {
  const failures: string[] = [];
  for (const server of servers) {
    try {
      const res = await fetch(`${server}${API_PREFIX}/health`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(5_000),
      });
      await res.arrayBuffer();
      return;
    } catch (err) {
      failures.push(describeFetchFailure(err));
    }
  }
  const which = servers.length === 1 ? failures[0] : servers.map((s, i) => `${s} ${failures[i]}`).join(', ');
  throw gwError('GW_ERR_SERVER', servers.join(', '), `${which}; is it running (npm start) and is the URL right?`);
}

/** Uploads every run of the spool, one after the other; returns one result per spool folder. */
export async function syncSpool(opts: SyncOptions, log: (line: string) => void = () => {}): Promise<RunSyncResult[]> {
  const servers = parseServers(opts.server);
  await checkServer(servers, opts.token);
  const stallMs = opts.stallMs ?? 30_000;
  const keys = opts.runs ?? Spool.list(opts.spoolDir);
  const results: RunSyncResult[] = [];
  for (const key of keys) {
    const result = await syncRun(opts, servers, key, stallMs);
    log(describe(result));
    results.push(result);
  }
  return results;
}

async function syncRun(
  opts: SyncOptions,
  servers: readonly string[],
  key: string,
  stallMs: number,
): Promise<RunSyncResult> {
  const started = Date.now();
  const result: RunSyncResult = {
    key,
    run: null,
    created: false,
    outcome: 'failed',
    points: 0,
    batches: 0,
    media: 0,
    latents: 0,
    rejectedPoints: 0,
    errors: [],
    seconds: 0,
  };
  try {
    const inspected = Spool.open(opts.spoolDir, key, { readOnly: true });
    result.run = inspected.run.server;
    result.created = inspected.run.server === null;
    for (const f of inspected.pendingFrames()) {
      result.points += f.points;
      result.batches++;
    }
    for (const u of inspected.pendingUploads()) {
      if (u.kind === 'media') result.media++;
      else result.latents++;
    }
    inspected.close();
  } catch (err) {
    result.errors.push(message(err));
    return result;
  }
  if (result.batches === 0 && result.media === 0 && result.latents === 0 && !result.created) {
    result.outcome = 'up-to-date';
    return result;
  }
  let client: MonitorClient;
  try {
    client = await MonitorClient.open({
      server: servers,
      token: opts.token,
      run: key,
      spoolDir: opts.spoolDir,
      onError: (e: GanwatchError) => {
        if (!result.errors.includes(e.message)) result.errors.push(e.message);
      },
    });
  } catch (err) {
    result.outcome = /in use by/.test(message(err)) ? 'skipped' : 'failed';
    result.errors.push(message(err));
    return result;
  }
  // Wait while there is progress; a run that makes none for stallMs is given up (it stays in the spool).
  let ok = false;
  let lastProgress = Date.now();
  let lastMark = '';
  while (!ok) {
    ok = await client.flush(500);
    const s = client.stats();
    const mark = `${client.runId}/${s.acked}/${s.rejected}/${s.unackedBatches}/${s.pendingUploads}`;
    if (mark !== lastMark) {
      lastMark = mark;
      lastProgress = Date.now();
    } else if (!ok && Date.now() - lastProgress > stallMs) {
      break;
    }
  }
  result.run = client.runId;
  result.rejectedPoints = client.stats().rejected;
  const lastError = client.stats().lastError;
  await client.close({ timeoutMs: 1_000 });
  if (ok) {
    result.outcome = 'synced';
    // Problems the client met and overcame (e.g. a retry) are not failures once everything is stored.
    if (result.rejectedPoints === 0) result.errors = [];
  } else {
    if (lastError && !result.errors.some((e) => lastError.endsWith(e))) result.errors.push(lastError);
    result.errors.push(`no progress for ${Math.round(stallMs / 1000)} s; what is left stays in the spool`);
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

function message(err: unknown): string {
  return isGanwatchError(err) ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err);
}

function describe(r: RunSyncResult): string {
  const name = r.run && r.run !== r.key ? `${r.key} → ${r.run}` : r.key;
  const what = `${r.points} points in ${r.batches} batches, ${r.media} media, ${r.latents} latent sets`;
  switch (r.outcome) {
    case 'up-to-date':
      return `${name}: up to date`;
    case 'synced':
      return (
        `${name}: ${r.created ? 'created run, ' : ''}uploaded ${what} in ${r.seconds.toFixed(1)} s` +
        (r.rejectedPoints > 0 ? `; the server rejected ${r.rejectedPoints} points: ${r.errors.join('; ')}` : '')
      );
    case 'skipped':
      return `${name}: skipped: ${r.errors.join('; ')}`;
    case 'failed':
      return `${name}: FAILED (${what} pending): ${r.errors.join('; ')}`;
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('npm run sync --')
    .description('Upload a monitor spool (runs recorded offline, or left unacknowledged) to a ganwatch server.')
    .requiredOption('--spool <dir>', 'spool folder the trainer wrote (its --spool option)')
    .requiredOption('--server <url>', 'ganwatch server, e.g. http://127.0.0.1:8080 (several: comma-separated)')
    .option('--token <token>', 'write token, if the server requires one (default: $GANWATCH_TOKEN)')
    .option('--run <key...>', 'only these spool folders')
    .option('--stall <seconds>', 'give up on a run after this many seconds without progress', positiveInt, 30)
    .option('--json', 'print the results as JSON')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = program.opts<{
    spool: string;
    server: string;
    token?: string;
    run?: string[];
    stall: number;
    json?: boolean;
  }>();
  if (!fs.existsSync(o.spool)) {
    console.error(`sync: GW_ERR_SPOOL: ${gwError('GW_ERR_SPOOL', o.spool, 'does not exist').message}`);
    return 2;
  }
  try {
    const results = await syncSpool(
      {
        spoolDir: o.spool,
        server: o.server,
        token: o.token ?? (process.env.GANWATCH_TOKEN || undefined),
        stallMs: o.stall * 1000,
        runs: o.run,
      },
      o.json ? () => {} : (line) => console.log(line),
    );
    const failed = results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped');
    if (o.json) {
      console.log(JSON.stringify({ server: parseServers(o.server).join(','), runs: results }, null, 2));
    } else {
      const points = results.reduce((n, r) => n + (r.outcome === 'synced' ? r.points : 0), 0);
      if (results.length === 0) console.log(`nothing to sync: no runs in ${o.spool}`);
      else
        console.log(
          `${results.length - failed.length} of ${results.length} runs in sync (${points} points uploaded now)`,
        );
    }
    return failed.length > 0 ? 1 : 0;
  } catch (err) {
    console.error(`sync: ${message(err)}`);
    return isGanwatchError(err) ? err.status : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error('sync failed:', err);
      process.exit(1);
    },
  );
}
