// `npm run bench -- dashboard`: the run page in Debian's Chromium. Time from navigation to every chart drawn for a run
// of 12 metrics × 1,000,000 points, against the same page for 12 × 1,000 points (same server, same browser, same
// run of the benchmark; goal < 2×); and the live latency from an HTTP push to the point drawn, on both runs.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openStore, type Store } from '../db/store.js';
import { browserMissing, drawLatency, launchBrowser, pushPoints, startDashboardServer } from '../harness/browser.js';
import { tempDir } from '../harness/server.js';
import { upperMedian } from './support/stats.js';
import { METRIC } from '../protocol/metric-names.js';

const METRICS = [
  METRIC.lossD,
  METRIC.lossGGan,
  METRIC.lossL1,
  METRIC.lossKl,
  METRIC.dRealAcc,
  METRIC.dFakeAcc,
  METRIC.cycError,
  METRIC.latentMse,
  METRIC.gradNormG,
  METRIC.gradNormD,
  METRIC.lrD,
  METRIC.perfStepMs,
];
const BIG = 1_000_000;
const SMALL = 1_000;
const ROUNDS = 5;
const LIVE_ROUNDS = 10;

/** Writes a run straight into the database file (the ingest path has its own benchmark). */
async function fill(store: Store, name: string, steps: number): Promise<string> {
  const run = await store.runs.create({ name, config: { steps } });
  const ref = (await store.runs.ref(run.id))!;
  const wall0 = Date.now() / 1000 - steps * 0.01;
  const per = Math.floor(10_000 / METRICS.length);
  for (let from = 0; from < steps; from += per) {
    const points = [];
    for (let s = from; s < Math.min(steps, from + per); s++) {
      const values: Record<string, number> = {};
      METRICS.forEach((m, i) => (values[m] = 1 + i * 0.1 + 0.3 * Math.sin(s / (50 + i)) + (s % 9973 === 0 ? 5 : 0)));
      points.push({ step: s, wall: wall0 + s * 0.01, values });
    }
    await store.points.write(ref, points);
  }
  return run.id;
}

/** Opens the run page and returns the time (ms since navigation start) at which its last chart first drew. */
async function timeToDrawn(page: Page, url: string, charts: number): Promise<number> {
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForFunction((n) => Object.keys(window.__ganwatch?.drawnTimes() ?? {}).length >= n, charts, {
    timeout: 60_000,
    polling: 50,
  });
  return page.evaluate(() => Math.max(...Object.values(window.__ganwatch.drawnTimes())));
}

export async function run(): Promise<void> {
  const missing = browserMissing();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  const dbPath = join(tempDir('ganwatch-bench-dashboard-'), 'dashboard.db');
  const store = await openStore(dbPath);
  const t0 = performance.now();
  const big = await fill(store, 'big-12x1M', BIG);
  const small = await fill(store, 'small-12x1k', SMALL);
  await store.close();
  console.log(
    `wrote 12 × ${BIG.toLocaleString('en')} + 12 × ${SMALL.toLocaleString('en')} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const server = await startDashboardServer({ dbPath });
  const browser = await launchBrowser();
  try {
    const { page } = await browser.open('about:blank', { width: 1280, height: 3200 });
    const charts = METRICS.length + 1; // + the derived G/D ratio
    const bigTimes: number[] = [];
    const smallTimes: number[] = [];
    await timeToDrawn(page, `${server.url}/#/runs/${small}`, charts); // warm-up: caches, JIT
    for (let i = 0; i < ROUNDS; i++) {
      smallTimes.push(await timeToDrawn(page, `${server.url}/#/runs/${small}`, charts));
      bigTimes.push(await timeToDrawn(page, `${server.url}/#/runs/${big}`, charts));
    }
    const b = upperMedian(bigTimes);
    const s = upperMedian(smallTimes);
    console.log(
      `navigation → all ${charts} charts drawn, 12 × 1,000,000 points: ${b.toFixed(0)} ms median of ${ROUNDS}`,
    );
    console.log(`baseline, same page, 12 × 1,000 points:              ${s.toFixed(0)} ms median of ${ROUNDS}`);
    console.log(`ratio big / small:                                   ${(b / s).toFixed(2)}  (goal < 2)`);

    // A distinctive high value: drawn as a raw point, or (once a chart holds buckets) as the max of the bucket it joins.
    const live = async (runId: string, firstStep: number): Promise<{ drawn: number; http: number }> => {
      await timeToDrawn(page, `${server.url}/#/runs/${runId}`, charts);
      const drawn: number[] = [];
      const http: number[] = [];
      for (let i = 0; i < LIVE_ROUNDS; i++) {
        const step = firstStep + i;
        const value = 100 + i;
        const push = async (): Promise<void> => {
          const t = performance.now();
          await pushPoints(server, runId, [{ step, values: { [METRIC.lossD]: value } }]);
          http.push(performance.now() - t);
        };
        drawn.push(await drawLatency(page, METRIC.lossD, null, value, push, ['line', 'band-hi']));
      }
      return { drawn: upperMedian(drawn), http: upperMedian(http) };
    };
    const liveBig = await live(big, BIG + 10);
    const liveSmall = await live(small, SMALL + 10);
    console.log(
      `live: HTTP push → point drawn, 1M-point run:         ${liveBig.drawn.toFixed(0)} ms median of ${LIVE_ROUNDS} (the push's own HTTP round trip: ${liveBig.http.toFixed(0)} ms)`,
    );
    console.log(
      `baseline, same on the 1k-point run:                  ${liveSmall.drawn.toFixed(0)} ms median of ${LIVE_ROUNDS} (HTTP round trip: ${liveSmall.http.toFixed(0)} ms)`,
    );
    console.log(
      `ratio big / small:                                   ${(liveBig.drawn / liveSmall.drawn).toFixed(2)}  (goal: both < 1,000 ms)`,
    );
  } finally {
    await browser.close();
    await server.stop();
  }
}
