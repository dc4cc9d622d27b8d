// Specification of the runs list (#/) in a real Chromium against a real server: every run with status, tags, last
// step, key metrics and open alerts; live updates; filters; edit and delete; selection for the compare view.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  createRun,
  dashboardTests,
  pushPng,
  pushPoints,
  screenshot,
  tinyPng,
  until,
  type Browser,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let browser: Browser;
let page: Page;
let errors: string[];
const ids = { a: '', b: '', c: '', live: '' };

const row = (id: string) => page.locator(`tr[data-run="${id}"]`);
const cellTexts = async (id: string): Promise<string[]> =>
  (await row(id).locator('td').allInnerTexts()).map((t) => t.trim());

dashboardTests({
  async seed(running) {
    server = running;
    ids.a = await createRun(server, { name: 'facades-lr1e-4', tags: ['facades', 'sweep'], config: { lr_d: 1e-4 } });
    ids.b = await createRun(server, { name: 'edges-baseline', tags: ['edges'] });
    ids.c = await createRun(server, { name: 'facades-diverged', tags: ['facades'] });
    await pushPoints(server, ids.a, [
      { step: 0, values: { 'loss/D': 1.5, 'loss/G_GAN': 0.9, Cyc_error: 0.4, Latent_mse: 0.8 } },
      { step: 120, values: { 'loss/D': 0.6931, 'loss/G_GAN': 1.25, Cyc_error: 0.125, Latent_mse: 0.5 } },
    ]);
    await pushPoints(server, ids.c, [{ step: 7, values: { 'loss/D': 'NaN', 'loss/L1': 'NaN' } }]);
    await api(server, 'PATCH', `/api/v1/runs/${ids.b}`, { status: 'finished' });
    await api(server, 'PATCH', `/api/v1/runs/${ids.c}`, { status: 'failed' });
  },
  open: () => '/#/',
  async ready(ui) {
    ({ browser, page, errors } = ui);
    await row(ids.c).waitFor();
  },
});

test(
  'every run is listed, newest first, with status, tags, last step, key metrics and open alerts',
  { skip },
  async () => {
    const order = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.run));
    assert.deepEqual(order, [ids.c, ids.b, ids.a]);
    const a = await until(async () => {
      const t = await cellTexts(ids.a);
      return t[7] !== '–' ? t : null;
    }, 'the metrics of run a');
    // select, status, name, tags, age, last step, loss/D, loss/G_GAN, Cyc_error, Latent_mse, alerts, actions
    assert.match(a[1]!, /running/);
    assert.equal(a[2], 'facades-lr1e-4');
    assert.match(a[3]!, /facades/);
    assert.match(a[3]!, /sweep/);
    assert.match(a[4]!, /ago/);
    assert.deepEqual(a.slice(5, 10), ['120', '0.6931', '1.25', '0.125', '0.5']);
    assert.match((await cellTexts(ids.b))[1]!, /finished/);
    const c = await until(async () => {
      const t = await cellTexts(ids.c);
      return /open/i.test(t[10]!) ? t : null;
    }, 'the alert of run c');
    assert.match(c[1]!, /failed/);
    assert.equal(c[6], 'NaN');
    assert.match(c[10]!, /1 open/i);
    assert.equal(await row(ids.c).locator('.severity-critical').count(), 1, 'worst severity shown');
    // Statuses differ by more than colour: each badge carries its own class, symbol and word.
    const classes = await page.locator('tbody .status').evaluateAll((els) => els.map((e) => e.className));
    assert.deepEqual(new Set(classes).size, 3);
    await screenshot(page, 'web-runs-list');
    assert.deepEqual(errors, []);
  },
);

test('filters narrow the list by name, tag and status', { skip }, async () => {
  const visible = async (): Promise<string[]> =>
    page.locator('tbody tr:not([hidden])').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.run!));
  await page.locator('form.filters').getByLabel('Name', { exact: true }).fill('facades');
  assert.deepEqual((await visible()).sort(), [ids.a, ids.c].sort());
  await page.locator('form.filters').getByLabel('Status', { exact: true }).selectOption('failed');
  assert.deepEqual(await visible(), [ids.c]);
  await page.locator('form.filters').getByLabel('Status', { exact: true }).selectOption('');
  await page.locator('form.filters').getByLabel('Name', { exact: true }).fill('');
  await page.locator('form.filters').getByLabel('Tag', { exact: true }).selectOption('edges');
  assert.deepEqual(await visible(), [ids.b]);
  await page.locator('form.filters').getByLabel('Tag', { exact: true }).selectOption('');
  assert.equal((await visible()).length, 3);
});

test('a run created after the page opened appears, and its status and points follow live', { skip }, async () => {
  const id = await createRun(server, { name: 'arrives-live', tags: ['late'] });
  await row(id).waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('tbody tr').first().getAttribute('data-run'), id, 'on top');
  await pushPoints(server, id, [{ step: 33, values: { 'loss/D': 0.25 } }]);
  await until(
    async () => (await cellTexts(id))[6] === '0.25' && (await cellTexts(id))[5] === '33',
    'live points in the row',
  );
  await api(server, 'PATCH', `/api/v1/runs/${id}`, { status: 'paused' });
  await until(async () => /paused/.test((await cellTexts(id))[1]!), 'the paused badge');
  ids.live = id;
});

test('the edit dialog renames, tags and notes a run', { skip }, async () => {
  await row(ids.b).getByRole('button', { name: 'Edit' }).click();
  const dialog = page.locator('dialog.edit-dialog[open]');
  await dialog.getByLabel('Name').fill('edges-baseline-v2');
  await dialog.getByLabel('Tags').fill('edges, baseline');
  await dialog.getByLabel('Notes').fill('kept as the reference');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await until(async () => (await cellTexts(ids.b))[2]!.startsWith('edges-baseline-v2'), 'the new name');
  const run = (await api(server, 'GET', `/api/v1/runs/${ids.b}`)).body;
  assert.equal(run.name, 'edges-baseline-v2');
  assert.deepEqual(run.tags, ['edges', 'baseline']);
  assert.equal(run.notes, 'kept as the reference');
  assert.match((await cellTexts(ids.b))[2]!, /kept as the reference/);
});

test('delete asks for confirmation; cancelling keeps the run, confirming removes it', { skip }, async () => {
  page.once('dialog', (d) => void d.dismiss());
  await row(ids.live).getByRole('button', { name: 'Delete' }).click();
  await page.waitForTimeout(200);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${ids.live}`)).status, 200);
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.accept();
  });
  await row(ids.live).getByRole('button', { name: 'Delete' }).click();
  await until(async () => (await row(ids.live).count()) === 0, 'the row to go');
  assert.match(asked, /arrives-live/);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${ids.live}`)).status, 404);
});

test('ticking runs and pressing Compare opens the compare view with the selection in the URL', { skip }, async () => {
  const compare = page.getByRole('button', { name: /Compare selected/ });
  assert.equal(await compare.isDisabled(), true);
  await row(ids.a).getByRole('checkbox').check();
  assert.equal(await compare.isDisabled(), true, 'one run is not a comparison');
  await row(ids.c).getByRole('checkbox').check();
  await compare.click();
  await page.waitForURL(/#\/compare\?runs=/);
  const runs = new URL(page.url()).hash.split('runs=')[1]!.split(',');
  assert.deepEqual(runs.sort(), [ids.a, ids.c].sort());
});

test("the server's bare address (no #/ in it) opens the runs list", { skip }, async () => {
  const { page: p, errors: errs } = await browser.open(`${server.url}/`);
  await p.locator(`tr[data-run="${ids.a}"]`).waitFor({ timeout: 60_000 });
  assert.deepEqual(errs, []);
  await p.close();
});

test('a read token in the page URL is sent on every fetch, image and the live socket', { skip }, async () => {
  const guarded = await startServer({ readToken: 'r3ad-t0ken' });
  try {
    const first = await createRun(guarded, { name: 'behind-a-token' });
    await pushPng(guarded, first, 0, 0, tinyPng(1));
    assert.equal((await api(guarded, 'GET', '/api/v1/runs')).status, 401, 'reads need the token');
    const { page: p, errors: errs } = await browser.open(`${guarded.url}/?token=r3ad-t0ken#/`);
    await p.locator(`tr[data-run="${first}"]`).waitFor({ timeout: 60_000 });
    const second = await createRun(guarded, { name: 'pushed-live' });
    await p.locator(`tr[data-run="${second}"]`).waitFor({ timeout: 60_000 });
    await p.goto(`${guarded.url}/?token=r3ad-t0ken#/runs/${first}`);
    const img = p.locator('.samples-panel img');
    await until(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), 'the sample image');
    assert.deepEqual(errs, []);
    await p.close();
  } finally {
    await guarded.stop();
  }
});

test('at 1024 px wide nothing spills sideways: wide tables scroll inside their box', { skip }, async () => {
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.goto(`${server.url}/#/`);
  await row(ids.a).waitFor();
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 1024), 'no horizontal page scroll');
  await screenshot(page, 'web-runs-list-1024');
  await page.setViewportSize({ width: 1280, height: 900 });
});
