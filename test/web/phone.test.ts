// Specification of the phone view in Chromium's device emulation (390 × 844, isMobile, hasTouch) against a real server
// and a real run driven by the Node client (no training): the runs list and a run's page fit the width (nothing
// scrolls sideways), the runs list keeps status, name, last step and alerts, the run page shows its key charts and
// alerts, and Apply / Pause / Stop each ask first: Cancel sends nothing, confirming reaches the trainer, whose answer
// comes back on the page.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Page } from 'playwright-core';
import { connect, type Control, type Run } from '../../clients/node/index.js';
import { api, tempDir, type RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  createRun,
  dashboardTests,
  drawnChart,
  pushPoints,
  pushSeries,
  screenshot,
  until,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
const PHONE = { width: 390, height: 844 };
let server: RunningServer;
let page: Page;
let errors: string[];
let trainer: Run;
let runId = '';
const others: Record<string, string> = {};

/** The controls the trainer received, in order, and a way to wait for the next. */
const received: Control[] = [];
let waiting: ((c: Control) => void) | null = null;
function nextControl(): Promise<Control> {
  const ready = received.shift();
  if (ready) return Promise.resolve(ready);
  return new Promise((resolve) => (waiting = resolve));
}

dashboardTests({
  async seed(running) {
    server = running;
    trainer = await connect({
      name: 'facades-phone-run-with-a-long-name',
      server: server.url,
      tags: ['facades', 'phone'],
      config: { lr_d: 1e-4, lr_g: 2e-4 },
      spool: join(tempDir('ganwatch-phone-'), 'spool'),
      systemMetrics: false,
    });
    trainer.onControl((c) => {
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(c);
      } else received.push(c);
    });
    for (let step = 0; step < 300; step++)
      trainer.log(
        {
          'loss/D': 1 + 0.3 * Math.sin(step / 20),
          'loss/G_GAN': 1.5 + 0.2 * Math.cos(step / 25),
          'loss/L1': 0.3 - step / 3000,
          Cyc_error: 0.3 - step / 3000,
        },
        step,
      );
    // A NaN: the divergence alert fires; its remedy rolls back to the last checkpoint.
    trainer.log({ 'loss/L1': Number.NaN, 'loss/D': 1 }, 300);
    assert.equal(await trainer.flush(), true, 'the trainer’s points stored');
    runId = trainer.id!;
    for (const [name, status, steps] of [
      ['edges2shoes-baseline', 'finished', 5000],
      ['maps-lr-sweep-3', 'paused', 1200],
    ] as const) {
      const id = await createRun(server, { name, tags: ['sweep'] });
      await pushSeries(server, id, ['loss/D', 'loss/G_GAN'], steps, (m, s) => 1 / (1 + s / 500) + m.length / 100);
      await api(server, 'PATCH', `/api/v1/runs/${id}`, { status });
      others[name] = id;
    }
    const failed = await createRun(server, { name: 'night-run-diverged' });
    await pushPoints(server, failed, [{ step: 0, values: { 'loss/L1': 'Infinity' } }]);
    others.failed = failed;
  },
  context: { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  open: () => '/#/',
  ready: (ui) => ({ page, errors } = ui),
});
// Registered after dashboardTests' own `after`, so it runs first, while the server is still up.
let finished = false;
after(() => (finished ? undefined : trainer?.close({ timeoutMs: 5000 })));

/** How far the page reaches past the viewport sideways (0: nothing scrolls sideways). */
function overflowX(p: Page): Promise<number> {
  return p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** The elements that reach past the viewport's right edge (for the message when something does). */
function widest(p: Page): Promise<string[]> {
  return p.evaluate(`[...document.querySelectorAll('main *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .slice(0, 8)
    .map((e) => e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`);
}

/** Whether an element is shown, with its whole box inside the viewport's width. */
async function visibleWithin(p: Page, selector: string): Promise<boolean> {
  const loc = p.locator(selector).first();
  if (!(await loc.isVisible())) return false;
  const box = await loc.boundingBox();
  return box !== null && box.x >= 0 && box.x + box.width <= PHONE.width + 0.5 && box.width > 0;
}

const card = (rule: string) => page.locator(`.alert-card:has(h4:text-is("${rule}"))`);
const confirmDialog = () => page.locator('dialog.confirm-dialog[open]');

test(
  'the runs list fits 390 px: status, name, last step and alerts of every run, nothing sideways',
  { skip },
  async () => {
    const row = (id: string) => page.locator(`tbody tr[data-run="${id}"]`);
    await row(others.failed!).waitFor();
    await until(
      async () => /1 open/i.test(await row(others.failed!).locator('[data-col="alerts"]').innerText()),
      'the failed run’s alert',
    );
    await until(
      async () => (await row(runId).locator('[data-col="step"]').innerText()).includes('300'),
      'the trainer’s last step',
    );
    assert.equal(await overflowX(page), 0, `no horizontal overflow: ${JSON.stringify(await widest(page))}`);
    for (const id of [runId, ...Object.values(others)]) {
      for (const col of ['status', 'name', 'step', 'alerts'])
        assert.ok(await visibleWithin(page, `tbody tr[data-run="${id}"] [data-col="${col}"]`), `${col} of ${id}`);
      // The columns a phone has no room for are left out, not squeezed.
      for (const col of ['tags', 'age', 'loss/D'])
        assert.equal(await row(id).locator(`[data-col="${col}"]`).isVisible(), false, `${col} hidden`);
    }
    assert.match(await row(others['maps-lr-sweep-3']!).locator('[data-col="status"]').innerText(), /paused/);
    assert.match(await row(runId).locator('[data-col="name"]').innerText(), /facades-phone-run-with-a-long-name/);
    // The filter still works with a thumb.
    assert.ok(await visibleWithin(page, 'form.filters input[type="search"]:not(.query-input)'));
    await page.locator('form.filters input[type="search"]:not(.query-input)').fill('maps');
    await until(async () => (await page.locator('tbody tr:not([hidden])').count()) === 1, 'one run left');
    await page.locator('form.filters input[type="search"]:not(.query-input)').fill('');
    await until(async () => (await page.locator('tbody tr:not([hidden])').count()) === 4, 'all runs back');
    await screenshot(page, 'phone-runs-list');
    assert.deepEqual(errors, []);
  },
);

test('a run’s page fits 390 px: its actions, alerts and key charts, nothing sideways', { skip }, async () => {
  await page.locator(`tbody tr[data-run="${runId}"] [data-col="name"] a`).tap();
  await page.locator('#run-title').waitFor();
  await card('divergence (nonfinite)').waitFor();
  for (const sel of ['#run-title', '.run-actions [data-action="pause"]', '.run-actions [data-action="stop"]'])
    assert.ok(await visibleWithin(page, sel), `${sel} shown within the width`);
  assert.ok(await visibleWithin(page, '.alert-card'), 'the alert card');
  assert.ok(await visibleWithin(page, '.alert-card .remedy button'), 'its Apply button');
  for (const key of ['loss/D', 'loss/G_GAN']) {
    const chart = await drawnChart(page, key);
    assert.ok(
      chart.datasets.some((d) => d.role === 'line' && d.points.length > 0),
      `${key} drawn`,
    );
    assert.ok(await visibleWithin(page, `.chart-card[data-chart="${key}"]`), `${key} within the width`);
  }
  // The whole page, charts, samples, latent space, controls and configuration included, stays within the width.
  await page.locator('#sec-config').scrollIntoViewIfNeeded();
  assert.equal(await overflowX(page), 0, `no horizontal overflow: ${JSON.stringify(await widest(page))}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'phone-run-page');
  assert.deepEqual(errors, []);
});

test(
  'Apply asks first: Cancel sends nothing; confirming sends the remedy, and the trainer’s answer shows',
  { skip },
  async () => {
    const apply = card('divergence (nonfinite)').getByRole('button', { name: /^Apply/ });
    await apply.scrollIntoViewIfNeeded();
    await apply.tap();
    await confirmDialog().waitFor();
    assert.ok(await visibleWithin(page, 'dialog.confirm-dialog[open]'), 'the question fits the screen');
    assert.match(await confirmDialog().innerText(), /rollback/);
    await screenshot(page, 'phone-confirm-apply');
    await confirmDialog().getByRole('button', { name: 'Cancel' }).tap();
    await confirmDialog().waitFor({ state: 'detached' });
    assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${runId}/controls`)).body.controls, [], 'nothing sent');

    await apply.tap();
    await confirmDialog().getByRole('button', { name: 'Apply the remedy' }).tap();
    const control = await nextControl();
    assert.equal(control.action, 'rollback');
    trainer.answer(control.id, true, 301, 'restored step 200');
    const status = card('divergence (nonfinite)').locator('.control-status');
    await until(async () => /applied at step 301: restored step 200/.test(await status.innerText()), 'applied');
    // A rollback ends the run, so its alert resolves; the card stays where the user applied it, saying so.
    await until(
      async () => /state-resolved/.test((await card('divergence (nonfinite)').getAttribute('class')) ?? ''),
      'the alert resolved by the rollback, still in view',
    );
    assert.match(await status.innerText(), /applied at step 301: restored step 200/);
    assert.deepEqual(errors, []);
  },
);

test('Pause and Stop ask first; Cancel sends nothing, confirming reaches the trainer', { skip }, async () => {
  const countControls = async (): Promise<number> =>
    (await api(server, 'GET', `/api/v1/runs/${runId}/controls`)).body.controls.length;
  const before = await countControls();
  const pause = page.locator('.run-actions [data-action="pause"]');
  await page.evaluate(() => window.scrollTo(0, 0));
  await pause.tap();
  await confirmDialog().getByRole('button', { name: 'Cancel' }).tap();
  await confirmDialog().waitFor({ state: 'detached' });
  assert.equal(await countControls(), before, 'cancelled: nothing sent');
  await pause.tap();
  await confirmDialog().getByRole('button', { name: 'Pause the run' }).tap();
  const paused = await nextControl();
  assert.equal(paused.action, 'pause');
  trainer.answer(paused.id, true, 301, 'paused');
  const line = page.locator('.run-actions-status');
  await until(async () => /pause: applied at step 301/.test(await line.innerText()), 'pause applied, in the header');

  const stop = page.locator('.run-actions [data-action="stop"]');
  await stop.tap();
  assert.match(await confirmDialog().innerText(), /Stop facades-phone-run-with-a-long-name\?/);
  await confirmDialog().getByRole('button', { name: 'Cancel' }).tap();
  await confirmDialog().waitFor({ state: 'detached' });
  assert.equal(await countControls(), before + 1, 'cancelled: no stop sent');
  await stop.tap();
  await confirmDialog().getByRole('button', { name: 'Stop the run' }).tap();
  const stopped = await nextControl();
  assert.equal(stopped.action, 'stop');
  trainer.answer(stopped.id, true, 301, 'stopping');
  await until(async () => /stop: applied at step 301/.test(await line.innerText()), 'stop applied, in the header');
  assert.equal(received.length, 0, 'nothing else reached the trainer');
  assert.equal(await overflowX(page), 0);
  assert.equal(await trainer.finish(), true);
  finished = true;
  assert.deepEqual(errors, []);
});
