// Specification of the alerts panel (run page) and the #/alerts view in a real Chromium against a real server: alerts
// raised by real detector streams, with evidence, remedy and markers on their curves; Apply sends the remedy as a
// control and follows its result live from a trainer socket; acknowledge, mute; opt-in browser notifications.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { api, type RunningServer } from '../../harness/server.js';
import { FrameClient } from '../support/ws.js';
import {
  browserMissing,
  createRun,
  dashboardTests,
  dataset,
  drawnChart,
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
let overpowered = '';
let diverged = '';

/** detectors.md §2's trigger (as in alerts-api.test.ts): accuracies ~0.7, then ramp to 0.99 and hold; D loss → 0.05 of D_eq. */
function overpoweringStream(n: number): Array<{ step: number; values: Record<string, number> }> {
  const dEq = 2 * 2 * Math.LN2;
  return Array.from({ length: n }, (_, t) => {
    const f = t < 2000 ? 0 : Math.min(1, (t - 2000) / 300);
    const acc = 0.7 + 0.29 * f + 0.01 * Math.sin(t);
    return {
      step: t,
      values: {
        D_real_acc: acc,
        D_fake_acc: acc,
        'loss/D': dEq * (1 - 0.95 * f),
        'loss/G_GAN': 1 + f,
        'grad_norm/G': 1,
        'lr/D': 1e-4,
      },
    };
  });
}

const card = (rule: string) => page.locator(`.alert-card:has(h4:text-is("${rule}"))`);

dashboardTests({
  async seed(running) {
    server = running;
    overpowered = await createRun(server, { name: 'overpowered' });
    await pushPoints(server, overpowered, overpoweringStream(3600));
    diverged = await createRun(server, { name: 'diverged' });
    await pushPoints(server, diverged, [
      ...Array.from({ length: 50 }, (_, s) => ({ step: s, values: { 'loss/L1': 0.3, 'loss/D': 1 } })),
      { step: 50, values: { 'loss/L1': 'NaN', 'loss/D': 1 } },
    ]);
  },
  open: () => `/#/runs/${overpowered}`,
  viewport: { width: 1280, height: 1200 },
  ready: (ui) => ({ browser, page, errors } = ui),
});

test(
  'an alert raised by the detectors shows its evidence and remedy, and marks the curve it belongs to',
  { skip },
  async () => {
    const [alert] = (await api(server, 'GET', `/api/v1/runs/${overpowered}/alerts?state=firing`)).body.alerts;
    assert.equal(alert.rule, 'd_overpowering');
    await card('d_overpowering (D)').waitFor();
    const text = await card('d_overpowering (D)').innerText();
    assert.match(text, /WARN/i);
    assert.match(text, new RegExp(alert.remedy.text.slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const evidenceKeys = await card('d_overpowering (D)').locator('.evidence th').allTextContents();
    assert.deepEqual(evidenceKeys.sort(), Object.keys(alert.evidence).sort());
    const loss = await drawnChart(page, 'loss/D');
    const marks = dataset(loss, 'event');
    assert.ok(marks, 'markers on loss/D');
    const i = marks.texts!.findIndex((t) => /alert: d_overpowering/.test(t));
    assert.ok(i >= 0, `an alert marker among ${JSON.stringify(marks.texts)}`);
    assert.equal(marks.points[i]![0], alert.step_opened);
    assert.deepEqual(errors, []);
  },
);

test('Apply sends the remedy as a control; its status follows the trainer’s answer live', { skip }, async () => {
  const trainer = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/ingest?run=${overpowered}`);
  await page.locator('#sec-alerts').scrollIntoViewIfNeeded();
  await card('d_overpowering (D)')
    .getByRole('button', { name: /^Apply/ })
    .click();
  // Apply asks first (it changes a training run); the question names the command.
  const confirm = page.locator('dialog.confirm-dialog[open]');
  assert.match(await confirm.innerText(), /scale_lr\(net=D, factor=0\.5\)/);
  await confirm.getByRole('button', { name: 'Apply the remedy' }).click();
  const sent = await trainer.next((f) => f.type === 'control');
  assert.equal(sent.action, 'scale_lr');
  assert.deepEqual(sent.args, { net: 'D', factor: 0.5 });
  const [control] = (await api(server, 'GET', `/api/v1/runs/${overpowered}/controls`)).body.controls;
  assert.equal(control.id, sent.id);
  assert.match(control.source, /^alert:/);
  const status = card('d_overpowering (D)').locator('.control-status');
  await until(async () => /sent|pending/.test(await status.innerText()), 'the control status');
  trainer.send({ type: 'control_result', id: sent.id, ok: true, step: 3600, message: 'lr/D = 5e-05' });
  await until(async () => /applied at step 3600: lr\/D = 5e-05/.test(await status.innerText()), 'applied');
  await screenshot(page, 'web-alerts-panel', { selector: '#sec-alerts' });
  await trainer.close();
});

test('acknowledge and mute are stored and shown', { skip }, async () => {
  const c = card('d_overpowering (D)');
  await c.getByRole('button', { name: 'Acknowledge' }).click();
  await until(async () => (await c.getByText('acknowledged', { exact: true }).count()) === 1, 'acknowledged');
  await c.getByRole('button', { name: 'Mute' }).click();
  await until(async () => (await c.getByRole('button', { name: 'Unmute' }).count()) === 1, 'muted');
  const [alert] = (await api(server, 'GET', `/api/v1/runs/${overpowered}/alerts?rule=d_overpowering`)).body.alerts;
  assert.equal(alert.acknowledged, true);
  assert.equal(alert.muted, true);
});

test('the alerts view lists every run’s alerts with run names, open and resolved', { skip }, async () => {
  await page.goto(`${server.url}/#/alerts`);
  await card('divergence (nonfinite)').waitFor();
  assert.equal(await card('d_overpowering (D)').locator('.alert-run').innerText(), 'overpowered');
  assert.equal(await card('divergence (nonfinite)').locator('.alert-run').innerText(), 'diverged');
  assert.match(await card('divergence (nonfinite)').innerText(), /CRITICAL/);
  assert.match(await page.locator('.tabs [data-filter="firing"]').innerText(), /Open \(2\)/);
  await screenshot(page, 'web-alerts-view', { fullPage: true });
  const resolved = (await api(server, 'GET', '/api/v1/alerts?state=resolved')).body.alerts.length;
  await page.locator('.tabs [data-filter="resolved"]').click();
  assert.equal(await page.locator('.alert-card.state-resolved').count(), resolved);
  assert.equal(await page.locator('.alert-card.state-firing').count(), 0);
  await page.locator('.tabs [data-filter="firing"]').click();
});

test('with notifications switched on, a new alert raises a browser notification', { skip }, async () => {
  await browser.context.grantPermissions(['notifications'], { origin: server.url });
  // Record what the page asks the Notification API to show (the desktop itself is not visible to a test).
  // (A string, not a function: tsx would wrap a class in a helper the page does not have.)
  await page.addInitScript({
    content: `
      const Real = window.Notification;
      window.__notifications = [];
      window.Notification = class extends Real {
        constructor(title, options) {
          super(title, options);
          window.__notifications.push({ title, body: (options && options.body) || '' });
        }
      };`,
  });
  await page.reload();
  const toggle = page.locator('.notify-toggle');
  await toggle.click();
  await until(async () => (await toggle.getAttribute('aria-pressed')) === 'true', 'notifications on');
  const run = await createRun(server, { name: 'fresh-divergence' });
  await pushPoints(server, run, [{ step: 0, values: { 'loss/L1': 'Infinity' } }]);
  const shown = await until(
    () =>
      page.evaluate(() =>
        (window as unknown as { __notifications: Array<{ title: string; body: string }> }).__notifications.find((n) =>
          /divergence/.test(n.title),
        ),
      ),
    'a notification',
  );
  assert.match(shown.title, /fresh-divergence/);
  assert.match(shown.body, /Non-finite/);
});

test(
  'a remedy the trainer applies at once (before the Apply answer arrives) still shows as applied',
  { skip },
  async () => {
    const trainer = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/ingest?run=${diverged}`);
    // Answer every control the moment it arrives, as a trainer between steps does.
    trainer.socket.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === 'control')
        trainer.send({ type: 'control_result', id: f.id, ok: true, step: 51, message: 'paused after step 51' });
    });
    await page.goto(`${server.url}/#/runs/${diverged}`);
    await card('divergence (nonfinite)')
      .getByRole('button', { name: /^Apply/ })
      .click();
    await page.locator('dialog.confirm-dialog[open]').getByRole('button', { name: 'Apply the remedy' }).click();
    const status = card('divergence (nonfinite)').locator('.control-status');
    await until(async () => /applied at step 51: paused after step 51/.test(await status.innerText()), 'applied');
    await until(
      async () => /applied/.test(await page.locator('.controls-table .control-chip').first().innerText()),
      'applied in the controls table',
    );
    await trainer.close();
  },
);
