// Specification: a single spike among 1,000,000 points is visible in the drawn band (the top of the band is the
// spike, exactly), overview and zoomed in, while no chart ever asks for more than its bucket budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  charts,
  createRun,
  dashboardTests,
  dataset,
  drawnChart,
  pushSeries,
  screenshot,
  until,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
const N = 1_000_000;
const SPIKE_STEP = 654_321;
const SPIKE = 123.456;
let server: RunningServer;
let page: Page;
let errors: string[];
let run = '';
const requested: string[] = [];

dashboardTests({
  async seed(running) {
    server = running;
    run = await createRun(server, { name: 'million' });
    // 10,000 points per request, as a trainer without the socket client would push them.
    await pushSeries(server, run, ['loss/D'], N, (_, s) => (s === SPIKE_STEP ? SPIKE : 1 + 0.01 * Math.sin(s / 100)));
  },
  open: () => `/#/runs/${run}`,
  viewport: { width: 1280, height: 900 },
  async ready(ui) {
    ({ page, errors } = ui);
    page.on('request', (r) => {
      if (r.url().includes('/series?')) requested.push(r.url());
    });
  },
});

test('a spike among 1,000,000 points is the top of the drawn band', { skip }, async () => {
  const loss = await drawnChart(page, 'loss/D');
  assert.equal(loss.sources[0]!.mode, 'buckets');
  assert.ok(loss.sources[0]!.entries <= 1000, `${loss.sources[0]!.entries} buckets`);
  const top = Math.max(...dataset(loss, 'band-hi')!.points.map((p) => p[1]));
  assert.equal(top, SPIKE);
  const meanTop = Math.max(...dataset(loss, 'line')!.points.map((p) => p[1]));
  assert.ok(meanTop < SPIKE / 10, `the mean line alone (max ${meanTop}) would hide it`);
  const [spikeX] = dataset(loss, 'band-hi')!.points.find((p) => p[1] === SPIKE)!;
  assert.ok(Math.abs(spikeX - SPIKE_STEP) < N / 1000, `drawn at x ${spikeX}`);
  await screenshot(page, 'web-spike-overview', { selector: '.chart-card[data-chart="loss/D"]' });
  assert.deepEqual(errors, []);
});

test('zooming in around the spike re-queries finer buckets and the spike stays the top', { skip }, async () => {
  const canvas = page.locator('.chart-card[data-chart="loss/D"] .chart-canvas');
  await canvas.focus();
  // Keyboard zoom: + halves the range around its centre, → pans by a quarter: [0, 1M] → [250k, 750k] → [375k, 875k] → [500k, 750k].
  for (const key of ['+', 'ArrowRight', '+']) await page.keyboard.press(key);
  const zoomed = await until(async () => {
    const c = (await charts(page)).find((x) => x.key === 'loss/D');
    return c && !c.loading && c.xMax! - c.xMin! <= N / 4 + 2 ? c : null;
  }, 'the zoomed chart');
  assert.ok(
    zoomed.xMin! <= SPIKE_STEP && zoomed.xMax! >= SPIKE_STEP,
    `range ${zoomed.xMin}–${zoomed.xMax} holds the spike`,
  );
  const hi = dataset(zoomed, 'band-hi')!.points;
  assert.ok(hi.every(([x]) => x >= zoomed.xMin! && x <= zoomed.xMax!));
  assert.equal(Math.max(...hi.map((p) => p[1])), SPIKE);
  await screenshot(page, 'web-spike-zoomed', { selector: '.chart-card[data-chart="loss/D"]' });
  for (const url of requested) {
    const buckets = Number(new URL(url).searchParams.get('buckets'));
    assert.ok(buckets <= 2000, `asked for ${buckets} buckets`);
  }
  assert.ok(
    requested.some((u) => new URL(u).searchParams.has('from')),
    'the zoom re-queried a range',
  );
});

test(
  'a run with 100 metrics only creates the charts on screen, and the rest as they scroll into view',
  { skip },
  async () => {
    const many = await createRun(server, { name: 'hundred-metrics' });
    const metrics = Array.from({ length: 100 }, (_, i) => `custom/m${String(i).padStart(3, '0')}`);
    await pushSeries(server, many, metrics, 300, (m, s) => Math.sin(s / 20 + m.length));
    await page.goto(`${server.url}/#/runs/${many}`);
    await until(async () => (await charts(page)).length === 100, '100 chart cards');
    await until(async () => (await charts(page)).filter((c) => c.drawn).length > 0, 'the first charts');
    const early = (await charts(page)).filter((c) => c.drawn).length;
    assert.ok(early < 30, `${early} of 100 charts drawn before scrolling`);
    const last = await drawnChart(page, 'custom/m099');
    assert.equal(dataset(last, 'line')!.points.length, 300);
  },
);
