// Specification of the store itself, on SQLite and (npm run test:pg) on PostgreSQL: migrations, the block index staying
// exact under overwrites, atomic batches, and the values NaN and ±Infinity.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { listMigrations as listPgMigrations, migrate as migratePg } from '../../db/postgres/migrate.js';
import { listMigrations } from '../../db/sqlite/migrate.js';
import { openSqliteStore } from '../../db/sqlite/store.js';
import { openStore, type Store } from '../../db/store.js';
import { decodeValue, type Point } from '../../protocol/index.js';
import { tempDir } from '../../harness/server.js';
import { freshLocation, openTestStore, postgresOnly, sqliteOnly } from '../../harness/store.js';

async function newRun(store: Store, name: string): Promise<{ rid: number; id: string }> {
  const run = await store.runs.create({ name });
  return (await store.runs.ref(run.id))!;
}

test(
  'SQLite: migrations run once at start-up and record the schema version in user_version',
  { skip: sqliteOnly },
  async () => {
    const path = join(tempDir(), 'm.db');
    const latest = Math.max(...listMigrations().map((m) => m.version));
    const a = openSqliteStore(path);
    assert.equal(a.db.pragma('user_version', { simple: true }), latest);
    assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
    await a.runs.create({ name: 'kept' });
    await a.close();
    const b = openSqliteStore(path); // re-opening must not re-apply (it would fail on CREATE TABLE)
    assert.equal((await b.runs.list()).length, 1);
    assert.equal(await b.check(), 'ok');
    await b.close();
  },
);

test('re-opening a store keeps its data and applies no migration twice', async () => {
  const location = await freshLocation();
  const a = await openStore(location);
  await a.runs.create({ name: 'kept' });
  await a.close();
  const b = await openStore(location);
  assert.deepEqual(
    (await b.runs.list()).map((r) => r.name),
    ['kept'],
  );
  assert.equal(await b.check(), 'ok');
  await b.close();
});

test('overwriting points keeps every level of block envelopes exact', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'b');
  await store.points.write(
    run,
    Array.from({ length: 70_000 }, (_, i) => ({ step: i, values: { v: 1 } })),
  );
  await store.points.write(run, [{ step: 66_000, values: { v: 500 } }]); // raise a max
  await store.points.write(run, [{ step: 66_000, values: { v: 2 } }]); // and lower it again: the old max must go
  await store.points.write(run, [{ step: 123, values: { v: 'NaN' } }]);
  const [m] = await store.series.summaries(run.rid);
  assert.deepEqual([m!.count, m!.max, m!.nonfinite], [70_000, 2, 1]);
  const metric = (await store.series.metricId(run.rid, 'v'))!;
  const s = await store.series.read(metric, 10);
  assert.equal(s.mode, 'buckets');
  if (s.mode === 'buckets') assert.equal(Math.max(...s.buckets.map((b) => b.max ?? 0)), 2);
  assert.equal(await store.check(), 'ok');
  await store.close();
});

test('batches of appends, overwrites, gaps, repeated steps and non-finite values keep every value and envelope exact', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'mixed');
  const expected = new Map<string, number>(); // "metric@step" -> value
  let seed = 7;
  const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const wire = (v: number): number | 'NaN' | 'Infinity' | '-Infinity' =>
    Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;
  let next = 0;
  for (let batch = 0; batch < 40; batch++) {
    const points: Point[] = [];
    const kind = rand();
    const n = 1 + Math.floor(rand() * 300);
    for (let i = 0; i < n; i++) {
      // Mostly appends (a trainer's batches), some after a gap; some batches go back over stored steps.
      if (kind >= 0.7 && kind < 0.8) next += Math.floor(rand() * 40);
      const step = kind < 0.8 ? next++ : Math.floor(rand() * next);
      const values: Point['values'] = {};
      for (const metric of ['a', 'b', 'c']) {
        if (rand() < 0.2) continue;
        const r = rand();
        const v = r < 0.04 ? NaN : r < 0.06 ? -Infinity : Math.round(rand() * 200) / 8 - 12;
        values[metric] = wire(v);
        expected.set(`${metric}@${step}`, v);
      }
      points.push({ step, values });
      if (rand() < 0.05) {
        points.push({ step, values: { a: 99 } }); // the same step again, later in the batch: the last value wins
        expected.set(`a@${step}`, 99);
      }
    }
    await store.points.write(run, points);
  }
  const stored = await store.series.window(run.rid, 0, next + 1);
  assert.deepEqual(
    new Map(
      stored.map((r) => [
        `${r.metric}@${r.step}`,
        r.value === 'NaN' ? NaN : r.value === '-Infinity' ? -Infinity : r.value,
      ]),
    ),
    expected,
  );
  assert.equal(await store.check(), 'ok');
  await store.close();
});

test(
  'PostgreSQL: a batch lands exactly even where the summaries are behind the stored steps (it then upserts and recomputes it all)',
  { skip: postgresOnly },
  async () => {
    const location = await freshLocation();
    const store = await openStore(location);
    const run = await newRun(store, 'stale');
    await store.points.write(
      run,
      Array.from({ length: 100 }, (_, i) => ({ step: i, values: { v: i } })),
    );
    const pool = new pg.Pool({ connectionString: location });
    await pool.query('UPDATE metrics SET last_step = NULL'); // as if the summary had missed every stored step
    await pool.end();
    await store.points.write(run, [
      { step: 50, values: { v: -1 } },
      { step: 100, values: { v: 100 } },
    ]);
    const stored = await store.series.window(run.rid, 0, 101);
    assert.equal(stored.length, 101);
    assert.deepEqual(
      stored.filter((r) => r.step === 50 || r.step === 100).map((r) => r.value),
      [-1, 100],
    );
    assert.equal(await store.check(), 'ok');
    // Behind again, and this time no step collides: step 101 lands in a block that holds steps 96..100.
    const again = new pg.Pool({ connectionString: location });
    await again.query('UPDATE metrics SET last_step = 40');
    await again.end();
    await store.points.write(run, [{ step: 101, values: { v: 1e6 } }]);
    assert.equal((await store.series.window(run.rid, 0, 102)).length, 102);
    assert.equal(await store.check(), 'ok');
    const [m] = await store.series.summaries(run.rid);
    assert.equal(m!.max, 1e6);
    await store.close();
  },
);

test('a batch is atomic: a failure part-way stores nothing', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'a');
  // The second point's wall time cannot be bound (validation normally stops this earlier), so the write fails mid-batch.
  const bad = [
    { step: 0, values: { v: 1 } },
    { step: 1, wall: {} as never, values: { v: 2 } },
  ];
  await assert.rejects(store.points.write(run, bad));
  assert.deepEqual(await store.series.summaries(run.rid), []);
  await store.points.write(run, [{ step: 0, values: { v: 1 } }]);
  assert.equal((await store.series.summaries(run.rid))[0]!.count, 1);
  await store.close();
});

test('a step written twice in one batch keeps the last value, in the points and in the envelopes', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'd');
  await store.points.write(run, [
    { step: 5, values: { v: 100 } },
    { step: 3, values: { v: 1 } },
    { step: 5, values: { v: 2 } },
  ]);
  const [m] = await store.series.summaries(run.rid);
  assert.deepEqual([m!.count, m!.max, m!.last_value], [2, 2, 2]);
  await store.close();
});

test('NaN and ±Infinity are stored and read back as themselves, raw and in envelopes', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'n');
  const values = ['NaN', 'Infinity', '-Infinity', 1.5] as const;
  await store.points.write(
    run,
    Array.from({ length: 40 }, (_, i) => ({ step: i, values: { v: values[i % 4]! } })),
  );
  const metric = (await store.series.metricId(run.rid, 'v'))!;
  const raw = await store.series.read(metric, 100);
  assert.equal(raw.mode, 'raw');
  if (raw.mode === 'raw')
    assert.deepEqual(
      raw.points.slice(0, 4).map((p) => p[1]),
      values,
    );
  const env = await store.series.read(metric, 2);
  assert.equal(env.mode, 'buckets');
  if (env.mode === 'buckets') {
    assert.deepEqual(
      env.buckets.map((b) => [b.count, b.nonfinite, b.min, b.max, b.last]),
      [
        [8, 24, 1.5, 1.5, 1.5],
        [2, 6, 1.5, 1.5, 1.5],
      ],
    );
  }
  const [m] = await store.series.summaries(run.rid);
  assert.deepEqual([m!.count, m!.nonfinite, m!.last_value], [40, 30, 1.5]);
  await store.close();
});

test('writing to a deleted run is refused as GW_ERR_RUN_NOT_FOUND and stores nothing', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'gone');
  assert.equal(await store.runs.delete(run.id), true);
  await assert.rejects(store.points.write(run, [{ step: 0, values: { v: 1 } }]), { code: 'GW_ERR_RUN_NOT_FOUND' });
  assert.equal(await store.check(), 'ok');
  await store.close();
});

test("a batch's markers are stored together and come back in the order given, with their run and evidence", async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'markers');
  const added = await store.markers.add(run.rid, [
    { metric: 'loss/D', step: 120, changeAt: 100, kind: 'up', evidence: { level: 0.5, scale: 0.1 } },
    { metric: 'loss/D', step: 40, changeAt: 30, kind: 'down', evidence: {} },
    { metric: '__gap__', step: 7, changeAt: null, kind: 'gap', evidence: { seconds: 12.5 } },
  ]);
  assert.deepEqual(
    added.map((m) => [m.run, m.metric, m.step, m.change_at, m.kind, m.evidence]),
    [
      [run.id, 'loss/D', 120, 100, 'up', { level: 0.5, scale: 0.1 }],
      [run.id, 'loss/D', 40, 30, 'down', {}],
      [run.id, '__gap__', 7, null, 'gap', { seconds: 12.5 }],
    ],
  );
  assert.ok(added[0]!.id < added[1]!.id && added[1]!.id < added[2]!.id);
  assert.deepEqual(
    (await store.markers.list(run.rid, 'loss/D')).map((m) => m.step),
    [40, 120],
  );
  assert.deepEqual(await store.markers.add(run.rid, []), []);
  await store.close();
});

test('a run holds at most one firing alert per rule and key: opening it again returns the one firing', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'one firing');
  const alert = (step: number) => ({
    rule: 'd_overpowering',
    key: 'D',
    severity: 'warn' as const,
    stepOpened: step,
    message: `D wins at ${step}`,
    evidence: {},
    remedy: null,
    muted: false,
  });
  const first = await store.alerts.open(run.rid, alert(100));
  const again = await store.alerts.open(run.rid, alert(120)); // a second server watching during a handoff
  assert.equal(first.opened, true);
  assert.deepEqual([again.opened, again.alert.id, again.alert.message], [false, first.alert.id, 'D wins at 100']);
  const otherKey = await store.alerts.open(run.rid, { ...alert(120), key: 'D2' });
  assert.equal(otherKey.opened, true);
  await store.alerts.resolve(first.alert.id, 300, {});
  const next = await store.alerts.open(run.rid, alert(900));
  assert.equal(next.opened, true);
  assert.deepEqual(
    (await store.alerts.firing(run.rid)).map((a) => [a.key, a.step_opened]),
    [
      ['D2', 120],
      ['D', 900],
    ],
  );
  await store.close();
});

test('a window of a run reads every value with a step in [from, to), step by step', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'window');
  await store.points.write(run, [
    { step: 1, values: { a: 1, b: 10 } },
    { step: 2, values: { a: Number.NaN } },
    { step: 3, values: { a: 3, b: 30 } },
    { step: 4, values: { b: 40 } },
  ]);
  assert.deepEqual(
    (await store.series.window(run.rid, 2, 4)).map((r) => [r.step, r.metric, r.value]),
    [
      [2, 'a', 'NaN'],
      [3, 'a', 3],
      [3, 'b', 30],
    ],
  );
  assert.deepEqual(await store.series.window(run.rid, 5, 9), []);
  await store.close();
});

test("a run's system document is stored as given and read back by get and list; a run without one has null", async () => {
  const store = await openTestStore();
  const system = { cpu: 'Intel(R) Xeon(R) CPU @ 2.20GHz', cores: 2, platform: 'linux 6.1 x64', gpus: ['Tesla T4'] };
  const run = await store.runs.create({ name: 'machine', system });
  const plain = await store.runs.create({ name: 'plain' });
  assert.deepEqual((await store.runs.get(run.id))!.system, system);
  assert.deepEqual(
    (await store.runs.list()).map((r) => [r.name, r.system]),
    [
      ['plain', null],
      ['machine', system],
    ],
  );
  assert.equal(plain.system, null);
  await store.close();
});

test(
  'PostgreSQL: servers starting at once on an empty database apply each migration exactly once',
  { skip: postgresOnly },
  async () => {
    const url = await freshLocation();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
    const runs = await Promise.all(stores.map((s, i) => s.runs.create({ name: `from ${i}` })));
    for (const s of stores) assert.equal((await s.runs.list()).length, runs.length);
    await Promise.all(stores.map((s) => s.close()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const applied = (await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map(
      (r) => r.version,
    );
    await client.end();
    assert.deepEqual(
      applied,
      listPgMigrations().map((m) => m.version),
    );
  },
);

test(
  "PostgreSQL: a store of one-row-per-point keeps every point when they move into their blocks' rows (migration 010)",
  { skip: postgresOnly },
  async () => {
    const location = await freshLocation();
    const pool = new pg.Pool({ connectionString: location });
    // Written as 001 wrote them: a row per point, envelopes beside them. Two metrics, gaps, NaN, ±Infinity, an overwrite.
    const written = new Map<string, number>();
    const metric: number[] = [];
    const step: number[] = [];
    const value: number[] = [];
    const put = (m: number, s: number, v: number): void => {
      metric.push(m);
      step.push(s);
      value.push(v);
      written.set(`${m === 1 ? 'a' : 'b'}@${s}`, v);
    };
    for (let s = 0; s < 200; s += s % 7 === 0 ? 3 : 1) put(1, s, Math.sin(s));
    for (let s = 5; s < 90; s += 2) put(2, s, s % 11 === 0 ? NaN : s === 33 ? -Infinity : s * 2);
    put(1, 10, 42); // the overwrite: the last write of a step wins
    try {
      await migratePg(
        pool,
        listPgMigrations().filter((m) => m.version <= 3),
      );
      const { rows } = await pool.query<{ rid: string }>(
        `INSERT INTO runs (id, name, status, created_at, updated_at) VALUES ('old', 'old', 'running', 1, 1) RETURNING rid`,
      );
      const rid = Number(rows[0]!.rid);
      await pool.query('SELECT gw_add_run_partitions($1)', [rid]);
      await pool.query('SELECT gw_write_points($1, $2, $3, $4, $5, $6, $7, $8)', [
        rid,
        ['a', 'b'],
        metric,
        step,
        value,
        step.map((s) => 1000 + s),
        199,
        1,
      ]);
    } finally {
      await pool.end();
    }

    const store = await openStore(location);
    assert.equal(await store.check(), 'ok');
    const ref = (await store.runs.ref('old'))!;
    const stored = await store.series.window(ref.rid, 0, 1000);
    assert.deepEqual(new Map(stored.map((r) => [`${r.metric}@${r.step}`, decodeValue(r.value)])), written);
    assert.ok(stored.every((r) => r.wall === 1000 + r.step));
    // The converted blocks take further writes: one overwritten, one appended.
    await store.points.write(ref, [
      { step: 10, values: { a: -5 } },
      { step: 200, values: { a: 7 } },
    ]);
    assert.equal(await store.check(), 'ok');
    const a = (await store.series.summaries(ref.rid)).find((m) => m.name === 'a')!;
    const aSteps = [...written.keys()].filter((k) => k.startsWith('a@')).length;
    assert.deepEqual([a.count, a.min, a.last_step, a.last_value], [aSteps + 1, -5, 200, 7]);
    await store.close();
  },
);

test('PostgreSQL: a run lives in its own partition, which its deletion drops', { skip: postgresOnly }, async () => {
  const url = await freshLocation();
  const store = await openStore(url);
  const run = await newRun(store, 'p');
  await store.points.write(run, [{ step: 0, values: { v: 1 } }]);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const partitions = async (): Promise<string[]> =>
    (
      await client.query(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'blocks'::regclass ORDER BY 1",
      )
    ).rows.map((r: { relname: string }) => r.relname);
  assert.deepEqual(await partitions(), [`blocks_${run.rid}`]);
  await store.runs.delete(run.id);
  assert.deepEqual(await partitions(), []);
  await client.end();
  await store.close();
});

test(
  'PostgreSQL: text with a NUL character, which PostgreSQL cannot store, is refused as a bad request',
  { skip: postgresOnly },
  async () => {
    const store = await openTestStore();
    await assert.rejects(store.runs.create({ name: 'a\u0000b' }), { code: 'GW_ERR_VALIDATION', status: 400 });
    assert.deepEqual(await store.runs.list(), []);
    await store.close();
  },
);

test('a batch appended to a block whose sum then overflows leaves the sum -Infinity, as in JS', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'overflow');
  // Each batch's own sums are finite; the 256-step block both fall in sums past the double range once they meet.
  await store.points.write(run, [{ step: 0, values: { v: -1e308 } }]);
  await store.points.write(run, [{ step: 20, values: { v: -1e308 } }]);
  await store.points.write(run, [{ step: 40, values: { v: 1 } }]);
  assert.equal(await store.check(), 'ok');
  const metric = (await store.series.metricId(run.rid, 'v'))!;
  const env = await store.series.read(metric, 1);
  assert.equal(env.mode, 'buckets');
  if (env.mode === 'buckets')
    assert.deepEqual(
      env.buckets.map((b) => [b.count, b.mean]),
      [[3, Number.NEGATIVE_INFINITY]],
    );
  await store.close();
});

test('values at the edge of the double range are stored, and their envelope sums overflow to -Infinity as in JS', async () => {
  const store = await openTestStore();
  const run = await newRun(store, 'edge');
  const min = -1.7976931348623157e308;
  await store.points.write(
    run,
    Array.from({ length: 40 }, (_, i) => ({ step: i, values: { v: i % 2 ? min : 5e-324 } })),
  );
  const metric = (await store.series.metricId(run.rid, 'v'))!;
  const raw = await store.series.read(metric, 100);
  assert.equal(raw.mode, 'raw');
  if (raw.mode === 'raw')
    assert.deepEqual(
      raw.points.slice(0, 2).map((p) => p[1]),
      [5e-324, min],
    );
  const env = await store.series.read(metric, 2);
  assert.equal(env.mode, 'buckets');
  if (env.mode === 'buckets') {
    assert.deepEqual(
      env.buckets.map((b) => [b.count, b.min, b.max, b.mean]),
      [
        [32, min, 5e-324, Number.NEGATIVE_INFINITY],
        [8, min, 5e-324, Number.NEGATIVE_INFINITY],
      ],
    );
  }
  assert.equal(await store.check(), 'ok');
  await store.close();
});
