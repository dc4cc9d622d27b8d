// `npm run bench -- bigrun [--steps=N]`: one run of 10,000,000 values (20 metrics × 500,000 steps) written through the
// store, then a real server on that database: latency of the dashboard's reads (metric summaries, 1,000-bucket series
// over the whole run, a zoomed raw window, all 20 charts at once), of a trainer's ingest into the big run, and of a
// backup and an integrity check. Baseline in the same run: the same reads on a small run (10,000 steps) in the same
// database, as a ratio.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { backupStore } from '../db/maintenance.js';
import { integrityCheck } from '../db/maintenance.js';
import { openStore, type RunRef, type Store } from '../db/store.js';
import { METRIC, type Point } from '../protocol/index.js';
import { api, startServer, tempDir, type RunningServer } from '../harness/server.js';

const METRICS = Array.from({ length: 20 }, (_, i) =>
  i < 6
    ? [METRIC.dRealAcc, METRIC.dFakeAcc, METRIC.cycError, METRIC.latentMse, METRIC.lossD, METRIC.lossGGan][i]!
    : `loss/m${i}`,
);

async function fill(store: Store, run: RunRef, steps: number): Promise<number> {
  const spikeAt = Math.floor((steps * 2) / 3);
  const t0 = performance.now();
  const perBatch = 500; // steps per transaction: 10,000 values
  for (let from = 0; from < steps; from += perBatch) {
    const batch: Point[] = [];
    for (let s = from; s < Math.min(steps, from + perBatch); s++) {
      const values: Record<string, number> = {};
      for (let m = 0; m < METRICS.length; m++)
        values[METRICS[m]!] = Math.sin(s / 5000 + m) + (s === spikeAt && m === 4 ? 50 : 0);
      batch.push({ step: s, wall: 1_700_000_000 + s * 0.05, values });
    }
    await store.points.write(run, batch);
  }
  return performance.now() - t0;
}

/** Median of `n` timings of `fn` (ms), after one warm-up call. */
async function timeIt(n: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function reads(server: RunningServer, run: string, steps: number): Promise<Record<string, number>> {
  const get = async (path: string) => {
    const res = await fetch(server.url + path);
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  };
  const base = `/api/v1/runs/${run}`;
  const mid = Math.floor(steps / 2);
  return {
    'metric summaries (20 metrics)': await timeIt(9, () => get(`${base}/metrics`)),
    '1,000 buckets over the whole run': await timeIt(9, () =>
      get(`${base}/series?metric=${METRIC.lossD}&buckets=1000`),
    ),
    'zoomed window (1,000 raw points)': await timeIt(9, () =>
      get(`${base}/series?metric=${METRIC.lossD}&buckets=1000&from=${mid}&to=${mid + 999}`),
    ),
    'all 20 charts, 1,000 buckets each': await timeIt(5, () =>
      Promise.all(METRICS.map((m) => get(`${base}/series?metric=${encodeURIComponent(m)}&buckets=1000`))),
    ),
  };
}

/** Ack latency (median and worst of `frames`) of 20-step frames appended to a run over the ingest socket. */
async function ingestLatency(
  server: RunningServer,
  run: string,
  fromStep: number,
  frames: number,
): Promise<{ median: number; max: number }> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/ingest?run=${run}`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const times: number[] = [];
  for (let f = 0; f < frames; f++) {
    const points = Array.from({ length: 20 }, (_, i) => ({
      step: fromStep + f * 20 + i,
      values: Object.fromEntries(METRICS.map((m, k) => [m, Math.cos(i + k)])),
    }));
    const t = performance.now();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(JSON.stringify({ type: 'points', seq: f, points }));
    });
    times.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  ws.close();
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, max: times[times.length - 1]! };
}

export async function run(args: string[] = []): Promise<void> {
  // `--steps=N` (npm run bench takes bare words for benchmark names).
  const given = args.find((a) => a.startsWith('--steps='));
  const steps = given ? Number(given.split('=')[1]) : 500_000;
  const dir = tempDir('ganwatch-bigrun-');
  const dbPath = join(dir, 'big.db');

  const store = await openStore(dbPath);
  const big = await store.runs.create({ name: 'big' });
  const small = await store.runs.create({ name: 'small' });
  const writeMs = await fill(store, (await store.runs.ref(big.id))!, steps);
  await fill(store, (await store.runs.ref(small.id))!, 10_000);
  await store.close();
  const values = steps * METRICS.length;

  const server = await startServer({ dbPath });
  try {
    const bigReads = await reads(server, big.id, steps);
    const smallReads = await reads(server, small.id, 10_000);
    const ingestBig = await ingestLatency(server, big.id, steps, 50);
    const ingestSmall = await ingestLatency(server, small.id, 10_000, 50);
    const count = (
      await api<{ metrics: Array<{ count: number; max: number }> }>(server, 'GET', `/api/v1/runs/${big.id}/metrics`)
    ).body.metrics;
    const stored = count.reduce((n, m) => n + m.count, 0);
    const spike = (
      await api<{ buckets: Array<{ max: number }> }>(
        server,
        'GET',
        `/api/v1/runs/${big.id}/series?metric=${METRIC.lossD}&buckets=1000`,
      )
    ).body.buckets.some((b) => b.max >= 50);

    const t0 = performance.now();
    const backup = await backupStore(dbPath, join(dir, 'backup.db'));
    const backupMs = performance.now() - t0;
    const t1 = performance.now();
    const integrity = await integrityCheck(dbPath);
    const integrityMs = performance.now() - t1;

    console.log(
      `big run:                    ${values.toLocaleString()} values (${METRICS.length} metrics × ${steps.toLocaleString()} steps) written in ${(writeMs / 1000).toFixed(1)} s (${Math.round(values / (writeMs / 1000)).toLocaleString()} values/s); stored ${(stored + 20 * 20 * 50).toLocaleString()} after the ingest below`,
    );
    console.log(
      `database file:              ${(statSync(dbPath).size / 1e9).toFixed(2)} GB (${(statSync(dbPath).size / values).toFixed(0)} bytes per value)`,
    );
    for (const [name, ms] of Object.entries(bigReads)) {
      const base = smallReads[name]!;
      console.log(
        `${(name + ':').padEnd(35)} ${ms.toFixed(1)} ms  (10,000-step run: ${base.toFixed(1)} ms, ratio ${(ms / base).toFixed(2)})`,
      );
    }
    console.log(`spike kept in its bucket:           ${spike ? 'yes' : 'NO'}`);
    console.log(
      `ingest ack into the big run:        median ${ingestBig.median.toFixed(1)} ms, max ${ingestBig.max.toFixed(1)} ms (20 steps × 20 metrics a frame; small run: median ${ingestSmall.median.toFixed(1)} ms)`,
    );
    console.log(
      `online backup of the database:      ${(backupMs / 1000).toFixed(1)} s for ${(backup.bytes / 1e9).toFixed(2)} GB (integrity of the copy: ${backup.integrity})`,
    );
    console.log(`PRAGMA integrity_check:             ${(integrityMs / 1000).toFixed(1)} s: ${integrity}`);
  } finally {
    await server.stop();
  }
}
