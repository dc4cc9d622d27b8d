// Runs on SQLite: create, read, list with filters, update, delete (with everything the run owns).
import type {
  CreateRunBody,
  ListRunsQuery,
  PatchRunBody,
  Run,
  RunRow as RunTableRow,
  RunStatus,
  RunSystem,
} from '../../protocol/index.js';
import { newRunId } from '../run-id.js';
import { compileRunTable, rowColumns, type RunTableQuery } from '../run-table.js';
import { now, type RunRef, type RunsRepo } from '../store.js';
import type { Connection } from './connection.js';
import { namedParams, sqliteDialect } from './run-table.js';

interface RunRow {
  rid: number;
  id: string;
  name: string;
  status: RunStatus;
  config: string;
  tags: string;
  notes: string;
  backend: string | null;
  device: string | null;
  host: string | null;
  system: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  last_step: number | null;
  last_seen_at: number | null;
  parent_id: string | null;
  fork_step: number | null;
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    config: JSON.parse(row.config) as Record<string, unknown>,
    tags: JSON.parse(row.tags) as string[],
    notes: row.notes,
    backend: row.backend,
    device: row.device,
    host: row.host,
    system: row.system === null ? null : (JSON.parse(row.system) as RunSystem),
    created_at: row.created_at,
    updated_at: row.updated_at,
    finished_at: row.finished_at,
    last_step: row.last_step,
    last_seen_at: row.last_seen_at,
    parent_id: row.parent_id,
    fork_step: row.fork_step,
  };
}

export class SqliteRunsRepo implements RunsRepo {
  private readonly insertStmt;
  private readonly byIdStmt;
  private readonly refStmt;
  private readonly touchStmt;
  private readonly statusStmt;
  private readonly deleteStmts;
  private readonly endedStmt;
  private readonly liveStmt;

  /** `onDelete` runs inside the deleting transaction's caller once a run is gone (the points repo drops its id cache). */
  constructor(
    private readonly db: Connection,
    private readonly onDelete: () => void = () => undefined,
  ) {
    this.insertStmt = db.prepare(
      `INSERT INTO runs (id, name, status, config, tags, notes, backend, device, host, system, parent_id, fork_step,
         created_at, updated_at)
       VALUES (@id, @name, 'running', @config, @tags, @notes, @backend, @device, @host, @system, @parent_id, @fork_step,
         @now, @now)`,
    );
    this.byIdStmt = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?');
    this.refStmt = db.prepare<[string], RunRef>('SELECT rid, id, status FROM runs WHERE id = ?');
    this.touchStmt = db.prepare(
      `UPDATE runs SET last_step = max(coalesce(last_step, -1), @step), last_seen_at = @now WHERE rid = @rid`,
    );
    this.statusStmt = db.prepare(
      `UPDATE runs SET status = @status, updated_at = @now,
         finished_at = CASE WHEN @status IN ('finished', 'failed') THEN @now ELSE NULL END
       WHERE rid = @rid`,
    );
    this.deleteStmts = [
      db.prepare('DELETE FROM points WHERE mid IN (SELECT mid FROM metrics WHERE rid = ?)'),
      db.prepare('DELETE FROM blocks WHERE mid IN (SELECT mid FROM metrics WHERE rid = ?)'),
      db.prepare('DELETE FROM runs WHERE rid = ?'), // metrics, media, latents, alerts, controls cascade
    ];
    this.endedStmt = db
      .prepare<[number], string>(
        "SELECT id FROM runs WHERE status IN ('finished', 'failed') AND finished_at IS NOT NULL AND finished_at < ? ORDER BY finished_at, rid",
      )
      .pluck(true);
    this.liveStmt = db
      .prepare<[], string>("SELECT id FROM runs WHERE status IN ('running', 'paused') ORDER BY rid")
      .pluck(true);
  }

  async create(body: Omit<CreateRunBody, 'alerts'>): Promise<Run> {
    const id = newRunId();
    this.insertStmt.run({
      id,
      name: body.name,
      config: JSON.stringify(body.config ?? {}),
      tags: JSON.stringify(body.tags ?? []),
      notes: body.notes ?? '',
      backend: body.backend ?? null,
      device: body.device ?? null,
      host: body.host ?? null,
      system: body.system === undefined ? null : JSON.stringify(body.system),
      parent_id: body.parent_id ?? null,
      fork_step: body.fork_step ?? null,
      now: now(),
    });
    return this.getSync(id)!;
  }

  async get(id: string): Promise<Run | null> {
    return this.getSync(id);
  }

  private getSync(id: string): Run | null {
    const row = this.byIdStmt.get(id);
    return row ? toRun(row) : null;
  }

  async ref(id: string): Promise<RunRef | null> {
    return this.refSync(id);
  }

  private refSync(id: string): RunRef | null {
    return this.refStmt.get(id) ?? null;
  }

  async list(query: ListRunsQuery = {}): Promise<Run[]> {
    const where: string[] = [];
    const params: Record<string, string> = {};
    if (query.status) {
      where.push('status = @status');
      params.status = query.status;
    }
    if (query.tag) {
      where.push('EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = @tag)');
      params.tag = query.tag;
    }
    if (query.name) {
      where.push('instr(lower(name), lower(@name)) > 0');
      params.name = query.name;
    }
    if (query.parent) {
      where.push('parent_id = @parent');
      params.parent = query.parent;
    }
    const sql = `SELECT * FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, rid DESC`;
    return this.db.prepare<Record<string, string>, RunRow>(sql).all(params).map(toRun);
  }

  async table(query: RunTableQuery): Promise<{ runs: RunTableRow[]; total: number }> {
    const compiled = compileRunTable(query, sqliteDialect);
    const rows = this.db
      .prepare<Record<string, unknown>, RunRow & Record<string, unknown>>(compiled.sql)
      .all(namedParams(compiled.values));
    return {
      runs: rows.map((row) => ({
        ...toRun(row),
        open_alerts: row.open_alerts as number,
        columns: rowColumns(row, compiled, sqliteDialect),
      })),
      total: rows.length ? (rows[0]!.total_rows as number) : query.offset > 0 ? this.countAll(query) : 0,
    };
  }

  /** The total when the page came back empty (past the end): the same query without a page. */
  private countAll(query: RunTableQuery): number {
    const compiled = compileRunTable({ ...query, limit: 1, offset: 0, sort: [], columns: [] }, sqliteDialect);
    const row = this.db
      .prepare<Record<string, unknown>, { total_rows: number }>(compiled.sql)
      .get(namedParams(compiled.values));
    return row?.total_rows ?? 0;
  }

  async fields(): Promise<{ metrics: string[]; config: string[] }> {
    const metrics = this.db.prepare<[], string>('SELECT DISTINCT name FROM metrics ORDER BY name').pluck(true).all();
    const config = this.db
      .prepare<[], string>('SELECT DISTINCT j.key FROM runs, json_each(runs.config) j ORDER BY j.key')
      .pluck(true)
      .all();
    return { metrics, config };
  }

  async update(id: string, patch: PatchRunBody): Promise<Run | null> {
    const ref = this.refSync(id);
    if (!ref) return null;
    const sets: string[] = [];
    const params: Record<string, unknown> = { rid: ref.rid, now: now() };
    for (const key of ['name', 'notes', 'backend', 'device', 'host'] as const) {
      if (patch[key] !== undefined) {
        sets.push(`${key} = @${key}`);
        params[key] = patch[key];
      }
    }
    if (patch.tags !== undefined) {
      sets.push('tags = @tags');
      params.tags = JSON.stringify(patch.tags);
    }
    if (patch.config !== undefined) {
      sets.push('config = @config');
      params.config = JSON.stringify(patch.config);
    }
    this.db.transaction(() => {
      if (sets.length)
        this.db.prepare(`UPDATE runs SET ${sets.join(', ')}, updated_at = @now WHERE rid = @rid`).run(params);
      if (patch.status !== undefined) this.statusStmt.run({ rid: ref.rid, status: patch.status, now: now() });
    })();
    return this.getSync(id);
  }

  async setStatus(rid: number, status: RunStatus): Promise<void> {
    this.statusStmt.run({ rid, status, now: now() });
  }

  /** Records that the trainer wrote up to `step` just now. */
  touch(rid: number, step: number): void {
    this.touchStmt.run({ rid, step, now: now() });
  }

  async delete(id: string): Promise<boolean> {
    const ref = this.refSync(id);
    if (!ref) return false;
    this.db.transaction(() => {
      for (const stmt of this.deleteStmts) stmt.run(ref.rid);
    })();
    this.onDelete();
    return true;
  }

  async endedBefore(before: number): Promise<string[]> {
    return this.endedStmt.all(before);
  }

  async liveIds(): Promise<string[]> {
    return this.liveStmt.all();
  }
}
