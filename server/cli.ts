// The `ganwatch` command (bin/ganwatch.js): `serve` (what `npm start` does), `backup FILE` (an online, consistent
// copy of a live database), `prune` (retention by hand), `check` (integrity), `import tensorboard LOGDIR` (a client of
// a running server, in importers/). Errors are one line and exit code 2.
import { Command, CommanderError, Option } from 'commander';
import { API_PREFIX, gwError, isGanwatchError, type Run } from '../protocol/index.js';
import { backupStore, integrityCheck, pruneStore } from '../db/maintenance.js';
import { redactLocation } from '../db/store.js';
import { migrateSqliteToPostgres } from '../db/transfer.js';
import { importCommand } from '../importers/cli.js';
import { DEFAULT_DB, addServerOptions, serverConfigOf } from './config.js';
import { exitOnStartFailure, serve } from './main.js';
import { DAY_S } from './services/retention.js';

function dbOption(): Option {
  return new Option('--db <path|url>', 'SQLite database file, or postgres://USER:PASS@HOST:PORT/DB')
    .env('GANWATCH_DB')
    .default(DEFAULT_DB);
}

function days(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw gwError('GW_ERR_CONFIG', `--retention-days must be a positive number of days (got '${value}')`);
  return n;
}

interface PruneOptions {
  retentionDays: string;
  db: string;
  server?: string;
  token?: string;
  dryRun?: boolean;
  force?: boolean;
}

/** Retention through a running server's API: list ended runs, DELETE the old ones (the server keeps its caches right). */
async function pruneThroughServer(
  server: string,
  token: string | undefined,
  cutoff: number,
  dryRun: boolean,
): Promise<string[]> {
  const base = `${server.replace(/\/+$/, '')}${API_PREFIX}`;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const call = async (method: string, path: string): Promise<Response> => {
    try {
      return await fetch(base + path, { method, headers, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw gwError('GW_ERR_SERVER', server, `unreachable (${(err as Error).message})`);
    }
  };
  const old: string[] = [];
  for (const status of ['finished', 'failed']) {
    const res = await call('GET', `/runs?status=${status}`);
    if (!res.ok)
      throw gwError('GW_ERR_SERVER', server, `listing runs answered HTTP ${res.status}: ${await res.text()}`);
    const { runs } = (await res.json()) as { runs: Run[] };
    for (const r of runs) if (r.finished_at !== null && r.finished_at < cutoff) old.push(r.id);
  }
  if (dryRun) return old;
  const deleted: string[] = [];
  for (const id of old) {
    const res = await call('DELETE', `/runs/${encodeURIComponent(id)}`);
    if (res.status === 204 || res.status === 404) deleted.push(id);
    else throw gwError('GW_ERR_SERVER', server, `deleting run ${id} answered HTTP ${res.status}: ${await res.text()}`);
  }
  return deleted;
}

export function buildCli(): Command {
  const program = new Command('ganwatch')
    .description('ganwatch: live monitoring of BicycleGAN training (server, backups, retention)')
    .showHelpAfterError()
    .exitOverride();

  const serveCmd = addServerOptions(
    program.command('serve').description('run the server: API, sockets and dashboard (what `npm start` does)'),
  );
  serveCmd.exitOverride().action(async () => {
    await serve(serverConfigOf(serveCmd)).catch(exitOnStartFailure);
  });

  program
    .command('backup')
    .description(
      'write a consistent copy of the database to FILE, safely while servers are writing it (SQLite: online backup; PostgreSQL: pg_dump)',
    )
    .argument(
      '<file>',
      'the backup file to write (SQLite: a database file; PostgreSQL: a pg_dump custom-format archive)',
    )
    .addOption(dbOption())
    .option('--force', 'replace FILE if it exists')
    .option('--no-verify', 'skip checking the copy (SQLite: PRAGMA integrity_check; PostgreSQL: pg_restore --list)')
    .exitOverride()
    .action(async (file: string, o: { db: string; force?: boolean; verify: boolean }) => {
      const r = await backupStore(o.db, file, { overwrite: Boolean(o.force), verify: o.verify });
      console.log(
        `backup: ${redactLocation(o.db)} → ${r.file}: ${(r.bytes / 1e6).toFixed(1)} MB, ${r.detail} in ${(r.ms / 1000).toFixed(2)} s; integrity ${r.integrity}`,
      );
    });

  program
    .command('prune')
    .description('delete runs that finished or failed more than N days ago (what serve --retention-days does daily)')
    .requiredOption('--retention-days <n>', 'age in days past which ended runs are deleted')
    .addOption(dbOption())
    .addOption(
      new Option('--server <url>', 'prune through this running server instead of the file').env('GANWATCH_SERVER'),
    )
    .addOption(new Option('--token <token>', "the server's write token").env('GANWATCH_TOKEN'))
    .option('--dry-run', 'list the runs that would be deleted, delete nothing')
    .option('--force', 'prune a SQLite file even though it looks in use by a server')
    .exitOverride()
    .action(async (o: PruneOptions) => {
      const cutoff = Date.now() / 1000 - days(o.retentionDays) * DAY_S;
      const ids = o.server
        ? await pruneThroughServer(o.server, o.token || undefined, cutoff, Boolean(o.dryRun))
        : await pruneStore(o.db, cutoff, { dryRun: Boolean(o.dryRun), force: Boolean(o.force) });
      const verb = o.dryRun ? 'would delete' : 'deleted';
      console.log(
        `prune: ${verb} ${ids.length} run(s) that ended more than ${o.retentionDays} days ago${ids.length ? ': ' + ids.join(', ') : ''}`,
      );
    });

  program
    .command('check')
    .description(
      'check the stored data (SQLite: PRAGMA integrity_check; PostgreSQL: amcheck and envelope checks; read-only, safe while servers run)',
    )
    .addOption(dbOption())
    .exitOverride()
    .action(async (o: { db: string }) => {
      const result = await integrityCheck(o.db);
      console.log(`check: ${redactLocation(o.db)}: ${result}`);
      if (result !== 'ok') process.exitCode = 1;
    });

  program.addCommand(importCommand());

  program
    .command('migrate')
    .description(
      'copy a SQLite database (no server running on it) into an empty PostgreSQL store: every table, ids kept',
    )
    .requiredOption('--from <file>', 'the SQLite database file')
    .requiredOption('--to <url>', 'the PostgreSQL store: postgres://USER:PASS@HOST:PORT/DB (an empty database)')
    .exitOverride()
    .action(async (o: { from: string; to: string }) => {
      const r = await migrateSqliteToPostgres(o.from, o.to, (done, total) => {
        if (process.stderr.isTTY) process.stderr.write(`\rmigrate: ${done}/${total} runs`);
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(
        `migrate: ${o.from} → ${redactLocation(o.to)}: ${r.runs} runs, ${r.points} points in ${(r.ms / 1000).toFixed(2)} s`,
      );
    });

  return program;
}

/** Runs the CLI with `argv` (arguments after the program name). */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildCli().parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError)
      process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
    if (isGanwatchError(err)) {
      console.error(`ganwatch: ${err.code}: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main(process.argv.slice(2));
