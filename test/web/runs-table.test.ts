// Specification of the runs table (#/) in a real Chromium against a real server: the view (filter, sort, columns) read
// from and written to the address; sorting by header clicks, several keys with Shift; the filter expression's errors
// marked where they are; columns chosen in the chooser and kept, with their widths, in this browser.
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
let browser: Browser;
let page: Page;
let errors: string[];
const ids: Record<string, string> = {};

/** Run names in table order, once the table has drawn `n` visible rows. */
const order = async (p: Page = page): Promise<string[]> =>
  p.locator('tbody tr:not([hidden]) td.run-name a').evaluateAll((as) => as.map((a) => a.textContent.trim()));
const headers = async (p: Page = page): Promise<string[]> =>
  p.locator('thead th[data-column]').evaluateAll((ths) => ths.map((th) => (th as HTMLElement).dataset.column!));
const hashParams = (p: Page = page): URLSearchParams => new URLSearchParams(new URL(p.url()).hash.split('?')[1] ?? '');

async function untilOrder(expected: string[], p: Page = page): Promise<void> {
  await until(async () => JSON.stringify(await order(p)) === JSON.stringify(expected), `rows ${expected.join(', ')}`);
}

dashboardTests({
  async seed(running) {
    server = running;
    const runs: Array<[string, number, string[], number[]]> = [
      ['sweep-lr1', 1e-4, ['facades', 'sweep'], [80, 41, 44]],
      ['sweep-lr2', 2e-4, ['facades', 'sweep'], [75, 33, 36]],
      ['sweep-lr5', 5e-4, ['facades', 'sweep'], [90, 52, 39]],
      ['edges-base', 2e-4, ['edges'], [60, 28, 30]],
    ];
    for (const [name, lr, tags, fids] of runs) {
      ids[name] = await createRun(server, { name, tags, config: { lr_d: lr, batch: 16 } });
      await pushPoints(
        server,
        ids[name],
        fids.map((fid, i) => ({
          step: i * 100,
          values: { 'val/fid': fid, 'val/ssim': 0.5 + fid / 1000, 'loss/D': 1 - i / 10 },
        })),
      );
    }
  },
  open: () =>
    `/#/?q=${encodeURIComponent('tag:sweep')}&sort=${encodeURIComponent('-best(val/fid)')}&cols=${encodeURIComponent('status,name,config.lr_d,best(val/fid),last(val/fid)')}`,
  async ready(ui) {
    ({ browser, page, errors } = ui);
    await page.locator('tbody tr').first().waitFor();
  },
});

test(
  'the address sets the filter, the sort and the columns; cells show config values and metric aggregates',
  { skip },
  async () => {
    await untilOrder(['sweep-lr1', 'sweep-lr5', 'sweep-lr2']); // best (lowest) FID, descending: 41, 39, 33
    assert.deepEqual(await headers(), ['status', 'name', 'config.lr_d', 'best(val/fid)', 'last(val/fid)']);
    const row = page.locator(`tr[data-run="${ids['sweep-lr5']}"] td`);
    const cells = (await row.allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(cells.slice(2, 6), ['sweep-lr5', '5.000e-4', '39', '39']);
    assert.equal(await row.nth(4).getAttribute('title'), 'step 200', 'the step the best value was reached at');
    assert.equal(await page.locator('th[data-column="best(val/fid)"]').getAttribute('aria-sort'), 'descending');
    assert.equal(await page.locator('.query-input').inputValue(), 'tag:sweep');
    await screenshot(page, 'runs-table');
    assert.deepEqual(errors, []);
  },
);

test(
  'a header click sorts by it, a second click reverses, Shift-click adds a key; the address follows',
  { skip },
  async () => {
    await page.locator('th[data-column="config.lr_d"] .sort-button').click();
    await untilOrder(['sweep-lr1', 'sweep-lr2', 'sweep-lr5']);
    assert.equal(hashParams().get('sort'), 'config.lr_d');
    await page.locator('th[data-column="config.lr_d"] .sort-button').click();
    await untilOrder(['sweep-lr5', 'sweep-lr2', 'sweep-lr1']);
    assert.equal(hashParams().get('sort'), '-config.lr_d');
    // Everything, by status then best FID: Shift-click adds the second key.
    await page.locator('.query-input').fill('');
    await page.locator('.query-input').press('Enter');
    await page.locator('th[data-column="status"] .sort-button').click();
    await page.locator('th[data-column="best(val/fid)"] .sort-button').click({ modifiers: ['Shift'] });
    await untilOrder(['edges-base', 'sweep-lr2', 'sweep-lr5', 'sweep-lr1']);
    assert.equal(hashParams().get('sort'), 'status,best(val/fid)');
    assert.match(await page.locator('th[data-column="best(val/fid)"] .sort-mark').innerText(), /▲2/);
    // The address alone brings the same view back (a bookmark, a shared link).
    const { page: again, errors: errs } = await browser.open(page.url());
    await untilOrder(['edges-base', 'sweep-lr2', 'sweep-lr5', 'sweep-lr1'], again);
    assert.deepEqual(errs, []);
    await again.close();
  },
);

test(
  'a bad filter expression is marked where it is and changes nothing; a good one filters on the server',
  { skip },
  async () => {
    const before = await order();
    const box = page.locator('.query-input');
    await box.fill('config.lr_d >= 2e-4 and (val/fid < 40');
    await box.press('Enter');
    const mark = page.locator('.query-error mark');
    await mark.waitFor();
    assert.equal(await mark.getAttribute('data-position'), '37', 'at the end, where the ) is missing');
    assert.match(
      await page.locator('.query-error').innerText(),
      /At character 38: expected '\)' to close the '\(' at character 25/,
    );
    assert.equal(await box.getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await order(), before);
    await box.fill('config.lr_d >= 2e-4 and (best(val/fid) < 34 or name:lr5');
    await box.press('Enter');
    assert.match(await page.locator('.query-error').innerText(), /At character 56: expected '\)'/);
    await box.fill('config.lr_d >= 2e-4 and (best(val/fid) < 34 or name:lr5)');
    await box.press('Enter');
    await untilOrder(['edges-base', 'sweep-lr2', 'sweep-lr5']);
    assert.equal(await page.locator('.query-error').innerText(), '');
    assert.equal(hashParams().get('q'), 'config.lr_d >= 2e-4 and (best(val/fid) < 34 or name:lr5)');
    assert.deepEqual(errors, []);
  },
);

test('columns are added and removed in the chooser, and kept with their widths in this browser', { skip }, async () => {
  await page.locator('button', { hasText: 'Columns…' }).click();
  const dialog = page.locator('dialog.column-chooser[open]');
  await dialog.getByLabel('Add a column').fill('max(val/ssim), config.batch');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.getByRole('button', { name: 'Remove status' }).click();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await until(
    async () => (await headers()).join() === 'name,config.lr_d,best(val/fid),last(val/fid),max(val/ssim),config.batch',
    'new columns',
  );
  await until(async () => {
    const t = (await page.locator(`tr[data-run="${ids['sweep-lr2']}"] td`).allInnerTexts()).map((x) => x.trim());
    return t[5] === '0.575' && t[6] === '16';
  }, 'the new cells');
  // A bad column is refused in the dialog, with its position.
  await page.locator('button', { hasText: 'Columns…' }).click();
  await dialog.getByLabel('Add a column').fill('best(val/fid');
  await dialog.getByRole('button', { name: 'Add' }).click();
  assert.match(await dialog.locator('.form-status').innerText(), /At character 13: expected '\)'/);
  await dialog.getByRole('button', { name: 'Done' }).click();
  // Resize a column by its handle.
  const th = page.locator('th[data-column="name"]');
  const box = (await th.boundingBox())!;
  const handle = (await th.locator('.col-resize').boundingBox())!;
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(handle.x + 120, handle.y + handle.height / 2, { steps: 4 });
  await page.mouse.up();
  const widened = (await th.boundingBox())!.width;
  assert.ok(widened > box.width + 80, `${box.width} → ${widened}`);
  // A fresh tab on the bare address: the same columns and width, from this browser's storage.
  const { page: fresh } = await browser.open(`${server.url}/#/`);
  await fresh.locator('tbody tr').first().waitFor();
  assert.deepEqual(await headers(fresh), [
    'name',
    'config.lr_d',
    'best(val/fid)',
    'last(val/fid)',
    'max(val/ssim)',
    'config.batch',
  ]);
  const kept = (await fresh.locator('th[data-column="name"]').boundingBox())!.width;
  assert.ok(Math.abs(kept - widened) < 3, `${kept} vs ${widened}`);
  await fresh.close();
});

test('live points move the metric columns and a new run joins the filtered table', { skip }, async () => {
  await page.goto(
    `${server.url}/#/?q=${encodeURIComponent('tag:sweep')}&cols=${encodeURIComponent('name,best(val/fid),last(val/fid)')}`,
  );
  await untilOrder(['sweep-lr5', 'sweep-lr2', 'sweep-lr1']);
  await pushPoints(server, ids['sweep-lr1']!, [{ step: 300, values: { 'val/fid': 20 } }]);
  await until(async () => {
    const t = (await page.locator(`tr[data-run="${ids['sweep-lr1']}"] td`).allInnerTexts()).map((x) => x.trim());
    return t[2] === '20' && t[3] === '20';
  }, 'the new best and last FID');
  // Created first: by the time the later run shows, the table has been asked again after both.
  await createRun(server, { name: 'not-in-the-sweep', tags: ['other'] });
  const late = await createRun(server, { name: 'sweep-late', tags: ['sweep'] });
  await page.locator(`tr[data-run="${late}"]`).waitFor();
  assert.equal(await page.locator('tbody tr', { hasText: 'not-in-the-sweep' }).count(), 0);
});
