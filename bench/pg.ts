// `npm run bench -- pg`: the store on PostgreSQL next to SQLite, in the same run. (1) Ingest: 1,000,000 points
// (10 metrics × 100,000 steps) over the ingest socket from a separate client process into one server on PostgreSQL,
// against one server on SQLite (default and --durable). (2) Reads: 1,000 buckets over a 1,000,000-point series, and a
// zoomed window, on each store. Without GANWATCH_TEST_DB it starts its own throwaway cluster (scripts/pg-throwaway.sh)
// with fsync on and PostgreSQL's default synchronous_commit, so every acknowledged commit is on disk.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openStore, type Store } from '../db/store.js';
import { ROOT, api, startServer, tempDir } from '../test/support/server.js';
import { createPgDatabase } from '../test/support/store.js';
import { runIngestClient } from './ingest.js';
import { upperMedian } from './_stats.js';

const METRICS = 10;
const STEPS = 100_000;
const SERIES = 1_000_000;

async function ingest(location: string, extraArgs: string[] = []): Promise<{ rate: number; stored: number }> {
  const server = await startServer({ dbPath: location, extraArgs });
  try {
    const id = (await api(server, 'POST', '/api/v1/runs', { name: 'bench-pg' })).body.id;
    const ms = await runIngestClient(
      `${server.url.replace('http', 'ws')}/api/v1/ingest?run=${id}`,
      String(METRICS),
      STEPS,
      1000,
      4,
    );
    const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics as Array<{ count: number }>;
    return { rate: (METRICS * STEPS) / (ms / 1000), stored: metrics.reduce((n, m) => n + m.count, 0) };
  } finally {
    await server.stop();
  }
}

/** Medians of 7 reads of 1,000 buckets over the whole series and over a 100,000-step window (ms). */
async function reads(store: Store): Promise<{ whole: number; zoom: number; spikeKept: boolean }> {
  const run = (await store.runs.ref((await store.runs.create({ name: 'bench-pg-read' })).id))!;
  for (let from = 0; from < SERIES; from += 10_000) {
    const points = [];
    for (let s = from; s < from + 10_000; s++)
      points.push({ step: s, values: { 'loss/D': s === 777_777 ? 1e6 : Math.sin(s / 1000) } });
    await store.points.write(run, points);
  }
  const metric = (await store.series.metricId(run.rid, 'loss/D'))!;
  const whole: number[] = [];
  const zoom: number[] = [];
  let spikeKept = false;
  for (let i = 0; i < 8; i++) {
    let t0 = performance.now();
    const r = await store.series.read(metric, 1000);
    if (i > 0) whole.push(performance.now() - t0);
    if (r.mode === 'buckets')
      spikeKept = r.buckets.some((b) => b.max === 1e6 && b.start <= 777_777 && 777_777 <= b.end);
    t0 = performance.now();
    await store.series.read(metric, 1000, 700_000, 800_000);
    if (i > 0) zoom.push(performance.now() - t0);
  }
  return { whole: upperMedian(whole), zoom: upperMedian(zoom), spikeKept };
}

export async function run(): Promise<void> {
  if (!process.env.GANWATCH_TEST_DB) {
    // Run again inside a throwaway cluster (fsync on: commits on disk, as a production PostgreSQL).
    const r = spawnSync(
      join(ROOT, 'scripts/pg-throwaway.sh'),
      [process.execPath, '--import', 'tsx', join(ROOT, 'bench/run.ts'), 'pg'],
      {
        stdio: 'inherit',
        env: { ...process.env, PG_FSYNC: 'on' },
      },
    );
    if (r.status !== 0) throw new Error(`the benchmark inside a throwaway cluster failed (exit ${r.status})`);
    return;
  }
  const fmt = (n: number): string => Math.round(n).toLocaleString('en');

  const lite = await ingest(join(tempDir(), 'bench.db'));
  const durable = await ingest(join(tempDir(), 'bench-durable.db'), ['--durable']);
  const pg = await ingest(await createPgDatabase());
  console.log(
    `points stored (SQLite / --durable / PostgreSQL): ${fmt(lite.stored)} / ${fmt(durable.stored)} / ${fmt(pg.stored)} of ${fmt(METRICS * STEPS)}`,
  );
  console.log(
    `ingest, one server on SQLite:             ${fmt(lite.rate)} points/s (frames of 1,000 steps × 10 metrics, 4 in flight)`,
  );
  console.log(`ingest, one server on SQLite --durable:   ${fmt(durable.rate)} points/s`);
  console.log(`ingest, one server on PostgreSQL:         ${fmt(pg.rate)} points/s`);
  console.log(
    `ratio PostgreSQL / SQLite:                ${(pg.rate / lite.rate).toFixed(2)}  (/ --durable: ${(pg.rate / durable.rate).toFixed(2)})`,
  );

  const sqliteStore = await openStore(join(tempDir(), 'bench-read.db'));
  const pgStore = await openStore(await createPgDatabase());
  try {
    const a = await reads(sqliteStore);
    const b = await reads(pgStore);
    console.log(
      `1,000 buckets over 1,000,000 points, SQLite:      ${a.whole.toFixed(1)} ms median of 7 (spike kept: ${a.spikeKept ? 'yes' : 'NO'}); zoomed to 100,000 steps ${a.zoom.toFixed(1)} ms`,
    );
    console.log(
      `1,000 buckets over 1,000,000 points, PostgreSQL:  ${b.whole.toFixed(1)} ms median of 7 (spike kept: ${b.spikeKept ? 'yes' : 'NO'}); zoomed to 100,000 steps ${b.zoom.toFixed(1)} ms`,
    );
    console.log(
      `ratio PostgreSQL / SQLite:                        ${(b.whole / a.whole).toFixed(2)} (zoom ${(b.zoom / a.zoom).toFixed(2)})`,
    );
  } finally {
    await sqliteStore.close();
    await pgStore.close();
  }
}
