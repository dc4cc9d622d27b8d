// `npm run bench -- query`: a 1,000,000-point series read as 1,000 buckets, against reading the raw series, same run.
import { join } from 'node:path';
import { rawRead } from './support/sqlite-baseline.js';
import { openSqliteStore } from '../db/sqlite/store.js';
import { tempDir } from '../harness/server.js';
import { METRIC } from '../protocol/metric-names.js';
import { upperMedian } from './support/stats.js';

const N = 1_000_000;

export async function run(): Promise<void> {
  const store = openSqliteStore(join(tempDir(), 'query.db'));
  const run = (await store.runs.ref((await store.runs.create({ name: 'bench-query' })).id))!;
  const spikeAt = 777_777;
  for (let from = 0; from < N; from += 10_000) {
    const points = [];
    for (let s = from; s < from + 10_000; s++)
      points.push({ step: s, values: { [METRIC.lossD]: s === spikeAt ? 1e6 : Math.sin(s / 1000) } });
    await store.points.write(run, points);
  }
  const metric = (await store.series.metricId(run.rid, METRIC.lossD))!;
  const bucketTimes: number[] = [];
  const rawTimes: number[] = [];
  let spikeKept = false;
  let buckets = 0;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const r = await store.series.read(metric, 1000);
    bucketTimes.push(performance.now() - t0);
    if (r.mode === 'buckets') {
      buckets = r.buckets.length;
      spikeKept = r.buckets.some((b) => b.max === 1e6 && b.start <= spikeAt && spikeAt <= b.end);
    }
    rawTimes.push(rawRead(store.db, metric.mid)[1]);
  }
  const zoomTimes: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await store.series.read(metric, 1000, 700_000, 800_000);
    zoomTimes.push(performance.now() - t0);
  }
  await store.close();
  const b = upperMedian(bucketTimes);
  const raw = upperMedian(rawTimes);
  console.log(
    `1,000 buckets over 1,000,000 points: ${b.toFixed(1)} ms median of 7 (${buckets} buckets; spike kept: ${spikeKept ? 'yes' : 'NO'})`,
  );
  console.log(`baseline raw read of the series:     ${raw.toFixed(1)} ms median of 7`);
  console.log(`ratio raw / buckets:                 ${(raw / b).toFixed(0)}× faster  (goal ≥ 20×)`);
  console.log(`zoom: 1,000 buckets over 100,000:    ${upperMedian(zoomTimes).toFixed(1)} ms`);
}
