// `npm run bench -- runs`: the runs table at sweep scale. 2,000 runs × 30 metrics against 20 runs × 30 metrics (same
// machine, same run of the benchmark): the filtered, sorted list in the store (the server's part) and over HTTP, and the
// table drawn in Debian's Chromium, from navigation to the first frame showing the rows (the body is virtualised: the
// rows near the view), and a scroll to the end until the last rows are painted; and the parallel coordinates of every
// run, from opening the section to the frame after the plot was painted. Goals: < 200 ms on the server, < 1 s in the
// browser. The load average is printed at the start and the end.
// `--pg`: the server's part (the store's query and HTTP) on PostgreSQL next to the same on SQLite, in the same run;
// without GANWATCH_TEST_DB it runs itself again inside a throwaway cluster (scripts/pg-throwaway.sh). No browser part:
// the page is the same whichever store the server reads.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openStore } from '../db/store.js';
import { browserMissing, launchBrowser, startDashboardServer } from '../harness/browser.js';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../harness/server.js';
import { createPgDatabase } from '../harness/store.js';
import { parseRunColumns, parseRunQuery, parseRunSort } from '../protocol/run-query.js';
import { STEP_METRICS, METRIC } from '../protocol/metric-names.js';
import { loadAverage } from './load.js';
import { upperMedian } from './support/stats.js';

const BIG = 2000;
const SMALL = 20;
const STEPS = 20;
const ROUNDS = 7;
/** 26 step metrics and 4 validation metrics: 30 per run. */
const METRICS = [...STEP_METRICS, METRIC.valFid, METRIC.valSsim, METRIC.valDiversity, METRIC.valL1];
// `not status:finished`, not `status:running`: a server starting on a store marks the runs without a trainer
// disconnected, so `status:running` would match none of them over HTTP and in the browser.
const Q = 'config.lr_d >= 1e-4 and val/fid < 40 and tag:facades and not status:finished';
const SORT = '-best(val/fid),config.lr_d';
const COLUMNS =
  'status,name,tags,age,step,config.lr_d,config.lambda_latent,best(val/fid),best(val/ssim),last(loss/D),min(loss/G_GAN),max(grad_norm/D),alerts';

/**
 * A store of `runs` runs (a quarter of them match Q), each with STEPS steps of every metric: a new SQLite file, or with
 * `pg` a new database of the cluster GANWATCH_TEST_DB names.
 */
async function makeStore(runs: number, pg = false): Promise<string> {
  const path = pg ? await createPgDatabase() : join(tempDir('ganwatch-bench-runs-'), `runs-${runs}.db`);
  const store = await openStore(path);
  let seed = 7;
  const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < runs; i++) {
    const run = await store.runs.create({
      name: `sweep-${String(i).padStart(4, '0')}`,
      config: { lr_d: [5e-5, 1e-4, 2e-4, 4e-4][i % 4], lambda_latent: 0.5 + (i % 5) * 0.25, batch: 16, seed: i },
      tags: i % 2 ? ['facades', 'sweep'] : ['edges', 'sweep'],
    });
    const ref = (await store.runs.ref(run.id))!;
    const points = [];
    for (let s = 0; s < STEPS; s++) {
      const values: Record<string, number> = {};
      for (const m of METRICS) values[m] = rand() * 2;
      values[METRIC.valFid] = 20 + rand() * 40 + (STEPS - s);
      points.push({ step: s * 100, values });
    }
    await store.points.write(ref, points);
    if (i % 7 === 0) await store.runs.setStatus(ref.rid, 'finished');
  }
  await store.close();
  return path;
}

/** Median ms of the filtered, sorted list read from the store in this process (what the server does per request). */
async function storeTime(path: string): Promise<{ ms: number; matched: number }> {
  const store = await openStore(path);
  const query = {
    where: parseRunQuery(Q),
    sort: parseRunSort(SORT),
    columns: parseRunColumns(COLUMNS),
    filters: {},
    limit: 5000,
    offset: 0,
    now: Date.now() / 1000,
  };
  const times: number[] = [];
  let matched = 0;
  await store.runs.table(query); // warm-up: statements prepared, pages cached
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    matched = (await store.runs.table(query)).total;
    times.push(performance.now() - t);
  }
  await store.close();
  return { ms: upperMedian(times), matched };
}

/** Median ms of GET /runs with the filter, sort and columns, every page, as the dashboard asks for it. */
async function httpTime(server: RunningServer, q: string | null): Promise<number> {
  const count = new URLSearchParams({ limit: '1' });
  if (q) count.set('q', q);
  const first = await api(server, 'GET', `/api/v1/runs?${count.toString()}`);
  listed.push(`${String(first.body.total)}${q ? ' filtered' : ''}`);
  const params = new URLSearchParams({ sort: SORT, columns: COLUMNS, limit: '5000' });
  if (q) params.set('q', q);
  const once = async (): Promise<number> => {
    const t = performance.now();
    let cursor: string | null = null;
    do {
      const res = await api(server, 'GET', `/api/v1/runs?${params.toString()}${cursor ? `&cursor=${cursor}` : ''}`);
      if (res.status !== 200) throw new Error(JSON.stringify(res.body));
      cursor = res.body.next_cursor as string | null;
    } while (cursor);
    return performance.now() - t;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await once());
  return upperMedian(times);
}

/** Navigation → the frame after the table's first rows were painted (ms since navigation start; the view marks it). */
async function drawTime(page: Page, url: string): Promise<number> {
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName('runs-table-drawn').length > 0, null, {
    timeout: 60_000,
    polling: 20,
  });
  return page.evaluate(() => performance.getEntriesByName('runs-table-drawn')[0]!.startTime);
}

/**
 * The table's scroll box moved to its end → the frame after its last row is in the DOM (no spacer under it); NaN when
 * that has not happened within 20 s. A string: tsx would wrap named functions in a helper (__name) the page does not
 * have.
 */
function scrollTime(page: Page): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    const box = document.querySelector('.runs-table-scroll');
    const t0 = performance.now();
    box.scrollTop = box.scrollHeight;
    const wait = () => {
      const rows = box.querySelectorAll('tbody tr[data-run]');
      const last = rows[rows.length - 1];
      if (last && !last.nextElementSibling) requestAnimationFrame(() => resolve(performance.now() - t0));
      else if (performance.now() - t0 > 20000) resolve(NaN);
      else requestAnimationFrame(wait);
    };
    requestAnimationFrame(wait);
  })`);
}

async function browserTime(
  page: Page,
  server: RunningServer,
  q: string | null,
): Promise<{ drawn: number; scrolled: number }> {
  const params = new URLSearchParams({ sort: SORT, cols: COLUMNS });
  if (q) params.set('q', q);
  const url = `${server.url}/#/?${params.toString()}`;
  await drawTime(page, url);
  const times: Array<{ drawn: number; scrolled: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    const drawn = await drawTime(page, url);
    times.push({ drawn, scrolled: await scrollTime(page) });
  }
  return {
    drawn: upperMedian(times.map((t) => t.drawn)),
    scrolled: upperMedian(times.map((t) => t.scrolled)),
  };
}

/**
 * The parallel coordinates of every run in the table (its 7 numeric columns as axes): from opening the section to the
 * frame after the plot was painted (the view marks it: pcp-drawn). The table is loaded first.
 */
async function plotTime(page: Page, server: RunningServer): Promise<number> {
  await drawTime(page, `${server.url}/#/?${new URLSearchParams({ sort: SORT, cols: COLUMNS }).toString()}`);
  // A string: tsx would wrap named functions in a helper (__name) the page does not have. The panel is closed first and
  // reopened only once its toggle event has fired (a close and an open before it would coalesce into no event).
  const once = (): Promise<number> =>
    page.evaluate(`new Promise((resolve) => {
      const panel = document.querySelector('.pcp-panel');
      const open = () => {
        performance.clearMarks('pcp-drawn');
        requestAnimationFrame(() => {
          const t0 = performance.now();
          panel.open = true;
          const wait = () => {
            const mark = performance.getEntriesByName('pcp-drawn')[0];
            if (mark) resolve(mark.startTime - t0);
            else requestAnimationFrame(wait);
          };
          wait();
        });
      };
      if (!panel.open) return open();
      panel.addEventListener('toggle', open, { once: true });
      panel.open = false;
    })`);
  await once();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await once());
  return upperMedian(times);
}

/** The runs each httpTime call listed, printed with the figures (a filter matching nothing would time nothing). */
const listed: string[] = [];

const row = (what: string, big: number, small: number, goal: string): void =>
  console.log(
    `${what.padEnd(58)} ${BIG} runs: ${big.toFixed(1).padStart(7)} ms   ${SMALL} runs: ${small.toFixed(1).padStart(6)} ms   ratio ${(big / small).toFixed(2)}   ${goal}`,
  );

/** The store's query and GET /runs on SQLite and on PostgreSQL, each with BIG and SMALL runs. */
async function runPg(): Promise<void> {
  const t0 = performance.now();
  const stores = {
    sqlite: { big: await makeStore(BIG), small: await makeStore(SMALL) },
    postgres: { big: await makeStore(BIG, true), small: await makeStore(SMALL, true) },
  };
  console.log(
    `made ${BIG} + ${SMALL} runs × ${METRICS.length} metrics × ${STEPS} steps on SQLite and on PostgreSQL in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`filter: ${Q}\nsort: ${SORT}\ncolumns: ${COLUMNS}\nload average at the start: ${loadAverage()}`);
  const figures: Record<string, { store: number; http: number; all: number }> = {};
  for (const [name, where] of Object.entries(stores)) {
    for (const [size, location] of Object.entries(where)) {
      const store = await storeTime(location);
      const server = await startServer({ dbPath: location });
      try {
        figures[`${name}.${size}`] = {
          store: store.ms,
          http: await httpTime(server, Q),
          all: await httpTime(server, null),
        };
      } finally {
        await server.stop();
      }
    }
    const { big, small } = { big: figures[`${name}.big`]!, small: figures[`${name}.small`]! };
    const label = name === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    row(`store: filtered, sorted page of the list (${label})`, big.store, small.store, '(goal < 200 ms)');
    row(`HTTP GET /runs, filtered and sorted, every page (${label})`, big.http, small.http, '(goal < 200 ms)');
    row(`HTTP GET /runs, sorted, all runs (${label})`, big.all, small.all, '');
  }
  console.log(`runs listed over HTTP: ${listed.join(', ')}`);
  const [lite, pg] = [figures['sqlite.big']!, figures['postgres.big']!];
  console.log(
    `PostgreSQL to SQLite, ${BIG} runs: store ${(pg.store / lite.store).toFixed(2)}, HTTP filtered ${(pg.http / lite.http).toFixed(2)}, HTTP all ${(pg.all / lite.all).toFixed(2)}`,
  );
  console.log(`load average at the end: ${loadAverage()} (1 minute; 2 cores)`);
}

export async function run(args: string[] = []): Promise<void> {
  if (args.includes('--pg')) {
    if (process.env.GANWATCH_TEST_DB) return runPg();
    const r = spawnSync(
      join(ROOT, 'scripts/pg-throwaway.sh'),
      [process.execPath, '--import', 'tsx', join(ROOT, 'bench/run.ts'), 'runs', '--pg'],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) throw new Error(`bench runs --pg: the throwaway cluster's run ended with ${r.status}`);
    return;
  }
  console.log(`load average at the start: ${loadAverage()} (1 minute; 2 cores)`);
  const t0 = performance.now();
  const bigPath = await makeStore(BIG);
  const smallPath = await makeStore(SMALL);
  console.log(
    `made ${BIG} + ${SMALL} runs × ${METRICS.length} metrics × ${STEPS} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`filter: ${Q}\nsort: ${SORT}\ncolumns: ${COLUMNS}`);
  const bigStore = await storeTime(bigPath);
  const smallStore = await storeTime(smallPath);
  console.log(`matching runs: ${bigStore.matched} of ${BIG}, ${smallStore.matched} of ${SMALL}`);
  row('store: filtered, sorted page of the list (SQLite)', bigStore.ms, smallStore.ms, '(goal < 200 ms)');

  const big = await startDashboardServer({ dbPath: bigPath });
  const small = await startDashboardServer({ dbPath: smallPath });
  try {
    row(
      'HTTP GET /runs, filtered and sorted, every page',
      await httpTime(big, Q),
      await httpTime(small, Q),
      '(goal < 200 ms)',
    );
    row('HTTP GET /runs, sorted, all runs', await httpTime(big, null), await httpTime(small, null), '');
    console.log(`runs listed over HTTP: ${listed.join(', ')}`);
    const missing = browserMissing();
    if (missing) {
      console.log(`browser part skipped: ${missing}`);
      return;
    }
    const browser = await launchBrowser();
    try {
      const { page } = await browser.open('about:blank', { width: 1600, height: 1000 });
      // First, so its figure is printed before the long whole-table rounds.
      row(
        'Chromium: parallel coordinates of every run, open → painted',
        await plotTime(page, big),
        await plotTime(page, small),
        '(goal < 1,000 ms)',
      );
      const bigQ = await browserTime(page, big, Q);
      const smallQ = await browserTime(page, small, Q);
      const bigAll = await browserTime(page, big, null);
      const smallAll = await browserTime(page, small, null);
      row('Chromium: navigation → filtered table drawn', bigQ.drawn, smallQ.drawn, '(goal < 1,000 ms)');
      row('Chromium: filtered table scrolled to its end → last rows painted', bigQ.scrolled, smallQ.scrolled, '');
      row('Chromium: navigation → whole table drawn', bigAll.drawn, smallAll.drawn, '(goal < 1,000 ms)');
      row('Chromium: whole table scrolled to its end → last rows painted', bigAll.scrolled, smallAll.scrolled, '');
    } finally {
      await browser.close();
    }
  } finally {
    await big.stop();
    await small.stop();
    console.log(`load average at the end: ${loadAverage()} (1 minute; 2 cores)`);
  }
}
