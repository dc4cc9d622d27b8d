// Specification of the compare view (#/compare?runs=A,B) in a real Chromium against a real server: one colour per run
// on shared charts, synced x axes and zoom, differing hyperparameters, sample grids of the same epoch, a shareable URL.
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
  drawLatency,
  drawnChart,
  pushPng,
  pushPoints,
  pushSeries,
  screenshot,
  tinyPng,
  until,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let page: Page;
let errors: string[];
let a = '';
let b = '';
const lossA = (s: number): number => 1 + s / 1000;
const lossB = (s: number): number => 2 - s / 1000;

dashboardTests({
  async seed(running) {
    server = running;
    a = await createRun(server, { name: 'lr-1e-4', config: { lr_d: 1e-4, batch_size: 16, dataset: 'facades' } });
    b = await createRun(server, { name: 'lr-2e-4', config: { lr_d: 2e-4, batch_size: 16, dataset: 'facades' } });
    await pushSeries(server, a, ['loss/D', 'D_real_acc'], 500, (m, s) => (m === 'loss/D' ? lossA(s) : 0.6));
    await pushSeries(server, b, ['loss/D', 'D_real_acc'], 800, (m, s) => (m === 'loss/D' ? lossB(s) : 0.9));
    for (const e of [0, 5]) {
      await pushPng(server, a, e, e * 50, tinyPng(e));
      await pushPng(server, b, e, e * 50, tinyPng(e + 100));
    }
    await pushPng(server, b, 10, 500, tinyPng(110));
  },
  open: () => `/#/compare?runs=${a},${b}`,
  viewport: { width: 1280, height: 1400 },
  ready: (ui) => ({ page, errors } = ui),
});

test('both runs are drawn on the same chart, one colour each, named in a legend', { skip }, async () => {
  const loss = await drawnChart(page, 'loss/D');
  const lineA = dataset(loss, 'line', a)!;
  const lineB = dataset(loss, 'line', b)!;
  assert.equal(lineA.points.length, 500);
  assert.equal(lineB.points.length, 800);
  assert.deepEqual(lineA.points[123], [123, lossA(123)]);
  assert.deepEqual(lineB.points[456], [456, lossB(456)]);
  const legend = page.locator('.compare-legend li');
  assert.deepEqual(await legend.locator('a').allTextContents(), ['lr-1e-4', 'lr-2e-4']);
  const colours = await legend
    .locator('.swatch')
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).style.background));
  assert.notEqual(colours[0], colours[1]);
  await screenshot(page, 'web-compare', { fullPage: true });
  assert.deepEqual(errors, []);
});

test('every chart shares one x range, and zooming one chart zooms them all', { skip }, async () => {
  await drawnChart(page, 'D_real_acc');
  const all = (await charts(page)).filter((c) => c.drawn);
  assert.ok(all.length >= 2);
  for (const c of all) assert.deepEqual([c.xMin, c.xMax], [0, 799], c.key);
  const box = (await page.locator('.chart-card[data-chart="D_real_acc"] .chart-canvas').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  const zoomed = await until(async () => {
    const cs = (await charts(page)).filter((c) => c.drawn);
    return cs.every((c) => c.xMax! < 799 && c.xMin! > 0 && !c.loading) ? cs : null;
  }, 'every chart zoomed');
  for (const c of zoomed) assert.deepEqual([c.xMin, c.xMax], [zoomed[0]!.xMin, zoomed[0]!.xMax], c.key);
  await page.getByRole('button', { name: 'Reset zoom' }).click();
  await until(async () => (await charts(page)).every((c) => !c.drawn || c.xMax === 799), 'the reset');
});

test('the hyperparameter table shows only the differing keys, and all of them on request', { skip }, async () => {
  const keys = (): Promise<string[]> =>
    page
      .locator('.compare-config tbody tr[data-key]')
      .evaluateAll((trs) => trs.map((t) => (t as HTMLElement).dataset.key!));
  assert.deepEqual(await keys(), ['lr_d']);
  assert.deepEqual(await page.locator('.compare-config tr[data-key="lr_d"] td').allTextContents(), [
    '1.000e-4',
    '2.000e-4',
  ]);
  await page.getByLabel('Differences only').uncheck();
  assert.deepEqual(await keys(), ['batch_size', 'dataset', 'lr_d']);
  await page.getByLabel('Differences only').check();
});

test('the sample grids of one epoch are shown side by side, with every epoch on the slider', { skip }, async () => {
  const s = await until(() => page.evaluate(() => window.__ganwatch.samples()), 'samples');
  assert.deepEqual(s.epochs, [0, 5, 10]);
  assert.equal(s.epoch, 10);
  assert.equal(s.images.find((i) => i.run === a)!.src, null, 'run a has no grid at epoch 10');
  await page.locator('.samples-panel input[type=range]').focus();
  await page.keyboard.press('Home');
  const first = await page.evaluate(() => window.__ganwatch.samples()!);
  assert.equal(first.epoch, 0);
  assert.ok(
    first.images.every((i) => i.src),
    'both runs show epoch 0',
  );
  assert.equal(await page.locator('.sample-grids.multi figure img').count(), 2);
});

test('a point pushed to one of the runs is drawn live in its colour', { skip }, async () => {
  await drawnChart(page, 'loss/D');
  const ms = await drawLatency(page, 'loss/D', 900, 0.5, () =>
    pushPoints(server, b, [{ step: 900, values: { 'loss/D': 0.5 } }]),
  );
  assert.ok(ms < 1000, `${ms} ms`);
  const loss = (await charts(page)).find((c) => c.key === 'loss/D')!;
  assert.ok(dataset(loss, 'line', b)!.points.some(([x, y]) => x === 900 && y === 0.5));
  assert.ok(!dataset(loss, 'line', a)!.points.some(([x]) => x === 900));
});

test('the URL holds the selection: reloading shows the same comparison', { skip }, async () => {
  await page.reload();
  const loss = await drawnChart(page, 'loss/D');
  assert.deepEqual(loss.sources.map((s) => s.run).sort(), [a, b].sort());
});
