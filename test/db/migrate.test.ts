// Specification of `ganwatch migrate --from FILE --to postgres://...`: a SQLite database copied into an empty PostgreSQL
// store holds exactly the same contents afterwards, table by table (points and envelopes identical, NaN kept), works as
// a store, and a non-empty target is refused. Needs PostgreSQL (npm run test:pg).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openSqliteStore } from '../../db/sqlite/store.js';
import { openStore, type Store } from '../../db/store.js';
import { ROOT, tempDir } from '../../harness/server.js';
import { createPgDatabase, postgresOnly } from '../../harness/store.js';

const GANWATCH = join(ROOT, 'bin/ganwatch.js');
const cli = (args: string[]) =>
  spawnSync(process.execPath, [GANWATCH, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GANWATCH_DB: '' },
  });

/** A SQLite store with something in every table: two runs' points (NaN, ±Infinity), media, latents, alerts, ... */
async function fill(store: Store): Promise<void> {
  for (const name of ['first', 'second']) {
    const run = (await store.runs.ref(
      (await store.runs.create({ name, config: { lr: 2e-4, b: [1, 2] }, tags: ['x', name] })).id,
    ))!;
    const special = ['NaN', 'Infinity', '-Infinity'] as const;
    for (let from = 0; from < 30_000; from += 5000)
      await store.points.write(
        run,
        Array.from({ length: 5000 }, (_, i) => {
          const s = from + i;
          return {
            step: s,
            wall: 1.7e9 + s / 7,
            values: { 'loss/D': s % 997 === 0 ? special[s % 3]! : Math.sin(s) / 3, 'lr/D': 1e-4 },
          };
        }),
      );
    await store.media.put(run.rid, {
      epoch: 1,
      step: 10,
      kind: 'samples',
      meta: { z: 4 },
      png: Buffer.from([137, 80, 78, 71, 1, 2, 3]),
    });
    await store.latents.put(run.rid, {
      epoch: 1,
      step: 10,
      dim: 2,
      codes: Float32Array.from([0.5, -1, 2, 3.25]),
      labels: Int32Array.from([0, 1]),
    });
    const control = await store.controls.create(run.rid, { action: 'set_lr', args: { net: 'D', value: 1e-5 } }, 'api');
    await store.controls.markSent(control.id);
    const { alert } = await store.alerts.open(run.rid, {
      rule: 'd_overpowering',
      key: 'D',
      severity: 'warn',
      stepOpened: 100,
      message: 'D wins',
      evidence: { acc: 0.99 },
      remedy: { text: 'lower lr', action: { action: 'scale_lr', args: { net: 'D', factor: 0.5 } } },
      muted: true,
    });
    await store.alerts.attachControl(alert.id, control.id);
    await store.alerts.acknowledge(alert.id);
    await store.markers.add(run.rid, [{ metric: 'loss/D', step: 50, changeAt: 40, kind: 'up', evidence: { d: 1 } }]);
    await store.projections.markPending(run.rid, 1, 'tsne', { sourceCount: 2, count: 2, stratified: true });
    await store.projections.putReady(run.rid, 1, 'tsne', {
      xy: Float32Array.from([1, 2, 3, 4]),
      indices: null,
      labels: Int32Array.from([0, 1]),
      stratified: true,
      params: { perplexity: 30 },
      ms: 12.5,
    });
    await store.projections.markSeparationPending(run.rid, 1, 10);
    await store.projections.putSeparation(run.rid, 1, {
      status: 'ready',
      silhouette: 0.5,
      fisher: 3,
      reason: null,
      ms: 2,
    });
    await store.distributions.write(run, [
      { name: 'D/real', step: 5, wall: 1.7e9, edges: [-1, 0, 1], counts: [3, 4], nonFinite: 1 },
      { name: 'D/real', step: 6, edges: [0, 0.5, 3], counts: [1, 2] },
      { name: 'enc/mu', step: 5, edges: [], counts: [], nonFinite: 2 },
    ]);
    await store.settings.setRunAlertConfig(run.rid, { auto_apply: true });
    await store.userRules.create(run.rid, {
      name: `${name}: D loss`,
      metric: 'loss/D',
      comparison: '>',
      value: 2.5,
      for: { minutes: 1.5 },
      severity: 'critical',
      enabled: name === 'first',
    });
    if (name === 'first') await store.runs.update(run.id, { status: 'finished', notes: 'done' });
  }
  await store.settings.put('alerts.defaults', { rules: { early_stop: { enabled: false } } });
  await store.userRules.create(null, {
    name: 'wide',
    metric: 'grad_norm/*',
    comparison: '>=',
    value: 100,
    for: { steps: 3 },
    severity: 'warn',
    enabled: true,
  });
}

const TABLES: Record<string, string> = {
  runs: 'rid',
  metrics: 'mid',
  points: 'mid, step',
  blocks: 'mid, level, block',
  media: 'id',
  latents: 'rid, epoch',
  controls: 'id',
  alerts: 'id',
  markers: 'id',
  settings: 'key',
  projections: 'rid, epoch, method',
  latent_separation: 'rid, epoch',
  user_rules: 'id',
  distributions: 'rid, name, step',
};
const JSON_COLUMNS = new Set([
  'config',
  'tags',
  'alert_config',
  'meta',
  'args',
  'evidence',
  'remedy_action',
  'params',
  'value',
]);
const BOOLEAN_COLUMNS = new Set(['acknowledged', 'muted', 'stratified', 'enabled']);

/** A value as both stores mean it: JSON parsed, 0/1 as booleans, SQLite's NULL point value as NaN. */
function canonical(table: string, column: string, v: unknown): unknown {
  if (table === 'points' && column === 'value') return v === null || Number.isNaN(v) ? 'NaN' : v;
  if (JSON_COLUMNS.has(column)) return typeof v === 'string' ? JSON.parse(v) : v;
  if (BOOLEAN_COLUMNS.has(column)) return v === 1 || v === true;
  return v;
}

const canonicalRows = (table: string, rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, canonical(table, k, v)])));

test(
  'ganwatch migrate copies every table of a SQLite database into an empty PostgreSQL store, exactly',
  { skip: postgresOnly },
  async () => {
    const file = join(tempDir('ganwatch-migrate-'), 'g.db');
    const sqlite = openSqliteStore(file);
    await fill(sqlite);
    await sqlite.close();
    const url = await createPgDatabase();

    const out = cli(['migrate', '--from', file, '--to', url]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^migrate: .* → postgres:\/\/.*: 2 runs, 120000 points in [\d.]+ s\n$/);

    const lite = new Database(file, { readonly: true });
    const client = new pg.Client({ connectionString: url });
    client.setTypeParser(pg.types.builtins.INT8, 'text', Number);
    await client.connect();
    try {
      for (const [table, order] of Object.entries(TABLES)) {
        const columns = (lite.prepare(`SELECT * FROM ${table} LIMIT 0`).columns() as Array<{ name: string }>).map(
          (c) => c.name,
        );
        const a = lite.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${order}`).all() as Array<
          Record<string, unknown>
        >;
        const b = (await client.query(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${order}`)).rows as Array<
          Record<string, unknown>
        >;
        assert.ok(a.length > 0, `${table} has rows to compare`);
        assert.equal(b.length, a.length, `${table}: row count`);
        assert.deepEqual(canonicalRows(table, b), canonicalRows(table, a), `${table}: contents`);
      }
      const nan = await client.query("SELECT count(*)::int AS n FROM points WHERE value = 'NaN'");
      assert.ok(nan.rows[0].n > 0, 'NaN is stored as NaN');
    } finally {
      lite.close();
      await client.end();
    }

    // The copy works as a store: the same reads give the same answers, and new rows get new ids.
    const [a, b] = [openSqliteStore(file), await openStore(url)];
    try {
      for (const id of (await a.runs.list()).map((r) => r.id)) {
        const [ra, rb] = [(await a.runs.ref(id))!, (await b.runs.ref(id))!];
        assert.deepEqual(await b.series.summaries(rb.rid), await a.series.summaries(ra.rid));
        assert.deepEqual(await b.distributions.names(rb.rid), await a.distributions.names(ra.rid));
        assert.deepEqual(
          await b.distributions.read(rb.rid, 'D/real', 1),
          await a.distributions.read(ra.rid, 'D/real', 1),
        );
        for (const buckets of [10, 1000, 100_000]) {
          const [ma, mb] = [(await a.series.metricId(ra.rid, 'loss/D'))!, (await b.series.metricId(rb.rid, 'loss/D'))!];
          assert.deepEqual(await b.series.read(mb, buckets), await a.series.read(ma, buckets), `${buckets} buckets`);
        }
      }
      const created = await b.runs.create({ name: 'after' });
      assert.equal((await b.runs.list()).length, 3);
      const ref = (await b.runs.ref(created.id))!;
      assert.ok(ref.rid > 2, 'new runs continue after the copied ids');
      await b.points.write(ref, [{ step: 0, values: { v: 1 } }]);
    } finally {
      await a.close();
      await b.close();
    }
    const check = cli(['check', '--db', url]);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^check: postgres:\/\/.*: ok\n$/);
  },
);

test(
  'ganwatch migrate refuses a target that is not empty, in one line with exit code 2, and changes nothing',
  { skip: postgresOnly },
  async () => {
    const file = join(tempDir('ganwatch-migrate-'), 'g.db');
    const sqlite = openSqliteStore(file);
    await sqlite.runs.create({ name: 'one' });
    await sqlite.close();
    const url = await createPgDatabase();
    const target = await openStore(url);
    await target.runs.create({ name: 'already here' });
    await target.close();

    const out = cli(['migrate', '--from', file, '--to', url]);
    assert.equal(out.status, 2);
    assert.equal(out.stderr.trim().split('\n').length, 1);
    assert.match(out.stderr, /^ganwatch: GW_ERR_MIGRATE: .*not empty \(1 runs, 0 settings\)/);
    const after = await openStore(url);
    assert.deepEqual(
      (await after.runs.list()).map((r) => r.name),
      ['already here'],
    );
    await after.close();

    const wrong = cli(['migrate', '--from', file, '--to', join(tempDir(), 'x.db')]);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /GW_ERR_MIGRATE: Migrate: --to takes a postgres:\/\/ URL/);
  },
);
