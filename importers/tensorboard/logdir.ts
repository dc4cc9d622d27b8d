// Finds the runs of a TensorBoard log directory the way TensorBoard does: every directory (the root included) that
// holds event files (a name containing "tfevents", not ending in ".profile-empty") is a run, named by its path
// relative to the log directory ("." for the root). Symbolic links to directories are not followed (os.walk's default).
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { gwError } from '../../protocol/index.js';

export interface RunDir {
  /** Path relative to the log directory, with `/` separators; "." for the log directory itself. */
  name: string;
  dir: string;
  /** Event file names in the directory, sorted (TensorBoard's reading order: their names start with a timestamp). */
  files: string[];
}

export function isEventFile(name: string): boolean {
  return name.includes('tfevents') && !name.endsWith('.profile-empty');
}

/** The log directory's real path; GW_ERR_TB_LOGDIR when it is missing or not a directory. */
export function resolveLogdir(path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw gwError('GW_ERR_TB_LOGDIR', path, 'no such directory');
  }
  if (!statSync(real).isDirectory()) throw gwError('GW_ERR_TB_LOGDIR', path, 'is a file, not a directory');
  return real;
}

/** Every run under `logdir` (a real path), in name order. Unreadable subdirectories are left out. */
export function findRuns(logdir: string): RunDir[] {
  const runs: RunDir[] = [];
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const files = entries.filter((e) => e.isFile() && isEventFile(e.name)).map((e) => e.name);
    if (files.length > 0) {
      const rel = relative(logdir, dir).split(sep).join('/');
      runs.push({ name: rel === '' ? '.' : rel, dir, files: files.sort() });
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(logdir);
  return runs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
