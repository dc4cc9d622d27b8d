// `ganwatch migrate`: copies a SQLite database into an empty PostgreSQL store, table by table, keeping every id, every
// point (NaN as NaN), and the block envelopes exactly as they are. One transaction per run (a run's rows and its
// partition), so memory and lock counts stay bounded however many runs there are; the target must be empty, so a
// failed copy is redone into a freshly created database.
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { gwError } from '../protocol/index.js';
import { openPostgresStore } from './postgres/store.js';
import { BLOCK_FANOUT } from './blocks.js';
import { STORED_RUN_FIELDS } from './run-fields.js';
import { float8Array, numberArray, query, transaction } from './postgres/pool.js';
import { slotColumns } from './postgres/point-batch.js';
import { openConnection } from './sqlite/connection.js';
import { assertNotInUse } from './sqlite/maintenance.js';
import { isPostgresUrl, redactLocation } from './store.js';

export interface MigrateResult {
  runs: number;
  points: number;
  ms: number;
}

const CHUNK = 20_000;

type Row = Record<string, unknown>;

/** Columns of user_rules (a run's own are copied with the run, the server-wide ones with the settings). */
const USER_RULE_COLUMNS = [
  'id',
  'rid',
  'name',
  'metric',
  'comparison',
  'value',
  'for_unit',
  'for_count',
  'severity',
  'enabled',
  'created_at',
  'updated_at',
];

/** The metrics table's columns: the name and the run summary (db/summaries.ts). */
const METRIC_COLUMNS = [
  'mid',
  'rid',
  'name',
  'last_step',
  'last_value',
  'min_value',
  'min_step',
  'max_value',
  'max_step',
];

/** Tables copied per run, after `runs` and `metrics`, with the columns SQLite and PostgreSQL share. */
const RUN_TABLES: Record<string, string[]> = {
  media: ['id', 'rid', 'epoch', 'step', 'kind', 'meta', 'bytes', 'created_at'],
  latents: ['rid', 'epoch', 'step', 'dim', 'count', 'codes', 'labels', 'created_at'],
  controls: [
    'id',
    'rid',
    'action',
    'args',
    'status',
    'source',
    'created_at',
    'sent_at',
    'result_at',
    'result_step',
    'message',
  ],
  alerts: [
    'id',
    'rid',
    'rule',
    'key',
    'severity',
    'state',
    'step_opened',
    'step_closed',
    'message',
    'evidence',
    'remedy_text',
    'remedy_action',
    'acknowledged',
    'muted',
    'control_id',
    'created_at',
    'updated_at',
    'firing_at',
    'resolved_at',
  ],
  markers: ['id', 'rid', 'metric', 'step', 'change_at', 'kind', 'evidence', 'created_at'],
  projections: [
    'rid',
    'epoch',
    'method',
    'status',
    'source_count',
    'count',
    'stratified',
    'xy',
    'indices',
    'labels',
    'params',
    'ms',
    'error',
    'requested_at',
    'finished_at',
  ],
  latent_separation: ['rid', 'epoch', 'status', 'step', 'silhouette', 'fisher', 'reason', 'ms', 'updated_at'],
  user_rules: USER_RULE_COLUMNS,
  distributions: ['rid', 'name', 'step', 'wall', 'buckets', 'lo', 'hi', 'edges', 'counts', 'non_finite', 'total'],
};

/** SQLite's 0/1 columns that PostgreSQL keeps as boolean. */
const BOOLEANS = new Set(['acknowledged', 'muted', 'stratified', 'enabled']);

/** rid and alert_config are not part of a Run but are stored with it. */
const RUN_COLUMNS = ['rid', ...STORED_RUN_FIELDS, 'alert_config'];

async function insertRows(client: pg.PoolClient, table: string, columns: string[], rows: Row[]): Promise<void> {
  for (const row of rows) {
    const values = columns.map((c) => {
      const v = row[c];
      if (BOOLEANS.has(c)) return v === 1;
      if (c === 'tags') return JSON.parse(v as string) as string[];
      return v;
    });
    await client.query(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      values,
    );
  }
}

const ENVELOPE = 'cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall';

/**
 * Copies one metric's block envelopes and its points, which PostgreSQL keeps in the 16 slots of their level-1 block row
 * (db/postgres/migrations 010), in chunks; returns the number of points.
 */
async function copySeries(client: pg.PoolClient, sqlite: Database.Database, rid: number, mid: number): Promise<number> {
  const cols: Array<Array<number | null>> = Array.from({ length: 10 }, () => []);
  const slots: Array<{ values: Array<number | null>; walls: Array<number | null> }> = [];
  // Level-1 rows carry their points' slots (as gw_write_points takes them: see point-batch.ts), coarser rows none.
  const flush = async (): Promise<void> => {
    if (!cols[0]!.length) return;
    const { mask, values, walls } = slotColumns(slots);
    await client.query(
      `INSERT INTO blocks (rid, mid, level, block, ${ENVELOPE}, point_values, point_walls)
       SELECT $1, $2, b.level, b.block, b.cnt, b.nonfinite, b.vmin, b.vmax, b.vsum, b.vlast, b.last_step, b.wall,
         gw_level1_slots(b.level, b.mask, ($13::float8[])[b.i * 16 - 15 : b.i * 16]),
         gw_level1_slots(b.level, b.mask, ($14::float8[])[b.i * 16 - 15 : b.i * 16])
       FROM unnest($3::smallint[], $4::bigint[], $5::integer[], $6::integer[], $7::float8[], $8::float8[], $9::float8[],
         $10::float8[], $11::bigint[], $12::float8[], $15::integer[]) WITH ORDINALITY
         AS b(level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall, mask, i)`,
      [rid, mid, ...cols.map(numberArray), float8Array(values), float8Array(walls), numberArray(mask)],
    );
    for (const c of cols) c.length = 0;
    slots.length = 0;
  };

  // Level 1 a chunk of blocks at a time, each with its points (steps block·16 .. block·16 + 15).
  const level1 = sqlite.prepare(
    `SELECT level, block, ${ENVELOPE} FROM blocks WHERE mid = ? AND level = 1 AND block > ? ORDER BY block LIMIT ?`,
  );
  const points = sqlite.prepare(
    'SELECT step, value, wall FROM points WHERE mid = ? AND step BETWEEN ? AND ? ORDER BY step',
  );
  const perChunk = Math.ceil(CHUNK / BLOCK_FANOUT);
  let copied = 0;
  for (let after = -1; ;) {
    const blocks = level1.raw(true).all(mid, after, perChunk) as Array<Array<number | null>>;
    if (!blocks.length) break;
    const first = blocks[0]![1]! * BLOCK_FANOUT;
    after = blocks[blocks.length - 1]![1]!;
    const byBlock = new Map<number, { values: Array<number | null>; walls: Array<number | null> }>();
    for (const [step, value, wall] of points
      .raw(true)
      .all(mid, first, after * BLOCK_FANOUT + BLOCK_FANOUT - 1) as Array<[number, number | null, number]>) {
      const block = Math.floor(step / BLOCK_FANOUT);
      let s = byBlock.get(block);
      if (!s)
        byBlock.set(
          block,
          (s = {
            values: new Array<number | null>(BLOCK_FANOUT).fill(null),
            walls: new Array<number | null>(BLOCK_FANOUT).fill(null),
          }),
        );
      s.values[step % BLOCK_FANOUT] = value === null ? Number.NaN : value; // SQLite cannot store NaN; PostgreSQL can
      s.walls[step % BLOCK_FANOUT] = wall;
      copied++;
    }
    for (const row of blocks) {
      row.forEach((v, i) => cols[i]!.push(v));
      slots.push(byBlock.get(row[1]!) ?? { values: [], walls: [] });
    }
    await flush();
  }

  const coarser = sqlite
    .prepare(`SELECT level, block, ${ENVELOPE} FROM blocks WHERE mid = ? AND level > 1 ORDER BY level, block`)
    .raw(true);
  for (const row of coarser.iterate(mid) as Iterable<Array<number | null>>) {
    row.forEach((v, i) => cols[i]!.push(v));
    if (cols[0]!.length === CHUNK) await flush();
  }
  await flush();
  return copied;
}

/**
 * Copies the SQLite database `from` (not in use by a server) into the empty PostgreSQL store `to`. `onRun` is told
 * after each run is committed.
 */
export async function migrateSqliteToPostgres(
  from: string,
  to: string,
  onRun: (done: number, total: number) => void = () => undefined,
): Promise<MigrateResult> {
  if (isPostgresUrl(from))
    throw gwError('GW_ERR_MIGRATE', `--from takes a SQLite database file (got '${redactLocation(from)}')`);
  if (!isPostgresUrl(to)) throw gwError('GW_ERR_MIGRATE', `--to takes a postgres:// URL (got '${to}')`);
  assertNotInUse(from);
  const t0 = performance.now();
  const sqlite = openConnection(from); // brings an older file's schema up to date first
  const target = await openPostgresStore(to);
  try {
    const [held] = await query<{ runs: number; settings: number }>(
      target.pool,
      'SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM settings) AS settings',
    );
    if (held!.runs > 0 || held!.settings > 0)
      throw gwError(
        'GW_ERR_MIGRATE',
        `the target ${target.location} is not empty (${held!.runs} runs, ${held!.settings} settings): migrate copies into an empty store only; create a new database (createdb) and migrate into that`,
      );

    const runs = sqlite.prepare(`SELECT ${RUN_COLUMNS.join(', ')} FROM runs ORDER BY rid`).all() as Row[];
    let points = 0;
    for (const [i, run] of runs.entries()) {
      const rid = run.rid as number;
      points += await transaction(target.pool, async (client) => {
        await insertRows(client, 'runs', RUN_COLUMNS, [run]);
        await client.query('SELECT gw_add_run_partitions($1)', [rid]);
        // With their run summaries; SQLite's NULL last value with a last step is NaN, which PostgreSQL stores as NaN.
        const metrics = (
          sqlite
            .prepare(`SELECT ${METRIC_COLUMNS.join(', ')} FROM metrics WHERE rid = ? ORDER BY mid`)
            .all(rid) as Row[]
        ).map((m) => (m.last_step !== null && m.last_value === null ? { ...m, last_value: NaN } : m));
        await insertRows(client, 'metrics', METRIC_COLUMNS, metrics);
        let n = 0;
        for (const m of metrics) n += await copySeries(client, sqlite, rid, m.mid as number);
        for (const [table, columns] of Object.entries(RUN_TABLES))
          await insertRows(
            client,
            table,
            columns,
            sqlite.prepare(`SELECT * FROM ${table} WHERE rid = ?`).all(rid) as Row[],
          );
        return n;
      });
      onRun(i + 1, runs.length);
    }
    await transaction(target.pool, async (client) => {
      await insertRows(
        client,
        'settings',
        ['key', 'value'],
        sqlite.prepare('SELECT key, value FROM settings').all() as Row[],
      );
      await insertRows(
        client,
        'user_rules',
        USER_RULE_COLUMNS,
        sqlite.prepare('SELECT * FROM user_rules WHERE rid IS NULL').all() as Row[],
      );
      // New rows continue after the copied ids.
      for (const [table, column] of [
        ['runs', 'rid'],
        ['metrics', 'mid'],
        ['media', 'id'],
        ['controls', 'id'],
        ['alerts', 'id'],
        ['markers', 'id'],
        ['user_rules', 'id'],
      ] as const)
        await client.query(
          `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), coalesce((SELECT max(${column}) FROM ${table}), 0) + 1, false)`,
        );
    });
    return { runs: runs.length, points, ms: performance.now() - t0 };
  } finally {
    sqlite.close();
    await target.close();
  }
}
