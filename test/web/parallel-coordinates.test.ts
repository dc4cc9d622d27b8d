// Specification of the runs table's parallel coordinates in a real Chromium against a real server: one line per
// filtered run over the table's numeric columns, a logarithmic axis where the values span decades, brushing an axis
// with the mouse hides the runs outside the range in the table, and Compare opens with the brushed runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../harness/server.js';
import { browserMissing, createRun, dashboardTests, pushPoints, screenshot, until } from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let page: Page;
let errors: string[];
const ids: Record<string, string> = {};

interface AxisGeometry {
  key: string;
  log: boolean;
  x: number;
  top: number;
  bottom: number;
  min: number;
  max: number;
}

/** The pixel (from the canvas' top) of value `v` on an axis, linear or logarithmic. */
function pixel(a: AxisGeometry, v: number): number {
  const f = a.log ? Math.log10 : (x: number): number => x;
  return a.bottom - ((f(v) - f(a.min)) / (f(a.max) - f(a.min))) * (a.bottom - a.top);
}

const plot = (p: Page = page) => p.locator('.pcp-plot');
const shownRows = async (): Promise<string[]> =>
  page.locator('tbody tr:not([hidden]) td.run-name a').evaluateAll((as) => as.map((a) => a.textContent.trim()).sort());

async function axes(): Promise<AxisGeometry[]> {
  return until(async () => {
    const text = await plot().getAttribute('data-axes');
    return text ? (JSON.parse(text) as AxisGeometry[]) : null;
  }, 'the plot to draw its axes');
}

/** Drags along an axis with the mouse, between two heights (CSS px from the canvas' top). */
async function drag(axis: AxisGeometry, fromY: number, toY: number): Promise<void> {
  const box = (await page.locator('.pcp-plot canvas').boundingBox())!;
  await page.mouse.move(box.x + axis.x, box.y + fromY);
  await page.mouse.down();
  await page.mouse.move(box.x + axis.x, box.y + (fromY + toY) / 2, { steps: 3 });
  await page.mouse.move(box.x + axis.x, box.y + toY, { steps: 3 });
  await page.mouse.up();
}

// lr_d spans three decades from 1e-5 to 1e-2 (a log axis); batch 8..64 and FID 38..90 less than two (linear).
const RUNS: Array<[string, number, number, number]> = [
  ['lr-1e-5', 1e-5, 8, 80],
  ['lr-3e-5', 3e-5, 16, 60],
  ['lr-1e-4', 1e-4, 16, 45],
  ['lr-3e-4', 3e-4, 32, 38],
  ['lr-1e-3', 1e-3, 32, 50],
  ['lr-1e-2', 1e-2, 64, 90],
];

dashboardTests({
  async seed(running) {
    server = running;
    for (const [name, lr, batch, fid] of RUNS) {
      ids[name] = await createRun(server, { name, tags: ['sweep'], config: { lr_d: lr, batch } });
      await pushPoints(server, ids[name], [
        { step: 0, values: { 'val/fid': fid + 10 } },
        { step: 100, values: { 'val/fid': fid } },
      ]);
    }
    // Not in the filter: not drawn.
    const other = await createRun(server, { name: 'other', tags: ['other'], config: { lr_d: 5, batch: 4 } });
    await pushPoints(server, other, [{ step: 0, values: { 'val/fid': 500 } }]);
  },
  open: () =>
    `/#/?q=${encodeURIComponent('tag:sweep')}&cols=${encodeURIComponent('status,name,config.lr_d,config.batch,best(val/fid)')}`,
  async ready(ui) {
    ({ page, errors } = ui);
    await page.locator('tbody tr').first().waitFor();
    await page.locator('.pcp-panel > summary').click();
  },
});

test(
  'one line per filtered run; the numeric columns are the axes, logarithmic where they span decades',
  { skip },
  async () => {
    await until(async () => (await plot().getAttribute('data-lines')) === String(RUNS.length), '6 lines');
    const drawn = await axes();
    assert.deepEqual(
      drawn.map((a) => [a.key, a.log]),
      [
        ['config.lr_d', true],
        ['config.batch', false],
        ['best(val/fid)', false],
      ],
    );
    assert.equal(await page.locator('.pcp-panel select').inputValue(), 'best(val/fid)', 'coloured by the metric');
    assert.match(await page.locator('.pcp-panel [role=status]').innerText(), /^6 runs$/);
    assert.deepEqual(errors, []);
  },
);

test(
  'brushing an axis hides the runs outside its range in the table; a click on the axis clears it',
  { skip },
  async () => {
    const lr = (await axes()).find((a) => a.key === 'config.lr_d')!;
    assert.deepEqual([lr.min, lr.max], [1e-5, 1e-2]);
    // 5e-5 .. 5e-4 keeps 1e-4 and 3e-4.
    await drag(lr, pixel(lr, 5e-5), pixel(lr, 5e-4));
    await until(async () => (await shownRows()).join() === 'lr-1e-4,lr-3e-4', 'the brushed rows only');
    assert.equal(await plot().getAttribute('data-brushed'), '2');
    assert.match(await page.locator('.runs-view .view-head [role=status]').innerText(), /Showing 2 of 6 runs/);
    // The table body holds the brushed rows only (the others come back when the brush goes).
    assert.equal(await page.locator('tbody tr[data-run]').count(), 2);
    // A second brush, on FID, narrows further (every brush must hold): FID 36..40 keeps lr-3e-4 (38).
    const fid = (await axes()).find((a) => a.key === 'best(val/fid)')!;
    await drag(fid, pixel(fid, 40), pixel(fid, 36));
    await until(async () => (await shownRows()).join() === 'lr-3e-4', 'one row');
    // A click on the FID axis clears its brush: the lr range holds again.
    await page.mouse.click((await canvasBox()).x + fid.x, (await canvasBox()).y + (fid.top + fid.bottom) / 2);
    await until(async () => (await shownRows()).join() === 'lr-1e-4,lr-3e-4', 'the lr brush alone');
    await screenshot(page, 'parallel-coordinates', { selector: '.pcp-panel' });
    assert.deepEqual(errors, []);
  },
);

test('Compare opens with the brushed runs', { skip }, async () => {
  const button = page.getByRole('button', { name: 'Compare brushed (2)' });
  assert.equal(await button.isDisabled(), false);
  await button.click();
  await until(async () => new URL(page.url()).hash.startsWith('#/compare'), 'the compare view');
  const runs = new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('runs')!.split(',');
  assert.deepEqual(runs.sort(), [ids['lr-1e-4']!, ids['lr-3e-4']!].sort());
  const legend = page.locator('.compare-legend li a');
  await until(async () => (await legend.count()) === 2, 'two runs in the legend');
  assert.deepEqual((await legend.allTextContents()).sort(), ['lr-1e-4', 'lr-3e-4']);
  assert.deepEqual(errors, []);
});

async function canvasBox(): Promise<{ x: number; y: number }> {
  return (await page.locator('.pcp-plot canvas').boundingBox())!;
}
