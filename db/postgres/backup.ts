// Backup of a PostgreSQL store with pg_dump (PostgreSQL's own client, which must be installed, its version at least the
// server's): one consistent snapshot in the custom format, written beside the target and renamed once pg_restore
// --list has read it back. Restore with `pg_restore -d postgres://.../NEWDB FILE` into an empty database.
import { spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { gwError } from '../../protocol/index.js';
import type { BackupOptions, BackupResult } from '../maintenance.js';

/** Runs a PostgreSQL client program; resolves with its stdout, or rejects with its stderr's first line. */
function run(program: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === 'ENOENT'
            ? `${program} is not installed (it comes with the PostgreSQL client: apt-get install postgresql-client)`
            : e.message,
        ),
      ),
    );
    child.once('exit', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(err.trim().split('\n')[0] || `${program} exited ${code}`)),
    );
  });
}

export async function backupDatabase(url: string, target: string, options: BackupOptions = {}): Promise<BackupResult> {
  const to = resolve(target);
  if (!existsSync(dirname(to))) throw gwError('GW_ERR_BACKUP', to, `folder ${dirname(to)} does not exist`);
  if (existsSync(to) && !options.overwrite)
    throw gwError('GW_ERR_BACKUP', to, 'the file exists (use --force to replace it)');
  const tmp = `${to}.partial-${process.pid}`;
  const t0 = performance.now();
  let integrity = 'skipped';
  try {
    await run('pg_dump', ['--format=custom', '--no-owner', '--file', tmp, '--dbname', url]);
    if (options.verify !== false) {
      const listing = await run('pg_restore', ['--list', tmp]);
      if (!/TABLE public blocks\b/.test(listing)) throw new Error('the archive does not list the blocks table');
      integrity = 'ok';
    }
    renameSync(tmp, to);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw gwError('GW_ERR_BACKUP', to, (err as Error).message);
  }
  return {
    file: to,
    bytes: statSync(to).size,
    detail: 'pg_dump custom format',
    ms: performance.now() - t0,
    integrity,
  };
}
