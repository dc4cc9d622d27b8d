// Maps a TensorBoard log directory onto ganwatch runs through a server's API: each run directory becomes a run
// (found again on later imports by its config keys `tensorboard.logdir` and `tensorboard.run`), scalars become points
// at their step with the event's wall time, PNG images become media (epoch = step), text is appended to the run's
// notes, and the rest is counted and skipped. Points and media travel through the monitor client (batching, spool,
// resend); a file's cursor is saved only after the server has acknowledged everything read before it.
import { basename, join } from 'node:path';
import {
  API_PREFIX,
  MAX_NOTES_CHARS,
  MAX_VALUES_PER_POINT,
  MAX_WALL,
  gwError,
  isGanwatchError,
  type CreateRunBody,
  type GanwatchError,
  type Run,
} from '../../protocol/index.js';
import { MonitorClient, describeFetchFailure, fetchRemoteRun } from '../../clients/node/index.js';
import { decodeEvent, type DecodedEvent } from './events.js';
import { findRuns, resolveLogdir, type RunDir } from './logdir.js';
import { mediaKindOf, metricNameOf } from './names.js';
import { readChunks, type FileCursor, type RecordSpan } from './reader.js';
import { warningOf, type Reporter, type Totals } from './report.js';
import { ImportState, type RunState } from './state.js';

export const CONFIG_LOGDIR = 'tensorboard.logdir';
export const CONFIG_RUN = 'tensorboard.run';
const IMPORT_TAG = 'tensorboard';
const RETRY_MS = 1_000;
const HTTP_TIMEOUT_MS = 30_000;

export interface ImportOptions {
  logdir: string;
  /** Normalized server base URL. */
  server: string;
  token: string | undefined;
  /** Tags given to the runs it creates (besides `tensorboard`). */
  tags: string[];
  /** Tail the files (a half-written last record is waited for) and mark runs running rather than finished. */
  follow: boolean;
  /** Folder for the import state and the monitor client's spool. */
  stateDir: string;
  /** Images of this tag become media of kind `samples` (the dashboard's sample panel). */
  samplesTag: string | null;
  chunkBytes?: number;
  report: Reporter;
  /** Aborted: finish the chunk at hand and stop. */
  signal: AbortSignal;
}

interface RunImport {
  dir: RunDir;
  run: Run;
  client: MonitorClient;
  state: RunState;
  plugins: Map<string, string>;
  notes: string;
  notesDirty: boolean;
  notesFullReported: boolean;
  /** Tag → metric name, for the tags seen so far (a rename is reported when its tag is first seen). */
  names: Map<string, string>;
  /** Metric name → the first tag mapped to it (two tags on one name share a series: reported). */
  tagOf: Map<string, string>;
}

interface BatchCounts {
  points: number;
  images: number;
  texts: number;
}

const isWall = (w: number): boolean => Number.isFinite(w) && w > 0 && w <= MAX_WALL;

export class TensorBoardImporter {
  readonly logdir: string;
  private readonly opts: ImportOptions;
  private readonly state: ImportState;
  private readonly runs = new Map<string, RunImport>();
  private readonly totals: Totals = { runs: 0, records: 0, points: 0, images: 0, texts: 0, skipped: {}, problems: 0 };

  private constructor(opts: ImportOptions, logdir: string, state: ImportState) {
    this.opts = opts;
    this.logdir = logdir;
    this.state = state;
  }

  /** Checks the log directory and loads the state; the server is first contacted by the first pass. */
  static open(opts: ImportOptions): TensorBoardImporter {
    const logdir = resolveLogdir(opts.logdir);
    return new TensorBoardImporter(opts, logdir, ImportState.load(opts.stateDir, opts.server, logdir));
  }

  get summary(): Totals {
    return structuredClone(this.totals);
  }

  /** Imports everything written since the last pass: new runs, new files, new records. */
  async pass(): Promise<void> {
    const dirs = findRuns(this.logdir);
    const fresh = dirs.filter((d) => !this.runs.has(d.name));
    if (fresh.length > 0) {
      const known = await this.listRuns();
      for (const dir of fresh) {
        if (this.stopped) return;
        await this.openRun(dir, known);
      }
    }
    for (const dir of dirs) {
      const run = this.runs.get(dir.name);
      if (!run) continue;
      run.dir = dir;
      for (const file of dir.files) {
        if (this.stopped) return;
        await this.importFile(run, file);
      }
    }
  }

  /** Finishes every run's uploads and closes its client; `finished`: mark the runs finished (a complete import). */
  async close(finished: boolean): Promise<void> {
    for (const run of this.runs.values()) {
      if (finished && !this.stopped) run.client.setStatus('finished');
      const settled = await run.client.close({ timeoutMs: this.stopped ? 5_000 : 60_000 });
      if (!settled) {
        this.warn(
          gwError(
            'GW_ERR_SERVER',
            this.opts.server,
            `run '${run.dir.name}': unacknowledged data stays in the spool under ${this.spoolDir} and is resent by the next import`,
          ),
        );
      }
    }
  }

  private get stopped(): boolean {
    return this.opts.signal.aborted;
  }

  private get spoolDir(): string {
    return join(this.opts.stateDir, 'spool');
  }

  private warn(error: GanwatchError): void {
    this.opts.report(warningOf(error));
  }

  // ---------------------------------------------------------------- runs on the server

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${this.opts.server}${API_PREFIX}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (err) {
      throw gwError('GW_ERR_SERVER', this.opts.server, `${describeFetchFailure(err)} (${method} ${path})`);
    }
  }

  private async listRuns(): Promise<Run[]> {
    const res = await this.request('GET', '/runs');
    if (!res.ok) {
      throw gwError('GW_ERR_SERVER', this.opts.server, `listing runs answered HTTP ${res.status}: ${await res.text()}`);
    }
    return ((await res.json()) as { runs: Run[] }).runs;
  }

  private async patchRun(id: string, body: Record<string, unknown>): Promise<void> {
    const res = await this.request('PATCH', `/runs/${encodeURIComponent(id)}`, body);
    if (!res.ok) {
      throw gwError(
        'GW_ERR_SERVER',
        this.opts.server,
        `updating run ${id} answered HTTP ${res.status}: ${await res.text()}`,
      );
    }
  }

  /** Finds the run imported from `dir` before (by its config keys), or creates it, and opens a monitor client on it. */
  private async openRun(dir: RunDir, known: Run[]): Promise<void> {
    const found = known.find((r) => r.config[CONFIG_LOGDIR] === this.logdir && r.config[CONFIG_RUN] === dir.name);
    const client = found
      ? await MonitorClient.open({ ...this.clientOptions(), run: found.id })
      : await MonitorClient.open({ ...this.clientOptions(), create: this.createBody(dir) });
    const run = found ?? (await fetchRemoteRun(this.opts.server, this.opts.token, client.runId!));
    const state = this.state.run(dir.name, run.id);
    const entry: RunImport = {
      dir,
      run,
      client,
      state,
      plugins: new Map(Object.entries(state.plugins)),
      notes: run.notes,
      notesDirty: false,
      notesFullReported: false,
      names: new Map(),
      tagOf: new Map(),
    };
    this.runs.set(dir.name, entry);
    this.totals.runs++;
    // Nothing can carry a control to a trainer that only writes files: answer instead of leaving it pending.
    client.onControl((c) =>
      client.controlResult(
        c.id,
        false,
        undefined,
        'this run is imported from TensorBoard logs; its trainer cannot be reached',
      ),
    );
    if (this.opts.follow && run.status !== 'running') client.setStatus('running');
    if (found) await this.addMissingTags(found);
    this.opts.report({ event: 'run', run: dir.name, id: run.id, created: !found });
  }

  private clientOptions() {
    return {
      server: this.opts.server,
      token: this.opts.token,
      spoolDir: this.spoolDir,
      maxBatchPoints: 5_000,
      onError: (e: GanwatchError) => this.warn(e),
    };
  }

  private createBody(dir: RunDir): CreateRunBody {
    const base = dir.name === '.' ? basename(this.logdir) || this.logdir : dir.name;
    return {
      name: base.slice(0, 200),
      config: { [CONFIG_LOGDIR]: this.logdir, [CONFIG_RUN]: dir.name },
      tags: [...new Set([IMPORT_TAG, ...this.opts.tags])],
    };
  }

  private async addMissingTags(run: Run): Promise<void> {
    const wanted = [...new Set([...run.tags, IMPORT_TAG, ...this.opts.tags])];
    if (wanted.length !== run.tags.length) await this.patchRun(run.id, { tags: wanted });
  }

  // ---------------------------------------------------------------- files

  private async importFile(run: RunImport, file: string): Promise<void> {
    const path = join(run.dir.dir, file);
    const start: FileCursor = run.state.files[file] ?? { offset: 0, resyncing: false };
    for await (const chunk of readChunks(path, start, this.opts.follow, this.opts.chunkBytes)) {
      if (chunk.restarted) {
        this.warn(
          gwError('GW_ERR_TB_RECORD', path, String(start.offset), 'the file is now shorter: re-read from byte 0'),
        );
      }
      for (const p of chunk.problems) this.reportProblem(run, file, p.offset, p.detail);
      const counts = this.mapRecords(run, path, chunk.records);
      const from = chunk.records[0]?.offset ?? chunk.cursor.offset;
      const stored = await this.settle(run);
      if (!stored) return; // stopping: the cursor stays where the server's acknowledgements are
      run.state.files[file] = chunk.cursor;
      run.state.plugins = Object.fromEntries(run.plugins);
      this.state.save();
      this.totals.records += chunk.records.length;
      if (chunk.records.length > 0) {
        this.opts.report({
          event: 'batch',
          run: run.dir.name,
          file,
          from,
          to: chunk.cursor.offset,
          records: chunk.records.length,
          ...counts,
        });
      }
      if (this.stopped) return;
    }
  }

  private reportProblem(run: RunImport, file: string, offset: number, detail: string): void {
    const error = gwError('GW_ERR_TB_RECORD', join(run.dir.dir, file), String(offset), detail);
    this.totals.problems++;
    this.opts.report({ event: 'problem', run: run.dir.name, file, offset, code: error.code, message: error.message });
  }

  private skip(what: string, n = 1): void {
    this.totals.skipped[what] = (this.totals.skipped[what] ?? 0) + n;
  }

  /** Hands a chunk's records to the monitor client and the notes; counts what went where. */
  private mapRecords(run: RunImport, path: string, records: RecordSpan[]): BatchCounts {
    const counts: BatchCounts = { points: 0, images: 0, texts: 0 };
    for (const record of records) {
      let event: DecodedEvent;
      try {
        event = decodeEvent(record.data, run.plugins);
      } catch (err) {
        this.reportProblem(run, basename(path), record.offset, `not a TensorBoard event (${(err as Error).message})`);
        continue;
      }
      this.mapEvent(run, event, counts);
    }
    this.totals.points += counts.points;
    this.totals.images += counts.images;
    this.totals.texts += counts.texts;
    return counts;
  }

  private mapEvent(run: RunImport, event: DecodedEvent, counts: BatchCounts): void {
    const wall = isWall(event.wall) ? event.wall : undefined;
    const step = event.step;
    let values: Record<string, number> | null = null;
    let n = 0;
    for (const item of event.items) {
      if (item.kind === 'skipped') {
        this.skip(item.what);
      } else if (step === null) {
        this.skip(`${item.kind}s at a step below 0 or above 2^53`);
      } else if (item.kind === 'scalar') {
        values ??= {};
        const name = this.metricName(run, item.tag);
        if (!(name in values)) n++;
        values[name] = item.value;
        if (n === MAX_VALUES_PER_POINT) {
          this.pushPoint(run, step, values, n, wall, counts);
          values = null;
          n = 0;
        }
      } else if (item.kind === 'image') {
        if (this.pushImage(run, step, wall, item.tag, item.index, item.png)) counts.images++;
      } else if (this.addNote(run, step, item.tag, item.text)) {
        counts.texts++;
      }
    }
    if (values !== null && step !== null) this.pushPoint(run, step, values, n, wall, counts);
  }

  private pushPoint(
    run: RunImport,
    step: number,
    values: Record<string, number>,
    n: number,
    wall: number | undefined,
    counts: BatchCounts,
  ): void {
    run.client.push(step, values, wall);
    counts.points += n;
  }

  private metricName(run: RunImport, tag: string): string {
    let name = run.names.get(tag);
    if (name === undefined) {
      name = metricNameOf(tag);
      run.names.set(tag, name);
      if (name !== tag) this.opts.report({ event: 'renamed', run: run.dir.name, tag, metric: name });
      const other = run.tagOf.get(name);
      if (other === undefined) run.tagOf.set(name, tag);
      else this.warn(gwError('GW_ERR_TB_NAME_CLASH', run.dir.name, other, tag, name));
    }
    return name;
  }

  private pushImage(
    run: RunImport,
    step: number,
    wall: number | undefined,
    tag: string,
    index: number,
    png: Buffer,
  ): boolean {
    const meta: Record<string, unknown> = { tensorboard_tag: tag };
    if (index > 0) meta.index = index;
    if (wall !== undefined) meta.wall_time = wall;
    try {
      run.client.pushMedia(step, step, mediaKindOf(tag, index, this.opts.samplesTag), png, meta);
      return true;
    } catch (err) {
      if (!isGanwatchError(err)) throw err;
      this.warn(err);
      this.skip('images the server would refuse');
      return false;
    }
  }

  /** Appends `[step N] tag: text` to the run's notes once (a re-read of the same record adds nothing). */
  private addNote(run: RunImport, step: number, tag: string, text: string): boolean {
    const head = `[step ${step}] ${tag}:`;
    if (`\n${run.notes}`.includes(`\n${head} `)) return true;
    const entry = `${head} ${text}`;
    const notes = run.notes ? `${run.notes}\n${entry}` : entry;
    if (notes.length > MAX_NOTES_CHARS) {
      this.skip(`texts past the ${MAX_NOTES_CHARS.toLocaleString('en-US')}-character notes limit`);
      if (!run.notesFullReported) {
        run.notesFullReported = true;
        this.warn(
          gwError(
            'GW_ERR_SERVER',
            this.opts.server,
            `run '${run.dir.name}': notes are full (20,000 characters); later texts are skipped`,
          ),
        );
      }
      return false;
    }
    run.notes = notes;
    run.notesDirty = true;
    return true;
  }

  /**
   * Waits until the server has stored everything handed to the run's client, and the notes; retries while the
   * server is away. False when stopped first.
   */
  private async settle(run: RunImport): Promise<boolean> {
    let waiting = false;
    while (!this.stopped) {
      const flushed = await run.client.flush(10_000);
      if (flushed && run.notesDirty) {
        try {
          await this.patchRun(run.run.id, { notes: run.notes });
          run.notesDirty = false;
        } catch (err) {
          if (!isGanwatchError(err)) throw err;
          if (!waiting) this.warn(err);
          waiting = true;
          await new Promise((r) => setTimeout(r, RETRY_MS));
          continue;
        }
      }
      if (flushed) return true;
      if (!waiting) {
        waiting = true;
        this.warn(
          gwError(
            'GW_ERR_SERVER',
            this.opts.server,
            `waiting for acknowledgements (${run.client.stats().lastError ?? 'no answer yet'})`,
          ),
        );
      }
    }
    return false;
  }
}
