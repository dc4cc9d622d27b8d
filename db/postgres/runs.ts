// Runs on PostgreSQL: create (with the run's partitions), read, list with filters, update, delete (dropping them).
import type pg from 'pg';
import type { CreateRunBody, ListRunsQuery, PatchRunBody, Run, RunRow, RunStatus } from '../../protocol/index.js';
import { STORED_RUN_FIELDS } from '../run-fields.js';
import { newRunId } from '../run-id.js';
import { compileRunTable, rowColumns, type RunTableQuery } from '../run-table.js';
import { now, type RunRef, type RunsRepo } from '../store.js';
import { query, transaction } from './pool.js';
import { postgresDialect } from './run-table.js';

const RUN_COLUMNS = STORED_RUN_FIELDS.join(', ');

export class PgRunsRepo implements RunsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async create(body: Omit<CreateRunBody, 'alerts'>): Promise<Run> {
    const t = now();
    return transaction(this.pool, async (client) => {
      const [run] = await query<Run & { rid: number }>(
        client,
        `INSERT INTO runs (id, name, status, config, tags, notes, backend, device, host, system, parent_id, fork_step,
           created_at, updated_at)
         VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $10, $11, $12, $9, $9) RETURNING rid, ${RUN_COLUMNS}`,
        [
          newRunId(),
          body.name,
          JSON.stringify(body.config ?? {}),
          body.tags ?? [],
          body.notes ?? '',
          body.backend ?? null,
          body.device ?? null,
          body.host ?? null,
          t,
          body.system === undefined ? null : JSON.stringify(body.system),
          body.parent_id ?? null,
          body.fork_step ?? null,
        ],
      );
      await query(client, 'SELECT gw_add_run_partitions($1)', [run!.rid]);
      const { rid: _rid, ...rest } = run!;
      return rest;
    });
  }

  async get(id: string): Promise<Run | null> {
    const [run] = await query<Run>(this.pool, `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
    return run ?? null;
  }

  async ref(id: string): Promise<RunRef | null> {
    const [ref] = await query<RunRef>(this.pool, 'SELECT rid, id, status FROM runs WHERE id = $1', [id]);
    return ref ?? null;
  }

  async list(q: ListRunsQuery = {}): Promise<Run[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (q.status) where.push(`status = $${values.push(q.status)}`);
    if (q.tag) where.push(`tags @> ARRAY[$${values.push(q.tag)}::text]`);
    // lower() of the C collation folds ASCII only, as SQLite's does.
    if (q.name) where.push(`strpos(lower(name), lower($${values.push(q.name)})) > 0`);
    if (q.parent) where.push(`parent_id = $${values.push(q.parent)}`);
    return query<Run>(
      this.pool,
      `SELECT ${RUN_COLUMNS} FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY created_at DESC, rid DESC`,
      values,
    );
  }

  async table(q: RunTableQuery): Promise<{ runs: RunRow[]; total: number }> {
    const compiled = compileRunTable(q, postgresDialect);
    const rows = await query<Record<string, unknown>>(this.pool, compiled.sql, compiled.values);
    let total = rows.length ? (rows[0]!.total_rows as number) : 0;
    if (!rows.length && q.offset > 0) {
      const count = compileRunTable({ ...q, limit: 1, offset: 0, sort: [], columns: [] }, postgresDialect);
      const [row] = await query<{ total_rows: number }>(this.pool, count.sql, count.values);
      total = row?.total_rows ?? 0;
    }
    return {
      runs: rows.map((row) => {
        const run = Object.fromEntries(STORED_RUN_FIELDS.map((k) => [k, row[k]])) as Run;
        return { ...run, open_alerts: row.open_alerts as number, columns: rowColumns(row, compiled, postgresDialect) };
      }),
      total,
    };
  }

  async fields(): Promise<{ metrics: string[]; config: string[] }> {
    const metrics = await query<{ name: string }>(this.pool, 'SELECT DISTINCT name FROM metrics ORDER BY name');
    const config = await query<{ key: string }>(
      this.pool,
      'SELECT DISTINCT k COLLATE "C" AS key FROM runs, json_object_keys(runs.config) k ORDER BY 1',
    );
    return { metrics: metrics.map((r) => r.name), config: config.map((r) => r.key) };
  }

  async update(id: string, patch: PatchRunBody): Promise<Run | null> {
    const sets: string[] = [];
    const values: unknown[] = [id, now()];
    for (const key of ['name', 'notes', 'backend', 'device', 'host'] as const)
      if (patch[key] !== undefined) sets.push(`${key} = $${values.push(patch[key])}`);
    if (patch.tags !== undefined) sets.push(`tags = $${values.push(patch.tags)}`);
    if (patch.config !== undefined) sets.push(`config = $${values.push(JSON.stringify(patch.config))}`);
    if (patch.status !== undefined) {
      const s = `$${values.push(patch.status)}::text`;
      sets.push(
        `status = ${s}`,
        `finished_at = CASE WHEN ${s} IN ('finished', 'failed') THEN $2::float8 ELSE NULL END`,
      );
    }
    if (sets.length === 0) return this.get(id);
    const [run] = await query<Run>(
      this.pool,
      `UPDATE runs SET ${[...sets, 'updated_at = $2'].join(', ')} WHERE id = $1 RETURNING ${RUN_COLUMNS}`,
      values,
    );
    return run ?? null;
  }

  async setStatus(rid: number, status: RunStatus): Promise<void> {
    await query(
      this.pool,
      `UPDATE runs SET status = $2, updated_at = $3,
         finished_at = CASE WHEN $2::text IN ('finished', 'failed') THEN $3::float8 ELSE NULL END
       WHERE rid = $1`,
      [rid, status, now()],
    );
  }

  async delete(id: string): Promise<boolean> {
    const ref = await this.ref(id);
    if (!ref) return false;
    return transaction(this.pool, async (client) => {
      const [row] = await query<{ deleted: boolean }>(client, 'SELECT gw_delete_run($1) AS deleted', [ref.rid]);
      return row!.deleted;
    });
  }

  async endedBefore(before: number): Promise<string[]> {
    const rows = await query<{ id: string }>(
      this.pool,
      `SELECT id FROM runs WHERE status IN ('finished', 'failed') AND finished_at IS NOT NULL AND finished_at < $1
       ORDER BY finished_at, rid`,
      [before],
    );
    return rows.map((r) => r.id);
  }

  async liveIds(): Promise<string[]> {
    const rows = await query<{ id: string }>(
      this.pool,
      "SELECT id FROM runs WHERE status IN ('running', 'paused') ORDER BY rid",
    );
    return rows.map((r) => r.id);
  }
}
