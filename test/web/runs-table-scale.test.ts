// Specification of the runs table with many runs, in a real Chromium against a real server: the body holds only the rows
// near the view (spacers stand for the others), scrolling shows the right rows, sorting orders all of them, the quick
// filters, the selection and the keyboard (Tab through the rows, a focused row scrolled far away) keep working across
// the rows out of view.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { openStore } from '../../db/store.js';
import { browserMissing, dashboardTests, until } from '../../harness/browser.js';
import { tempDir } from '../../harness/server.js';

const skip = browserMissing() ?? false;
const RUNS = 1000;
let page: Page;
let errors: string[];

const name = (i: number): string => `run-${String(i).padStart(4, '0')}`;
/** Best FID of run i: a permutation of 10..1009, so the FID order is not the name order. */
const fid = (i: number): number => 10 + ((i * 37) % RUNS);

/** The store the server opens: RUNS runs, written directly (a thousand HTTP requests would only slow the spec). */
async function makeStore(): Promise<string> {
  const path = join(tempDir('ganwatch-runs-scale-'), 'runs.db');
  const store = await openStore(path);
  for (let i = 0; i < RUNS; i++) {
    const run = await store.runs.create({ name: name(i), config: { idx: i }, tags: ['sweep'] });
    const ref = (await store.runs.ref(run.id))!;
    await store.points.write(ref, [{ step: 0, values: { 'val/fid': fid(i) } }]);
  }
  await store.close();
  return path;
}

const server = { dbPath: '' };
server.dbPath = skip ? '' : await makeStore();

dashboardTests({
  server,
  open: () => `/#/?sort=config.idx&cols=${encodeURIComponent('status,name,config.idx,best(val/fid)')}`,
  async ready(ui) {
    ({ page, errors } = ui);
    await page.locator('tbody tr[data-run]').first().waitFor();
  },
});

const scroller = (): ReturnType<Page['locator']> => page.locator('.runs-table-scroll');

/** The names of the rows in the DOM, in order. */
const mountedNames = (): Promise<string[]> =>
  page.locator('tbody tr[data-run] td.run-name a').evaluateAll((as) => as.map((a) => a.textContent.trim()));

/** The name of the first row whose top is at or below the top of the scroll box's view, under the sticky header. */
const firstInView = (): Promise<string | null> =>
  scroller().evaluate((box) => {
    // The header's cells stick at the top of the box (the thead itself scrolls away).
    const head = box.querySelector('thead th')!.getBoundingClientRect().bottom;
    for (const tr of Array.from(box.querySelectorAll<HTMLElement>('tbody tr[data-run]')))
      if (tr.getBoundingClientRect().top >= head - 2) return tr.querySelector('td.run-name a')!.textContent.trim();
    return null;
  });

/** Waits for `expected` to be the first row in view (a failure names the row there instead). */
async function untilFirst(expected: string): Promise<void> {
  await until(async () => (await firstInView()) === expected, `${expected} first in view`).catch(async (err) => {
    throw new Error(`${(err as Error).message}; the first row in view: ${String(await firstInView())}`);
  });
}

/** The name of the last row whose bottom is inside the scroll box's view. */
const lastInView = (): Promise<string | null> =>
  scroller().evaluate((box) => {
    const bottom = box.getBoundingClientRect().bottom;
    let last: string | null = null;
    for (const tr of Array.from(box.querySelectorAll<HTMLElement>('tbody tr[data-run]')))
      if (tr.getBoundingClientRect().bottom <= bottom + 2) last = tr.querySelector('td.run-name a')!.textContent.trim();
    return last;
  });

/** Scrolls the box so that row `index` (0-based, in table order) is the first under the header. */
async function scrollToRow(index: number): Promise<void> {
  await scroller().evaluate((box, i) => {
    const rows = box.querySelectorAll<HTMLElement>('tbody tr[data-run]');
    const h = rows[2]!.getBoundingClientRect().top - rows[1]!.getBoundingClientRect().top;
    box.scrollTop = i * h;
  }, index);
}

test('a thousand runs: the body holds the rows near the view, the box scrolls over all of them', { skip }, async () => {
  assert.match(await page.locator('.runs-view .view-head [role=status]').innerText(), /^1000 runs$/);
  const mounted = await mountedNames();
  assert.ok(mounted.length >= 20 && mounted.length < 200, `${mounted.length} rows in the DOM`);
  assert.deepEqual(mounted.slice(0, 3), [name(0), name(1), name(2)]);
  assert.equal(await firstInView(), name(0));
  // The box is as tall as the thousand rows would be: the spacer below stands for those not drawn.
  const { scrollHeight, rowHeight } = await scroller().evaluate((box) => {
    const rows = box.querySelectorAll<HTMLElement>('tbody tr[data-run]');
    return {
      scrollHeight: box.scrollHeight,
      rowHeight: rows[2]!.getBoundingClientRect().top - rows[1]!.getBoundingClientRect().top,
    };
  });
  assert.ok(Math.abs(scrollHeight - RUNS * rowHeight) < 3 * rowHeight, `${scrollHeight} px for ${RUNS} × ${rowHeight}`);
  assert.equal(await page.locator('tbody tr.virtual-spacer').count(), 1, 'one spacer, below');
  assert.deepEqual(errors, []);
});

test('scrolling to the middle and to the end shows the rows that belong there', { skip }, async () => {
  await scrollToRow(500);
  await untilFirst(name(500));
  const mounted = await mountedNames();
  assert.ok(mounted.length < 200, `${mounted.length} rows in the DOM`);
  // The rows in the DOM are consecutive runs, in order.
  const first = Number(mounted[0]!.slice(4));
  assert.deepEqual(
    mounted,
    mounted.map((_, k) => name(first + k)),
  );
  assert.equal(await page.locator('tbody tr.virtual-spacer').count(), 2, 'a spacer above and below');
  // The mouse wheel, as a user scrolls: further down by some rows.
  const box = (await scroller().boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 2000);
  await until(async () => Number((await firstInView())?.slice(4)) > 520, 'the wheel to scroll further');
  await scroller().evaluate((el) => (el.scrollTop = el.scrollHeight));
  await until(async () => (await lastInView()) === name(RUNS - 1), 'the last run at the bottom');
  assert.equal(await page.locator('tbody tr.virtual-spacer').count(), 1, 'only the spacer above');
  assert.deepEqual(errors, []);
});

test('a header click sorts all the runs, not only those drawn', { skip }, async () => {
  await page.locator('th[data-column="best(val/fid)"] .sort-button').click();
  // Ascending best FID: the run with FID 10 first, the one with FID 1009 last.
  const byFid = [...Array(RUNS).keys()].sort((a, b) => fid(a) - fid(b)).map(name);
  await scroller().evaluate((el) => (el.scrollTop = 0));
  // run-0000 (FID 10) leads both orders: the next rows tell the new order from the old.
  await until(
    async () => (await mountedNames()).slice(0, 5).join() === byFid.slice(0, 5).join(),
    `${byFid.slice(0, 5).join(', ')} on top`,
  );
  assert.equal(await firstInView(), byFid[0]);
  await scrollToRow(700);
  await untilFirst(byFid[700]!);
  await scroller().evaluate((el) => (el.scrollTop = el.scrollHeight));
  await until(async () => (await lastInView()) === byFid[RUNS - 1], `${byFid[RUNS - 1]} last`);
  assert.deepEqual(errors, []);
});

test('the selection and the quick filters hold across rows out of view', { skip }, async () => {
  await page.locator('th[data-column="config.idx"] .sort-button').click();
  await scroller().evaluate((el) => (el.scrollTop = 0));
  await until(
    async () => (await mountedNames()).slice(0, 3).join() === [0, 1, 2].map(name).join(),
    'run-0000, run-0001, run-0002 on top',
  );
  const check = (i: number): ReturnType<Page['locator']> =>
    page.getByRole('checkbox', { name: `Select ${name(i)} for comparison` });
  await check(0).check();
  await check(2).check();
  await scrollToRow(900);
  await untilFirst(name(900));
  assert.equal(await check(0).count(), 0, 'the row of run-0000 is out of the DOM');
  await scroller().evaluate((el) => (el.scrollTop = 0));
  await untilFirst(name(0));
  assert.equal(await check(0).isChecked(), true);
  assert.equal(await check(1).isChecked(), false);
  assert.equal(await check(2).isChecked(), true);
  assert.equal(await page.getByRole('button', { name: 'Compare selected (2)' }).isDisabled(), false);
  // The name filter narrows the thousand to a hundred, drawn from the top.
  await page.locator('form.filters').getByLabel('Name', { exact: true }).fill('run-09');
  await untilFirst(name(900));
  assert.match(await page.locator('.runs-view .view-head [role=status]').innerText(), /Showing 100 of 1000 runs/);
  await scroller().evaluate((el) => (el.scrollTop = el.scrollHeight));
  await until(async () => (await lastInView()) === name(999), 'run-0999 last of the filtered');
  await page.locator('form.filters').getByLabel('Name', { exact: true }).fill('');
  assert.deepEqual(errors, []);
});

test('Tab moves through the rows past the ones first drawn, scrolling them into view', { skip }, async () => {
  await scroller().evaluate((el) => (el.scrollTop = 0));
  await untilFirst(name(0));
  const before = await mountedNames();
  const target = before.length + 10; // a row that was not in the DOM when Tab started
  await page.getByRole('checkbox', { name: `Select ${name(0)} for comparison` }).focus();
  // Each row has four stops: its checkbox, its name, Edit and Delete.
  for (let i = 0; i < target * 4; i++) await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement!;
    const tr = el.closest('tr[data-run]');
    const box = document.querySelector('.runs-table-scroll')!.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return {
      row: tr?.querySelector('td.run-name a')?.textContent?.trim() ?? null,
      kind: el.getAttribute('type'),
      inView: r.top >= box.top && r.bottom <= box.bottom,
    };
  });
  assert.deepEqual(focused, { row: name(target), kind: 'checkbox', inView: true });
  assert.deepEqual(errors, []);
});

test(
  'a focused row keeps the focus when the view scrolls far from it and back, and Tab goes on from it',
  { skip },
  async () => {
    await scroller().evaluate((el) => (el.scrollTop = 0));
    await untilFirst(name(0));
    const checkbox = page.getByRole('checkbox', { name: `Select ${name(3)} for comparison` });
    await checkbox.focus();
    const focusedRow = (): Promise<string | null> =>
      page.evaluate(
        () =>
          document.activeElement?.closest('tr[data-run]')?.querySelector('td.run-name a')?.textContent?.trim() ?? null,
      );
    await scrollToRow(700);
    await untilFirst(name(700));
    assert.equal(await focusedRow(), name(3), 'the focus stayed on its row while it is out of view');
    // The row kept out of view does not shift the others: they are where they belong.
    assert.equal(await firstInView(), name(700));
    await scroller().evaluate((el) => (el.scrollTop = 0));
    await untilFirst(name(0));
    assert.equal(await focusedRow(), name(3));
    await page.keyboard.press('Tab');
    assert.match(await page.evaluate(() => document.activeElement?.textContent ?? ''), new RegExp(name(3)));
    assert.deepEqual(errors, []);
  },
);
