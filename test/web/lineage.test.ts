// Lineage on the dashboard, in a real Chromium against a real server: a run forked from another (a rollback) names its
// parent and fork step, its charts draw the parent's (and grandparent's) curves up to the forks under its own, the
// parent lists its forks, Compare holds both and says which is the fork, and the controls form sends a rollback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { api, type RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  createRun,
  dashboardTests,
  dataset,
  drawnChart,
  pushPoints,
  screenshot,
  until,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let page: Page;
let errors: string[];
let grand = '';
let parent = '';
let child = '';

const steps = (from: number, to: number, value: (s: number) => number | 'NaN') =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ step: from + i, values: { 'loss/D': value(from + i) } }));

dashboardTests({
  async seed(running) {
    server = running;
    grand = await createRun(server, { name: 'first-try' });
    await pushPoints(
      server,
      grand,
      steps(0, 99, (s) => 2 - s / 100),
    );
    parent = await createRun(server, { name: 'diverged', parent_id: grand, fork_step: 80 });
    await pushPoints(
      server,
      parent,
      steps(81, 299, (s) => (s >= 250 ? 'NaN' : 1 + s / 1000)),
    );
    await api(server, 'PATCH', `/api/v1/runs/${parent}`, { status: 'finished' });
    child = await createRun(server, { name: 'diverged (fork at step 200)', parent_id: parent, fork_step: 200 });
    await pushPoints(
      server,
      child,
      steps(201, 400, () => 0.5),
    );
  },
  open: () => `/#/runs/${child}`,
  viewport: { width: 1280, height: 1400 },
  ready: (ui) => ({ page, errors } = ui),
});

test(
  "a forked run names its parent and fork step, and draws its ancestors' curves up to the forks",
  { skip },
  async () => {
    const fact = page.locator('.lineage-parent');
    await fact.waitFor();
    assert.match(await fact.innerText(), /^diverged at step 200 · compare$/);
    assert.equal(await fact.locator('[data-lineage="parent"]').getAttribute('href'), `#/runs/${parent}`);

    const loss = await drawnChart(page, 'loss/D');
    const own = dataset(loss, 'line', child)!;
    assert.equal(own.points.length, 200);
    assert.deepEqual(own.points[0], [201, 0.5]);
    const fromParent = dataset(loss, 'line', parent)!;
    assert.equal(fromParent.label, 'diverged (to step 200)');
    assert.deepEqual(
      [fromParent.points[0]![0], fromParent.points.at(-1)![0], fromParent.points.length],
      [81, 200, 120],
      "the parent's steps after the fork (and its NaN at 250) are not drawn",
    );
    assert.equal(dataset(loss, 'nonfinite', parent), undefined);
    const fromGrand = dataset(loss, 'line', grand)!;
    assert.deepEqual([fromGrand.points[0]![0], fromGrand.points.at(-1)![0]], [0, 80]);
    await screenshot(page, 'web-lineage', { selector: '.chart-card[data-chart="loss/D"]' });
    assert.deepEqual(errors, []);
  },
);

test('the parent lists its forks with their fork steps', { skip }, async () => {
  await page.locator('[data-lineage="parent"]').click();
  const children = page.locator('.lineage-children');
  await children.waitFor();
  assert.equal(await children.innerText(), 'diverged (fork at step 200) at step 200');
  assert.equal(await children.locator('a').getAttribute('href'), `#/runs/${child}`);
  assert.match(await page.locator('.lineage-parent').innerText(), /^first-try at step 80/);
  assert.deepEqual(errors, []);
});

test('Compare holds the fork and its parent, saying which is the fork of which', { skip }, async () => {
  await page.goto(`${server.url}/#/runs/${child}`);
  await page.locator('[data-lineage="compare"]').click();
  await until(async () => page.url().includes(`#/compare?runs=${child},${parent}`), 'the compare view');
  const note = page.locator('.compare-legend [data-lineage="fork-of"]');
  await note.waitFor();
  assert.equal((await note.innerText()).trim(), 'fork of diverged at step 200');
  const loss = await drawnChart(page, 'loss/D');
  assert.equal(dataset(loss, 'line', child)!.points.length, 200);
  assert.equal(dataset(loss, 'line', parent)!.points.at(-1)![0], 249, 'Compare shows the whole parent');
  assert.ok(dataset(loss, 'nonfinite', parent));
  assert.deepEqual(errors, []);
});

test('the controls form sends a rollback to the latest checkpoint with the lrs scaled', { skip }, async () => {
  await page.goto(`${server.url}/#/runs/${child}`);
  const form = page.locator('form.control-form');
  await form.waitFor();
  await form.locator('select[name="action"]').selectOption('rollback');
  await form.locator('select[name="checkpoint"]').selectOption('latest');
  await form.locator('input[name="factor"]').fill('0.5');
  await form.getByRole('button', { name: 'Send to trainer' }).click();
  // A rollback asks first, in the page (as Apply, Pause and Stop do).
  await page.locator('dialog.confirm-dialog[open]').getByRole('button', { name: 'Roll back' }).click();
  await until(
    async () => /rollback\(checkpoint=latest, lr_factor=0.5\)/.test(await page.locator('.controls-table').innerText()),
    'the rollback in the controls table',
  );
  const stored = (await api(server, 'GET', `/api/v1/runs/${child}/controls`)).body.controls;
  assert.deepEqual(
    stored.map((c: any) => [c.action, c.args]),
    [['rollback', { checkpoint: 'latest', lr_factor: 0.5 }]],
  );
  assert.deepEqual(errors, []);
});
