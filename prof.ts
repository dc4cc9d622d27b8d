import pg from 'pg';
import { openStore } from './db/store.js';
import { createPgDatabase } from './harness/store.js';
const admin = process.argv[2]!;
const url = await createPgDatabase(admin);
const store = await openStore(url);
const run = await store.runs.create({ name: 'p' });
const ref = (await store.runs.ref(run.id))!;
const batch = (from: number, steps: number, metrics: number) =>
  Array.from({ length: steps }, (_, i) => ({
    step: from + i,
    values: Object.fromEntries(Array.from({ length: metrics }, (_, m) => [`m${m}`, Math.sin((from + i) / 50 + m)])),
  }));
const pool = new pg.Pool({ connectionString: url });
await pool.query("SELECT pg_stat_reset()");
await pool.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET track_functions = 'all'`);
await store.close();
const s2 = await openStore(url);
let step = 0;
const t0 = performance.now();
const N = Number(process.argv[3] ?? 50), S = Number(process.argv[4] ?? 1000), M = Number(process.argv[5] ?? 10);
for (let k = 0; k < N; k++) { await s2.points.write(ref, batch(step, S, M)); step += S; }
const ms = performance.now() - t0;
console.log(`write: ${(ms / N).toFixed(2)} ms per batch of ${S * M}, ${((ms * 1000) / (N * S * M)).toFixed(2)} µs/pt`);
await new Promise((r) => setTimeout(r, 600));
const f = await pool.query("SELECT funcname, calls, round(total_time::numeric,1) total, round(self_time::numeric,1) self FROM pg_stat_user_functions ORDER BY total_time DESC");
console.table(f.rows);
const mid = (await pool.query("SELECT mid FROM metrics WHERE name='m0'")).rows[0].mid;
for (let k = 0; k < 3; k++) { const t = performance.now(); await s2.series.read({ rid: ref.rid, mid }, 1000); console.log('read 1000 buckets', (performance.now() - t).toFixed(1), 'ms'); }
{ const t = performance.now(); await s2.series.summaries(ref.rid); console.log('summaries', (performance.now() - t).toFixed(1), 'ms'); }
await s2.close(); await pool.end();
