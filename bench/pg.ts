// `npm run bench -- pg`: the store on PostgreSQL next to SQLite, in the same run. (1) Ingest: 1,000,000 points
// (10 metrics × 100,000 steps) over the ingest socket from a separate client process into one server on PostgreSQL,
// against one server on SQLite (default and --durable). (2) Reads: 1,000 buckets over a 1,000,000-point series, and a
// zoomed window, on each store. Without GANWATCH_TEST_DB it starts its own throwaway cluster (scripts/pg-throwaway.sh)
// with fsync on and PostgreSQL's default synchronous_commit, so every acknowledged commit is on disk. (3) Several
// servers on one PostgreSQL store: 3 ingest clients (3 runs) spread over 1, 2 and 3 servers, against one server on
// SQLite; and the 32-trainer load of bench/load.ts on 2 servers, its live subscribers on the other server than half the
// trainers (so their frames cross servers through LISTEN/NOTIFY), against one server on SQLite and one on PostgreSQL.
// `--multi`: (3) only; `--multi --no-load`: its ingest part only.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../db/store.js';
import { ROOT, api, startServer, tempDir } from '../harness/server.js';
import { createPgDatabase } from '../harness/store.js';
import { runIngestClient, runIngestClientsTogether } from './ingest.js';
import { cpuSeconds, loadAverage, runLoad, type LoadResult } from './load.js';
import { upperMedian } from './support/stats.js';

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

const SHARED_CLIENTS = 3;
const SHARED_STEPS = 100_000;
const LOAD_SECONDS = 30;

/** CPU seconds used so far by each PostgreSQL process of the machine (the throwaway cluster's), by pid. */
function postgresCpu(): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') used.set(pid, cpuSeconds(pid) || 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return used;
}

/**
 * PostgreSQL's CPU seconds between two readings: each process's own growth (a backend that ended in between no longer
 * counts, rather than making the sum go down).
 */
function postgresCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, now] of postgresCpu()) total += now - (before.get(pid) ?? 0);
  return total;
}

/** 3 clients, each its own run, spread over `count` servers on one store at once; points/s of them all together. */
async function ingestShared(
  location: string,
  count: number,
  extraArgs: string[] = [],
): Promise<{ rate: number; stored: number; serverCpu: number; pgCpu: number }> {
  const servers = [await startServer({ dbPath: location, extraArgs })];
  for (let i = 1; i < count; i++) servers.push(await startServer({ dbPath: location }));
  try {
    const runs: string[] = [];
    for (let i = 0; i < SHARED_CLIENTS; i++)
      runs.push((await api(servers[0]!, 'POST', '/api/v1/runs', { name: `bench-shared-${i}` })).body.id);
    const serverCpu = (): number => servers.reduce((n, s) => n + cpuSeconds(s.process.pid!), 0);
    let server0 = 0;
    let pg0 = new Map<number, number>();
    const ms = await runIngestClientsTogether(
      runs.map((id, i) => `${servers[i % count]!.url.replace('http', 'ws')}/api/v1/ingest?run=${id}`),
      String(METRICS),
      SHARED_STEPS,
      1000,
      4,
      () => ([server0, pg0] = [serverCpu(), postgresCpu()]),
    );
    const seconds = ms / 1000;
    const cpu = { serverCpu: (serverCpu() - server0) / seconds, pgCpu: postgresCpuSince(pg0) / seconds };
    let stored = 0;
    for (const id of runs) {
      const metrics = (await api(servers[count - 1]!, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics as Array<{
        count: number;
      }>;
      stored += metrics.reduce((n, m) => n + m.count, 0);
    }
    return { rate: (SHARED_CLIENTS * METRICS * SHARED_STEPS) / seconds, stored, ...cpu };
  } finally {
    for (const s of servers) await s.stop();
  }
}

async function shared(fmt: (n: number) => string, withLoad = true): Promise<void> {
  const total = SHARED_CLIENTS * METRICS * SHARED_STEPS;
  const lite = await ingestShared(join(tempDir(), 'bench-shared.db'), 1);
  console.log(
    `shared store: ${SHARED_CLIENTS} ingest clients × ${fmt(METRICS * SHARED_STEPS)} points (frames of 1,000 steps × 10 metrics, 4 in flight), spread over the servers`,
  );
  // CPU seconds per second, and per point stored (µs): what each point costs the servers and the database.
  const cores = (r: { rate: number; serverCpu: number; pgCpu: number }): string =>
    `CPU: servers ${(r.serverCpu * 100).toFixed(0)}%, PostgreSQL ${(r.pgCpu * 100).toFixed(0)}% of a core; ` +
    `per point: servers ${((r.serverCpu / r.rate) * 1e6).toFixed(1)} µs, PostgreSQL ${((r.pgCpu / r.rate) * 1e6).toFixed(1)} µs`;
  console.log(
    `  one server on SQLite:         ${fmt(lite.rate)} points/s (stored ${fmt(lite.stored)} of ${fmt(total)}; ${cores(lite)})`,
  );
  // --durable: every acknowledged batch on disk (fsync per commit), as PostgreSQL's commits are here.
  const durable = await ingestShared(join(tempDir(), 'bench-shared-durable.db'), 1, ['--durable']);
  console.log(
    `  one server on SQLite --durable: ${fmt(durable.rate)} points/s (stored ${fmt(durable.stored)} of ${fmt(total)}; ${cores(durable)})`,
  );
  let one = 0;
  for (const count of [1, 2, 3]) {
    const r = await ingestShared(await createPgDatabase(), count);
    one ||= r.rate;
    console.log(
      `  ${count} server${count > 1 ? 's' : ' '} on PostgreSQL:       ${fmt(r.rate)} points/s (stored ${fmt(r.stored)} of ${fmt(total)}; ${cores(r)}); ratio to SQLite ${(r.rate / lite.rate).toFixed(2)} (--durable ${(r.rate / durable.rate).toFixed(2)}), to 1 server ${(r.rate / one).toFixed(2)}`,
    );
  }
  if (!withLoad) return;
  const ms = (v: number): string => `${v.toFixed(1)} ms`;
  const line = (what: string, r: LoadResult): void =>
    console.log(
      `  ${what}: stored ${fmt(r.stored)} of ${fmt(r.sent)} (lost ${r.lost}${r.errors.length ? `; errors: ${r.errors.join(' | ')}` : ''}), ack p50 ${ms(r.ackMs.p50)} / p99 ${ms(r.ackMs.p99)}, live push p99 ${ms(r.liveMs.p99)}, fewest live points to a subscriber ${fmt(r.livePointsPerSubscriber.min)} of ${fmt(r.livePointsPerSubscriber.expected)}, server CPU ${r.serverCpuPercent.toFixed(0)}% of a core`,
    );
  console.log(
    `load: 32 trainers × 20 metrics × 100 steps/s + 20 live subscribers on '*', ${LOAD_SECONDS} s (bench/load.ts)`,
  );
  const base = await runLoad({
    trainers: 32,
    subscribers: 20,
    seconds: LOAD_SECONDS,
    location: join(tempDir(), 'load.db'),
  });
  line('one server on SQLite          ', base);
  const one1 = await runLoad({
    trainers: 32,
    subscribers: 20,
    seconds: LOAD_SECONDS,
    location: await createPgDatabase(),
  });
  line('one server on PostgreSQL      ', one1);
  const two = await runLoad({
    trainers: 32,
    subscribers: 20,
    seconds: LOAD_SECONDS,
    servers: 2,
    location: await createPgDatabase(),
  });
  line('2 servers on one PostgreSQL   ', two);
  console.log(
    `  ratio p99 ack, 2 servers on PostgreSQL to one on SQLite: ${(two.ackMs.p99 / base.ackMs.p99).toFixed(2)}, to one on PostgreSQL: ${(two.ackMs.p99 / one1.ackMs.p99).toFixed(2)}`,
  );
  console.log(`machine load: ${loadAverage()} (1-minute load average at the end; 2 cores)`);
  if (two.lost !== 0 || one1.lost !== 0 || base.lost !== 0) process.exitCode = 1;
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

export async function run(args: string[] = []): Promise<void> {
  if (!process.env.GANWATCH_TEST_DB) {
    // Run again inside a throwaway cluster (fsync on: commits on disk, as a production PostgreSQL).
    const r = spawnSync(
      join(ROOT, 'scripts/pg-throwaway.sh'),
      [process.execPath, '--import', 'tsx', join(ROOT, 'bench/run.ts'), 'pg', ...args.filter((a) => a !== 'pg')],
      {
        stdio: 'inherit',
        env: { ...process.env, PG_FSYNC: 'on' },
      },
    );
    if (r.status !== 0) throw new Error(`the benchmark inside a throwaway cluster failed (exit ${r.status})`);
    return;
  }
  const fmt = (n: number): string => Math.round(n).toLocaleString('en');
  if (args.includes('--multi')) return shared(fmt, !args.includes('--no-load'));

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
  await shared(fmt);
}
