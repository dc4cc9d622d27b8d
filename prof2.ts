import pg from 'pg';
import { openStore } from './db/store.js';
import { createPgDatabase } from './harness/store.js';
import { preparePointBatch } from './db/postgres/point-batch.js';
import { numberArray } from './db/postgres/pool.js';
const url = await createPgDatabase(process.argv[2]!);
const store = await openStore(url);
const run = await store.runs.create({ name: 'p' });
const ref = (await store.runs.ref(run.id))!;
const batch = (from: number, steps: number, metrics: number) =>
  Array.from({ length: steps }, (_, i) => ({ step: from + i, wall: 1.7e9 + (from + i) / 100,
    values: Object.fromEntries(Array.from({ length: metrics }, (_, m) => [`m${m}`, Math.sin((from + i) / 50 + m)])) }));
let step = 0;
for (let k = 0; k < 20; k++) { await store.points.write(ref, batch(step, 1000, 10)); step += 1000; }
const pts = batch(step, 1000, 10);
let t = performance.now();
for (let k = 0; k < 20; k++) preparePointBatch(pts, 1);
console.log('prepare', ((performance.now() - t) / 20).toFixed(2), 'ms');
const b = preparePointBatch(pts, 1);
t = performance.now();
let params: unknown[] = [];
for (let k = 0; k < 20; k++) {
  const col = (f: (e: any) => any) => numberArray(b.blocks.map((x) => f(x.envelope)));
  params = [numberArray(b.blocks.map((x) => x.metric)), col((e) => e.block), col((e) => e.cnt), col((e) => e.nonfinite), col((e) => e.vmin), col((e) => e.vmax), col((e) => e.vsum), col((e) => e.vlast), col((e) => e.lastStep), col((e) => e.wall), b.blocks.map((x) => numberArray(x.values)), b.blocks.map((x) => numberArray(x.walls))];
}
console.log('serialize', ((performance.now() - t) / 20).toFixed(2), 'ms');
const pool = new pg.Pool({ connectionString: url });
const c = await pool.connect();
const mids = (await c.query("SELECT array_agg(mid ORDER BY name) m FROM metrics")).rows[0].m;
await c.query('BEGIN');
const fresh = `EXPLAIN (ANALYZE) INSERT INTO blocks (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall, point_values, point_walls)
  SELECT ${ref.rid}, ($1::bigint[])[e.metric], 1, e.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall, e.point_values::float8[], e.point_walls::float8[]
  FROM unnest($2::int[], $3::bigint[], $4::int[], $5::int[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::bigint[], $11::float8[], $12::text[], $13::text[]) AS e(metric, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall, point_values, point_walls)`;
const r = await c.query(fresh, [mids, ...params]);
console.log(r.rows.map((x: any) => x['QUERY PLAN']).join('\n'));
const nothing = `EXPLAIN (ANALYZE) SELECT count(e.point_values::float8[]) + count(e.point_walls::float8[]) FROM unnest($1::text[], $2::text[]) AS e(point_values, point_walls)`;
console.log((await c.query(nothing, [params[10], params[11]])).rows.map((x: any) => x['QUERY PLAN']).join('\n'));
const l2 = `EXPLAIN (ANALYZE) INSERT INTO blocks AS b (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
    SELECT ${ref.rid}, t.mid, 2, t.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall
    FROM (SELECT DISTINCT ($1::bigint[])[u.metric] AS mid, u.block >> 4 AS block FROM unnest($2::int[], $3::bigint[]) AS u(metric, block)) t
    CROSS JOIN LATERAL (
      SELECT sum(c.cnt) AS cnt, sum(c.nonfinite) AS nonfinite, min(c.vmin) AS vmin, max(c.vmax) AS vmax,
        sum(c.vsum) AS vsum, (array_agg(c.vlast ORDER BY c.block DESC) FILTER (WHERE c.cnt > 0))[1] AS vlast,
        max(c.last_step) AS last_step, (array_agg(c.wall ORDER BY c.block DESC))[1] AS wall
      FROM blocks c WHERE c.rid = ${ref.rid} AND c.mid = t.mid AND c.level = 1 AND c.block BETWEEN t.block * 16 AND t.block * 16 + 15) e
    ON CONFLICT (rid, mid, level, block) DO UPDATE SET cnt = excluded.cnt, nonfinite = excluded.nonfinite, vmin = excluded.vmin, vmax = excluded.vmax, vsum = excluded.vsum, vlast = excluded.vlast, last_step = excluded.last_step, wall = excluded.wall`;
console.log((await c.query(l2, [mids, params[0], params[1]])).rows.map((x: any) => x['QUERY PLAN']).join('\n'));
await c.query('ROLLBACK');
c.release(); await pool.end(); await store.close();
