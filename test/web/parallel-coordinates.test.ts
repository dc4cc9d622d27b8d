// Specification of the runs table's parallel coordinates in a real Chromium against a real server: one line per
// filtered run over the table's numeric columns, a logarithmic axis where the values span decades, brushing an axis
// with the mouse hides the runs outside the range in the table, the brushes are kept in the address (a shared link
// restores them), live points move the lines (the brushes kept), pointing at a line names its run, and Compare opens
// with the brushed runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  createRun,
  dashboardTests,
  pushPoints,
  screenshot,
  until,
  type Browser,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let page: Page;
let browser: Browser;
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
const shownRows = async (p: Page = page): Promise<string[]> =>
  p.locator('tbody tr:not([hidden]) td.run-name a').evaluateAll((as) => as.map((a) => a.textContent.trim()).sort());
const hashParams = (p: Page = page): URLSearchParams => new URLSearchParams(new URL(p.url()).hash.split('?')[1] ?? '');

async function axes(p: Page = page): Promise<AxisGeometry[]> {
  return until(async () => {
    const text = await plot(p).getAttribute('data-axes');
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
    ({ page, errors, browser } = ui);
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

test('the brushes are in the address: the same link in a new tab opens the plot with them', { skip }, async () => {
  const brush = hashParams().get('brush')!;
  assert.match(brush, /^config\.lr_d:[^;]+:[^;]+$/, 'the lr brush alone');
  const { page: again, errors: errs } = await browser.open(page.url());
  await until(async () => (await plot(again).getAttribute('data-brushed')) === '2', 'two brushed runs');
  assert.equal(await again.locator('.pcp-panel').getAttribute('open'), '', 'the plot opened for its brushes');
  await until(async () => (await shownRows(again)).join() === 'lr-1e-4,lr-3e-4', 'the brushed rows only');
  assert.equal(hashParams(again).get('brush'), brush);
  // Clear brushes: the address forgets them.
  await again.getByRole('button', { name: 'Clear brushes' }).click();
  await until(async () => !hashParams(again).has('brush'), 'no brush in the address');
  assert.equal((await shownRows(again)).length, RUNS.length);
  assert.deepEqual(errs, []);
  await again.close();
});

test('live points move the lines without a reload; the brushes stay', { skip }, async () => {
  const fidAxis = async (): Promise<AxisGeometry> => (await axes()).find((a) => a.key === 'best(val/fid)')!;
  // The axis starts at a round number at or under the lowest best FID (38).
  assert.ok((await fidAxis()).min > 20);
  // lr-1e-5 (outside the lr brush) reaches FID 20: the FID axis now reaches down to it.
  await pushPoints(server, ids['lr-1e-5']!, [{ step: 200, values: { 'val/fid': 20 } }]);
  await until(async () => (await fidAxis()).min <= 20, 'the FID axis to reach 20');
  assert.equal(await plot().getAttribute('data-lines'), String(RUNS.length));
  assert.equal(await plot().getAttribute('data-brushed'), '2', 'the lr brush still holds');
  assert.equal((await shownRows()).join(), 'lr-1e-4,lr-3e-4');
  assert.match(hashParams().get('brush') ?? '', /^config\.lr_d:/);
  assert.deepEqual(errors, []);
});

test('pointing at a line names its run and its values', { skip }, async () => {
  const [lr, batch] = await axes();
  const box = await canvasBox();
  const tooltip = page.locator('.pcp-tooltip');
  // Halfway between the lr and batch axes, on the line of lr-3e-4 (lr 3e-4, batch 32).
  const x = (lr!.x + batch!.x) / 2;
  const y = (pixel(lr!, 3e-4) + pixel(batch!, 32)) / 2;
  await page.mouse.move(box.x + x, box.y + y, { steps: 4 });
  await until(async () => (await tooltip.getAttribute('data-run')) === ids['lr-3e-4'], 'the tooltip of lr-3e-4');
  const text = await tooltip.innerText();
  for (const part of ['lr-3e-4', 'config.lr_d', '3.000e-4', 'config.batch', '32', 'best(val/fid)', '38'])
    assert.ok(text.includes(part), `${part} in ${JSON.stringify(text)}`);
  await screenshot(page, 'parallel-coordinates-tooltip', { selector: '.pcp-panel' });
  // Off the canvas: the tooltip goes.
  await page.mouse.move(box.x - 40, box.y - 40, { steps: 2 });
  await until(async () => await tooltip.isHidden(), 'the tooltip to hide');
  assert.deepEqual(errors, []);
});

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
