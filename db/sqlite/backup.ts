// Online backup: a consistent copy of a database file that a running server may be writing, taken through a second
// connection with SQLite's backup API. In WAL mode the copy reads one snapshot while the server keeps committing.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { gwError } from '../../protocol/index.js';
import type { BackupOptions, BackupResult } from '../maintenance.js';
import { integrityOf, openReadOnly } from './maintenance.js';

/**
 * Copies the database at `source` to `target`. The copy is made in a temporary file beside `target`, switched out of
 * WAL mode (one self-contained file), checked, and only then renamed to `target`, so a failed or interrupted backup
 * never leaves a half-written file under the target's name.
 */
export async function backupDatabase(
  source: string,
  target: string,
  options: BackupOptions = {},
): Promise<BackupResult> {
  const from = resolve(source);
  const to = resolve(target);
  if (from === to) throw gwError('GW_ERR_BACKUP', to, 'the backup file must differ from the database');
  if (!existsSync(from)) throw gwError('GW_ERR_DB_OPEN', from, 'no such file');
  if (!existsSync(dirname(to))) throw gwError('GW_ERR_BACKUP', to, `folder ${dirname(to)} does not exist`);
  if (existsSync(to) && !options.overwrite)
    throw gwError('GW_ERR_BACKUP', to, 'the file exists (use --force to replace it)');

  const tmp = `${to}.partial-${process.pid}`;
  const t0 = performance.now();
  const src = openReadOnly(from);
  let pages: number;
  try {
    // Copy every remaining page in one step: one read transaction, so one consistent snapshot, however busy the
    // server is (smaller steps would restart whenever another connection commits).
    const progress = await src.backup(tmp, { progress: () => 0x7fffffff });
    pages = progress.totalPages;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw gwError('GW_ERR_BACKUP', to, (err as Error).message);
  } finally {
    src.close();
  }

  let integrity = 'skipped';
  try {
    const copy = new Database(tmp, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
      if (options.verify !== false) integrity = integrityOf(copy);
    } finally {
      copy.close();
    }
    if (integrity !== 'ok' && integrity !== 'skipped')
      throw new Error(`the copy failed PRAGMA integrity_check: ${integrity.split('\n')[0]}`);
    renameSync(tmp, to);
  } catch (err) {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`, `${tmp}-journal`]) rmSync(f, { force: true });
    throw isBackupError(err) ? err : gwError('GW_ERR_BACKUP', to, (err as Error).message);
  }
  return {
    file: to,
    bytes: statSync(to).size,
    detail: `${pages} pages`,
    ms: performance.now() - t0,
    integrity,
  };
}

function isBackupError(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'GW_ERR_BACKUP';
}
