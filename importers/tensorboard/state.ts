// The importer's memory between invocations: for one (server, log directory) pair, each run's ganwatch id, how far
// each event file has been imported, and each tag's plugin (writers name a tag's plugin only on its first value, which
// a resumed import does not read again). Written after every stored batch, atomically (temp file, then rename).
// Losing it costs only time: runs are found again by their config, and re-imported values are upserts.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gwError } from '../../protocol/index.js';
import type { FileCursor } from './reader.js';

export interface RunState {
  /** The run's id on the server. */
  id: string;
  /** Event file name (in the run's directory) → cursor. */
  files: Record<string, FileCursor>;
  /** Tag → plugin name. */
  plugins: Record<string, string>;
}

interface StateFile {
  version: 1;
  server: string;
  logdir: string;
  /** Run name (path relative to the log directory) → state. */
  runs: Record<string, RunState>;
}

export class ImportState {
  readonly path: string;
  private readonly data: StateFile;

  private constructor(path: string, data: StateFile) {
    this.path = path;
    this.data = data;
  }

  /** The state of importing `logdir` into `server`, kept in `dir` (created if missing); empty when there is none. */
  static load(dir: string, server: string, logdir: string): ImportState {
    const key = createHash('sha256').update(`${server}\n${logdir}`).digest('hex').slice(0, 16);
    const path = join(dir, `${key}.json`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw gwError('GW_ERR_TB_STATE', dir, `cannot create the folder: ${(err as Error).message}`);
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return new ImportState(path, { version: 1, server, logdir, runs: {} });
    }
    try {
      const data = JSON.parse(text) as StateFile;
      if (data.version !== 1 || typeof data.runs !== 'object' || data.runs === null) throw new Error('unknown format');
      return new ImportState(path, data);
    } catch (err) {
      throw gwError(
        'GW_ERR_TB_STATE',
        path,
        `unreadable (${(err as Error).message}); delete it to import from scratch`,
      );
    }
  }

  /** The saved state of run `name` if it belongs to ganwatch run `id`; a fresh one otherwise (the run is new). */
  run(name: string, id: string): RunState {
    const saved = this.data.runs[name];
    if (saved && saved.id === id) return saved;
    const fresh: RunState = { id, files: {}, plugins: {} };
    this.data.runs[name] = fresh;
    return fresh;
  }

  save(): void {
    const tmp = `${this.path}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.data));
      renameSync(tmp, this.path);
    } catch (err) {
      throw gwError('GW_ERR_TB_STATE', this.path, `cannot write: ${(err as Error).message}`);
    }
  }
}
