// `npm run bench -- distributions`: 10,000 histograms of 64 buckets written through the store and read back (a 1,000-
// step range, and the whole run downsampled to 500 records), next to the same 640,000 numbers written as points (64
// metrics × 10,000 steps) and read back the same way, in the same run. On SQLite; with GANWATCH_TEST_DB set (e.g.
// under scripts/pg-throwaway.sh) on PostgreSQL too.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../db/store.js';
import { tempDir } from '../harness/server.js';
import { createPgDatabase, onPostgres } from '../harness/store.js';
import { histogramOf, type Distribution, type Point } from '../protocol/index.js';
import { upperMedian } from './support/stats.js';

const STEPS = 10_000;
const BUCKETS = 64;
const BATCH = 250;
const RANGE = [4000, 4999] as const;
const REPEATS = 7;
const METRICS = Array.from({ length: BUCKETS }, (_, i) => `b${String(i).padStart(2, '0')}`);

/** Step s's histogram: 256 values drifting with the step. */
function histogram(step: number): Distribution {
  const values = Array.from({ length: 256 }, (_, i) => Math.sin(i * 0.37 + step * 0.01) + step / 5000);
  return { name: 'D/real', step, wall: 1.7e9 + step, ...histogramOf(values, BUCKETS) };
}

async function newRun(store: Store, name: string): Promise<{ rid: number; id: string }> {
  return (await store.runs.ref((await store.runs.create({ name })).id))!;
}

interface Figures {
  writeMs: number;
  rangeMs: number;
  wholeMs: number;
}

async function distributions(store: Store): Promise<Figures> {
  const run = await newRun(store, 'bench-distributions');
  const all = Array.from({ length: STEPS }, (_, s) => histogram(s));
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i += BATCH) await store.distributions.write(run, all.slice(i, i + BATCH));
  const writeMs = performance.now() - t0;
  const range: number[] = [];
  const whole: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let t = performance.now();
    const read = await store.distributions.read(run.rid, 'D/real', 1000, RANGE[0], RANGE[1]);
    range.push(performance.now() - t);
    if (read.records.length !== 1000) throw new Error(`read ${read.records.length} records`);
    t = performance.now();
    await store.distributions.read(run.rid, 'D/real', 500);
    whole.push(performance.now() - t);
  }
  return { writeMs, rangeMs: upperMedian(range), wholeMs: upperMedian(whole) };
}

/** The same numbers as points: bucket i's count of step s is metric b<i> at step s. */
async function points(store: Store): Promise<Figures> {
  const run = await newRun(store, 'bench-points');
  const all: Point[] = Array.from({ length: STEPS }, (_, s) => {
    const counts = histogram(s).counts;
    return { step: s, wall: 1.7e9 + s, values: Object.fromEntries(METRICS.map((m, i) => [m, counts[i]!])) };
  });
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i += BATCH) await store.points.write(run, all.slice(i, i + BATCH));
  const writeMs = performance.now() - t0;
  const mids = await Promise.all(METRICS.map(async (m) => (await store.series.metricId(run.rid, m))!));
  const range: number[] = [];
  const whole: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let t = performance.now();
    for (const mid of mids) await store.series.read(mid, 10_000, RANGE[0], RANGE[1]);
    range.push(performance.now() - t);
    t = performance.now();
    for (const mid of mids) await store.series.read(mid, 500);
    whole.push(performance.now() - t);
  }
  return { writeMs, rangeMs: upperMedian(range), wholeMs: upperMedian(whole) };
}

function sqliteBytes(path: string): number {
  return statSync(path).size;
}

async function compare(kind: string, open: (name: string) => Promise<{ store: Store; size: () => Promise<number> }>) {
  const d = await open('distributions');
  const dist = await distributions(d.store);
  const distBytes = await d.size();
  await d.store.close();
  const p = await open('points');
  const pts = await points(p.store);
  const ptsBytes = await p.size();
  await p.store.close();
  const rate = (ms: number) => Math.round((STEPS / ms) * 1000).toLocaleString('en-US');
  const values = (ms: number) => Math.round(((STEPS * BUCKETS) / ms) * 1000).toLocaleString('en-US');
  console.log(`-- ${kind} --`);
  console.log(
    `write 10,000 histograms × 64 buckets:     ${dist.writeMs.toFixed(0)} ms (${rate(dist.writeMs)} histograms/s = ${values(dist.writeMs)} counts/s)`,
  );
  console.log(
    `baseline: the same 640,000 numbers as points: ${pts.writeMs.toFixed(0)} ms (${values(pts.writeMs)} values/s); ratio ${(pts.writeMs / dist.writeMs).toFixed(1)}× faster as histograms`,
  );
  console.log(
    `read a 1,000-step range (1,000 records):  ${dist.rangeMs.toFixed(1)} ms median of ${REPEATS}; points (64 series, raw): ${pts.rangeMs.toFixed(1)} ms; ratio ${(pts.rangeMs / dist.rangeMs).toFixed(1)}×`,
  );
  console.log(
    `read all 10,000 steps down to 500:        ${dist.wholeMs.toFixed(1)} ms median of ${REPEATS}; points (64 series, 500 buckets): ${pts.wholeMs.toFixed(1)} ms; ratio ${(pts.wholeMs / dist.wholeMs).toFixed(1)}×`,
  );
  console.log(
    `stored size: ${(distBytes / 2 ** 20).toFixed(1)} MiB (${Math.round(distBytes / STEPS)} B per histogram) vs points ${(ptsBytes / 2 ** 20).toFixed(1)} MiB; ratio ${(ptsBytes / distBytes).toFixed(1)}× smaller`,
  );
}

export async function run(): Promise<void> {
  await compare('SQLite', async (name) => {
    const path = join(tempDir('ganwatch-bench-dist-'), `${name}.db`);
    const store = await openStore(path);
    return {
      store,
      size: async () => {
        // Everything in the main file (WAL checkpointed), so the file size is what the data takes.
        (store as unknown as { db: { pragma(s: string): unknown } }).db.pragma('wal_checkpoint(TRUNCATE)');
        return sqliteBytes(path);
      },
    };
  });
  if (!onPostgres) {
    console.log('(PostgreSQL: run under scripts/pg-throwaway.sh, or set GANWATCH_TEST_DB, to measure it too)');
    return;
  }
  await compare('PostgreSQL', async () => {
    const store = await openStore(await createPgDatabase());
    return {
      store,
      size: async () => {
        const pool = (store as unknown as { pool: { query(s: string): Promise<{ rows: Array<{ n: number }> }> } }).pool;
        // The tables that hold the data (partitions included), not the database's fixed overhead.
        const { rows } = await pool.query(
          `SELECT ((SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('points'))
             + (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('blocks'))
             + pg_total_relation_size('metrics') + pg_total_relation_size('distributions'))::bigint AS n`,
        );
        return Number(rows[0]!.n);
      },
    };
  });
}
