// Specification of the run summaries, on SQLite and (npm run test:pg) on PostgreSQL: every write keeps each metric's
// last value and its finite minimum and maximum (with the step of each) exact, in the write's own transaction, whatever
// it overwrites; stores made before the summaries existed get them on opening; the runs table reads them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { listMigrations as listPgMigrations, migrate as migratePg } from '../../db/postgres/migrate.js';
import { listMigrations, migrate } from '../../db/sqlite/migrate.js';
import { openStore, type Store } from '../../db/store.js';
import { tempDir } from '../../harness/server.js';
import { createPgDatabase, openTestStore, postgresOnly, sqliteOnly } from '../../harness/store.js';
import { parseRunColumns, type Point, type RunColumnValue, type WireValue } from '../../protocol/index.js';

const COLUMNS = parseRunColumns('last(v),min(v),max(v),best(v),best(val/ssim)');

async function newRun(store: Store, name: string): Promise<{ rid: number; id: string }> {
  const run = await store.runs.create({ name });
  return (await store.runs.ref(run.id))!;
}

/** The summary columns of one run, read the way the runs table reads them. */
async function summary(store: Store, id: string): Promise<Record<string, RunColumnValue | null>> {
  const { runs } = await store.runs.table({
    where: null,
    filters: {},
    sort: [],
    columns: COLUMNS,
    limit: null,
    offset: 0,
    now: Date.now() / 1000,
  });
  return runs.find((r) => r.id === id)!.columns;
}

/** What the summary must be: computed from every value of the series, the way db/summaries.ts defines it. */
function expected(values: Map<number, number>): Record<string, RunColumnValue | null> {
  const steps = [...values.keys()].sort((a, b) => a - b);
  if (steps.length === 0) return { 'last(v)': null, 'min(v)': null, 'max(v)': null, 'best(v)': null };
  const last = steps[steps.length - 1]!;
  let min: RunColumnValue | null = null;
  let max: RunColumnValue | null = null;
  for (const s of steps) {
    const v = values.get(s)!;
    if (!Number.isFinite(v)) continue;
    if (min === null || v < (min.value as number)) min = { value: v, step: s };
    if (max === null || v > (max.value as number)) max = { value: v, step: s };
  }
  const lv = values.get(last)!;
  const wire: WireValue = Number.isNaN(lv) ? 'NaN' : lv === Infinity ? 'Infinity' : lv === -Infinity ? '-Infinity' : lv;
  return { 'last(v)': { value: wire, step: last }, 'min(v)': min, 'max(v)': max, 'best(v)': min };
}

const pick = (c: Record<string, RunColumnValue | null>) => ({
  'last(v)': c['last(v)'],
  'min(v)': c['min(v)'],
  'max(v)': c['max(v)'],
  'best(v)': c['best(v)'],
});

test('a write keeps last, min and max with their steps; NaN and ±Infinity are last values but never extremes', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 's');
  await store.points.write(run, [
    { step: 0, values: { v: 3 } },
    { step: 1, values: { v: 1 } },
    { step: 2, values: { v: 'Infinity' } },
    { step: 3, values: { v: 1 } }, // a tie keeps the earliest step
    { step: 4, values: { v: 7 } },
    { step: 5, values: { v: 'NaN' } },
  ]);
  assert.deepEqual(pick(await summary(store, run.id)), {
    'last(v)': { value: 'NaN', step: 5 },
    'min(v)': { value: 1, step: 1 },
    'max(v)': { value: 7, step: 4 },
    'best(v)': { value: 1, step: 1 },
  });
  await store.points.write(run, [{ step: 6, values: { v: -2 } }]);
  const s = await summary(store, run.id);
  assert.deepEqual(s['last(v)'], { value: -2, step: 6 });
  assert.deepEqual(s['min(v)'], { value: -2, step: 6 });
  assert.equal(s['best(val/ssim)'], null, 'a metric the run lacks');
  await store.close();
});

test('best follows the metric direction: the maximum for val/ssim, the minimum for losses', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'dir');
  await store.points.write(run, [
    { step: 10, values: { 'val/ssim': 0.4, v: 5 } },
    { step: 20, values: { 'val/ssim': 0.8, v: 2 } },
    { step: 30, values: { 'val/ssim': 0.6, v: 4 } },
  ]);
  const s = await summary(store, run.id);
  assert.deepEqual(s['best(val/ssim)'], { value: 0.8, step: 20 });
  assert.deepEqual(s['best(v)'], { value: 2, step: 20 });
  await store.close();
});

test('overwriting the step of the minimum or maximum with a worse value finds the new extreme across blocks', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'over');
  const values = new Map<number, number>();
  // 70,000 steps span two level-4 blocks (65,536 steps each): the search must go down every level.
  const points: Point[] = [];
  for (let s = 0; s < 70_000; s++) {
    const v = 10 + Math.sin(s / 100);
    values.set(s, v);
    points.push({ step: s, values: { v } });
  }
  values.set(66_123, -5);
  points.push({ step: 66_123, values: { v: -5 } });
  values.set(123, 50);
  points.push({ step: 123, values: { v: 50 } });
  for (let i = 0; i < points.length; i += 10_000) await store.points.write(run, points.slice(i, i + 10_000));
  assert.deepEqual(pick(await summary(store, run.id)), expected(values));
  // The minimum's step becomes NaN and the maximum's an ordinary value: both extremes must move elsewhere.
  await store.points.write(run, [
    { step: 66_123, values: { v: 'NaN' } },
    { step: 123, values: { v: 10 } },
  ]);
  values.set(66_123, NaN);
  values.set(123, 10);
  assert.deepEqual(pick(await summary(store, run.id)), expected(values));
  // A step repeated within one batch keeps its last value, as the points do.
  await store.points.write(run, [
    { step: 500, values: { v: -100 } },
    { step: 500, values: { v: 9.5 } },
  ]);
  values.set(500, 9.5);
  assert.deepEqual(pick(await summary(store, run.id)), expected(values));
  await store.close();
});

test('random overwrites, out-of-order steps and non-finite values leave the summary equal to one computed from every point', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'random');
  const values = new Map<number, number>();
  let seed = 42;
  const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let batch = 0; batch < 60; batch++) {
    const points: Point[] = [];
    const n = 1 + Math.floor(rand() * 40);
    for (let i = 0; i < n; i++) {
      const step = Math.floor(rand() * 5000);
      const r = rand();
      const v = r < 0.05 ? NaN : r < 0.08 ? Infinity : Math.round(rand() * 20) - 10; // ties are common
      values.set(step, v);
      points.push({ step, values: { v: Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v } });
    }
    await store.points.write(run, points);
    assert.deepEqual(pick(await summary(store, run.id)), expected(values), `after batch ${batch}`);
  }
  await store.close();
});

test('appended batches with now and then a rewrite of earlier steps keep the summary equal to one computed from every point', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'appends');
  const values = new Map<number, number>();
  let seed = 9;
  const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let next = 0;
  for (let batch = 0; batch < 60; batch++) {
    const points: Point[] = [];
    const rewrite = rand() < 0.15;
    const n = 1 + Math.floor(rand() * 30);
    for (let i = 0; i < n; i++) {
      const step = rewrite ? Math.floor(rand() * next) : next++;
      const r = rand();
      const v = r < 0.05 ? NaN : r < 0.08 ? -Infinity : Math.round(rand() * 20) - 10;
      values.set(step, v);
      points.push({ step, values: { v: Number.isNaN(v) ? 'NaN' : v === -Infinity ? '-Infinity' : v } });
    }
    await store.points.write(run, points);
    assert.deepEqual(pick(await summary(store, run.id)), expected(values), `after batch ${batch}`);
  }
  await store.close();
});

test("a batch that fails part-way changes no summary (the summaries share the points' transaction)", async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'atomic');
  await store.points.write(run, [{ step: 0, values: { v: 1 } }]);
  const before = await summary(store, run.id);
  // The last point's wall time cannot be bound (validation normally stops this earlier): the write fails mid-batch.
  const bad = [
    { step: 1, values: { v: -9 } },
    { step: 2, values: { v: 99 } },
    { step: 3, wall: {} as never, values: { v: 5 } },
  ];
  await assert.rejects(store.points.write(run, bad));
  assert.deepEqual(await summary(store, run.id), before);
  await store.close();
});

test(
  'SQLite: a database made before the summaries gets them from its points on opening',
  { skip: sqliteOnly },
  async () => {
    const path = join(tempDir(), 'old.db');
    const db = new Database(path);
    migrate(
      db,
      listMigrations().filter((m) => m.version <= 4),
    );
    db.prepare(
      `INSERT INTO runs (rid, id, name, status, created_at, updated_at) VALUES (1, 'oldrun', 'old', 'finished', 1, 1)`,
    ).run();
    db.prepare(`INSERT INTO metrics (mid, rid, name) VALUES (1, 1, 'v'), (2, 1, 'val/ssim')`).run();
    const insert = db.prepare('INSERT INTO points (mid, step, value, wall) VALUES (?, ?, ?, 1)');
    for (const [mid, step, value] of [
      [1, 0, 4],
      [1, 1, 2],
      [1, 2, 9],
      [1, 3, null], // NaN
      [2, 0, 0.3],
      [2, 5, 0.9],
      [2, 9, 0.5],
    ] as const)
      insert.run(mid, step, value);
    db.close();
    const store = await openStore(path);
    const s = await summary(store, 'oldrun');
    assert.deepEqual(s['last(v)'], { value: 'NaN', step: 3 });
    assert.deepEqual(s['min(v)'], { value: 2, step: 1 });
    assert.deepEqual(s['max(v)'], { value: 9, step: 2 });
    assert.deepEqual(s['best(val/ssim)'], { value: 0.9, step: 5 });
    await store.close();
  },
);

test(
  'PostgreSQL: a database made before the summaries gets them from its points on opening',
  { skip: postgresOnly },
  async () => {
    const url = await createPgDatabase();
    const pool = new pg.Pool({ connectionString: url });
    try {
      await migratePg(
        pool,
        listPgMigrations().filter((m) => m.version <= 3),
      );
      const { rows } = await pool.query<{ rid: string }>(
        `INSERT INTO runs (id, name, status, created_at, updated_at) VALUES ('oldrun', 'old', 'finished', 1, 1) RETURNING rid`,
      );
      const rid = Number(rows[0]!.rid);
      await pool.query('SELECT gw_add_run_partitions($1)', [rid]);
      await pool.query('SELECT gw_write_points($1, $2, $3, $4, $5, $6, $7, $8)', [
        rid,
        ['v', 'val/ssim'],
        [1, 1, 1, 1, 2, 2, 2],
        [0, 1, 2, 3, 0, 5, 9],
        [4, 2, 9, NaN, 0.3, 0.9, 0.5],
        [1, 1, 1, 1, 1, 1, 1],
        9,
        1,
      ]);
    } finally {
      await pool.end();
    }
    const store = await openStore(url);
    const s = await summary(store, 'oldrun');
    assert.deepEqual(s['last(v)'], { value: 'NaN', step: 3 });
    assert.deepEqual(s['min(v)'], { value: 2, step: 1 });
    assert.deepEqual(s['max(v)'], { value: 9, step: 2 });
    assert.deepEqual(s['best(val/ssim)'], { value: 0.9, step: 5 });
    await store.close();
  },
);
