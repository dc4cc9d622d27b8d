// Specification of system metrics on the run page, in a real Chromium against a real server: a run with sys/* metrics
// gets a "System" chart group (CPU and memory first, then each GPU's charts), and the configuration table shows the
// machine the run recorded (CPU model, cores, platform, GPUs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  createRun,
  drawnChart,
  launchBrowser,
  pushPoints,
  screenshot,
  startDashboardServer,
  type Browser,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
const SYSTEM = { cpu: 'AMD EPYC 7B13', cores: 64, platform: 'linux 6.1.0 x64', gpus: ['NVIDIA A100', 'NVIDIA A100'] };
let server: RunningServer;
let browser: Browser;
let page: Page;
let errors: string[];

before(async () => {
  if (skip) return;
  server = await startDashboardServer();
  const run = await createRun(server, { name: 'with a machine', system: SYSTEM });
  await pushPoints(
    server,
    run,
    Array.from({ length: 30 }, (_, step) => ({
      step,
      values: {
        'loss/D': 1 / (step + 1),
        'sys/cpu_percent': 180 + step,
        'sys/rss_mb': 900 + step,
        'sys/gpu_util/0': 90,
        'sys/gpu_util/1': 40,
        'sys/gpu_mem_mb/0': 30_000,
      },
    })),
  );
  browser = await launchBrowser();
  ({ page, errors } = await browser.open(`${server.url}/#/runs/${run}`, { width: 1280, height: 1600 }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('sys/* metrics get a System chart group, CPU and memory first, then each GPU’s charts', { skip }, async () => {
  await drawnChart(page, 'sys/cpu_percent');
  const group = page.locator('section[data-group="system"]');
  assert.match((await group.locator('h3, h2, header').first().textContent()) ?? '', /System/);
  const keys = await group
    .locator('.chart-card')
    .evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.chart));
  assert.deepEqual(keys, ['sys/cpu_percent', 'sys/rss_mb', 'sys/gpu_mem_mb/0', 'sys/gpu_util/0', 'sys/gpu_util/1']);
  assert.equal(await page.locator('section[data-group="other"] .chart-card[data-chart^="sys/"]').count(), 0);
  await screenshot(page, 'web-system-group', { selector: 'section[data-group="system"]' });
  assert.deepEqual(errors, []);
});

test('the configuration table shows the CPU model, cores, platform and GPUs the run recorded', { skip }, async () => {
  const row = async (key: string): Promise<string> =>
    ((await page.locator(`#sec-config tr:has(th code:text-is("${key}")) td`).textContent()) ?? '').trim();
  assert.equal(await row('(cpu)'), SYSTEM.cpu);
  assert.equal(await row('(cores)'), '64');
  assert.equal(await row('(platform)'), SYSTEM.platform);
  assert.equal(await row('(gpus)'), '2 × NVIDIA A100');
});
