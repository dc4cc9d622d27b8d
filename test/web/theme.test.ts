// Specification of the dark theme in a real Chromium against a real server: the page follows the emulated
// prefers-color-scheme (also when it changes while open), the header's toggle overrides it and is kept across a reload
// (and forgotten when it agrees with the system again), text keeps WCAG AA contrast in both themes, and the charts
// (metric curves, NaN markers, the latent scatter) and sample grids change colour with the page.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { clusters } from '../../harness/clusters.js';
import { api, type RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  createRun,
  dashboardTests,
  drawnChart,
  pushPng,
  pushSeries,
  screenshot,
  tinyPng,
  until,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let run: string;
let page: Page;
let errors: string[];

const METRICS = ['loss/D', 'loss/G_GAN', 'Cyc_error', 'Latent_mse', 'D_real_acc', 'D_fake_acc'];
const value = (m: string, s: number): number | 'NaN' => {
  if (m === 'Cyc_error' && s === 700) return 'NaN';
  const t = s / 1200;
  switch (m) {
    case 'loss/D':
      return 1.3 * Math.exp(-t) + 0.45 + 0.08 * Math.sin(s / 9);
    case 'loss/G_GAN':
      return 0.9 + 0.6 * t + 0.1 * Math.cos(s / 13);
    case 'Cyc_error':
      return 0.55 * Math.exp(-2 * t) + 0.08 + 0.01 * Math.sin(s / 5);
    case 'Latent_mse':
      return 0.4 * Math.exp(-3 * t) + 0.03;
    default:
      return 0.6 + 0.25 * t + 0.03 * Math.sin(s / 7);
  }
};

dashboardTests({
  async seed(running) {
    server = running;
    run = await createRun(server, {
      name: 'facades-dark',
      tags: ['facades'],
      config: { lr_d: 1e-4, lr_g: 2e-4, lambda: { cyc: 10, latent: 0.5 } },
    });
    await pushSeries(server, run, METRICS, 1500, value);
    for (const epoch of [0, 5, 10]) await pushPng(server, run, epoch, epoch * 100, tinyPng(epoch + 1, 192, 64));
    const { codes, labels } = clusters(200, 8, 4, 4, 7);
    const rows = Array.from({ length: 200 }, (_, i) => Array.from(codes.subarray(i * 8, i * 8 + 8)));
    const res = await api(server, 'POST', `/api/v1/runs/${run}/latents`, {
      epoch: 10,
      dim: 8,
      codes: rows,
      labels: [...labels],
    });
    assert.equal(res.status, 201);
    await until(
      async () => (await api(server, 'GET', `/api/v1/runs/${run}/projections?epoch=10&method=tsne`)).status === 200,
      't-SNE of epoch 10',
    );
  },
  context: { colorScheme: 'light' },
  open: () => `/#/runs/${run}`,
  viewport: { width: 1280, height: 1000 },
  ready: (ui) => ({ page, errors } = ui),
});

interface Colours {
  theme: string;
  body: string;
  text: string;
  panel: string;
  chart: string;
  button: string;
  sampleFrame: string;
  chartText: string;
  chartGrid: string;
}

// Page-side code as plain strings: tsx would wrap the named helpers of a function in a helper the page does not have.
const COLOURS_JS = `(() => {
  const css = (sel, prop) => {
    const el = document.querySelector(sel);
    return el ? getComputedStyle(el).getPropertyValue(prop) : '';
  };
  const root = getComputedStyle(document.documentElement);
  return {
    theme: document.documentElement.dataset.theme || '',
    body: css('html', 'background-color'),
    text: css('html', 'color'),
    panel: css('.panel', 'background-color'),
    chart: css('.chart-card', 'background-color'),
    button: css('.section-nav button', 'background-color'),
    sampleFrame: css('.sample-open', 'background-color'),
    chartText: root.getPropertyValue('--chart-text').trim(),
    chartGrid: root.getPropertyValue('--chart-grid').trim(),
  };
})()`;

/** The colours the stylesheet resolves for the page and a few parts of it. */
function colours(p: Page): Promise<Colours> {
  return p.evaluate<Colours>(COLOURS_JS);
}

const chartColors = (p: Page) => p.evaluate(() => window.__ganwatch.chartColors());

/** Every chart on the page drawing its axes in the theme's chart colours. */
async function chartsFollow(p: Page, text: string, grid: string, what: string): Promise<void> {
  let last: unknown;
  const list = await until(async () => {
    const all = await chartColors(p);
    last = all;
    return all.length >= 2 && all.every((c) => c.text === text && c.grid === grid) ? all : null;
  }, `${what}: every chart drawn with text ${text} and grid ${grid}`).catch((err: Error) => {
    throw new Error(`${err.message}; drawn with ${JSON.stringify(last)}`);
  });
  assert.ok(
    list.some((c) => c.chart === 'loss/D'),
    `the loss chart among ${JSON.stringify(list)}`,
  );
  assert.ok(
    list.some((c) => /latent/.test(c.chart)),
    `the latent scatter among ${JSON.stringify(list)}`,
  );
}

/** The NaN markers' colour as drawn. */
function nanColour(p: Page): Promise<string> {
  return p.evaluate(
    () => window.__ganwatch.chart('Cyc_error')?.datasets.find((d) => d.role === 'nonfinite')?.color ?? '',
  );
}

const CONTRASTS_JS = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      const a = rgb(bg)[3];
      if (bg && bg !== 'transparent' && a !== 0) return bg;
    }
    return getComputedStyle(document.documentElement).backgroundColor;
  };
  const out = [];
  for (const sel of ${JSON.stringify([
    'h2#run-title',
    '.breadcrumb',
    '.breadcrumb a',
    '.run-facts th',
    '.status',
    '.tag',
    '.section-nav button',
    '.chart-card h4',
    '.chart-card .log-toggle',
    '.alerts-panel .tab',
    '.run-actions button',
    '.config-table th',
    '.app-header .brand',
  ])}) {
    const el = document.querySelector(sel);
    if (!el) continue;
    const fg = lum(getComputedStyle(el).color);
    const bg = lum(background(el));
    out.push({ what: sel, ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05) });
  }
  return out;
})()`;

/** WCAG contrast of text against what is painted behind it, for the main kinds of text on the page. */
function contrasts(p: Page): Promise<Array<{ what: string; ratio: number }>> {
  return p.evaluate<Array<{ what: string; ratio: number }>>(CONTRASTS_JS);
}

async function assertReadable(p: Page, theme: string): Promise<void> {
  const list = await contrasts(p);
  assert.ok(list.length >= 10, `found the elements: ${JSON.stringify(list)}`);
  for (const { what, ratio } of list) assert.ok(ratio >= 4.5, `${theme}: ${what} has contrast ${ratio.toFixed(2)}`);
}

test('the page follows the emulated prefers-color-scheme, also when it changes while open', { skip }, async () => {
  await drawnChart(page, 'loss/D');
  const light = await colours(page);
  assert.equal(light.theme, 'light');
  assert.equal(light.body, 'rgb(245, 246, 248)');
  assert.equal(light.panel, 'rgb(255, 255, 255)');
  await assertReadable(page, 'light');

  await page.emulateMedia({ colorScheme: 'dark' });
  await until(async () => (await colours(page)).theme === 'dark', 'the dark theme');
  const dark = await colours(page);
  assert.equal(dark.body, 'rgb(15, 19, 25)');
  assert.equal(dark.text, 'rgb(227, 231, 238)');
  for (const k of ['body', 'text', 'panel', 'chart', 'button', 'chartText', 'chartGrid'] as const)
    assert.notEqual(dark[k], light[k], `${k} differs between the themes`);
  assert.equal(
    await page.evaluate(() => localStorage.getItem('ganwatch.theme')),
    null,
    'following the system stores nothing',
  );
  await assertReadable(page, 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await until(async () => (await colours(page)).theme === 'light', 'back to light');
  assert.deepEqual(errors, []);
});

test('chart axes, grid and NaN markers, and the latent scatter, change colour with the theme', { skip }, async () => {
  await drawnChart(page, 'Cyc_error');
  await page.locator('.latent-panel').scrollIntoViewIfNeeded();
  await until(() => page.evaluate(() => (window.__ganwatch.latent()?.points ?? 0) > 0), 'the latent scatter');
  const light = await colours(page);
  await chartsFollow(page, light.chartText, light.chartGrid, 'light');
  const nanLight = await until(() => nanColour(page), 'the NaN marker');

  await page.emulateMedia({ colorScheme: 'dark' });
  await until(async () => (await colours(page)).theme === 'dark', 'the dark theme');
  const dark = await colours(page);
  assert.notEqual(dark.chartText, light.chartText);
  await chartsFollow(page, dark.chartText, dark.chartGrid, 'dark');
  const nanDark = await until(async () => {
    const c = await nanColour(page);
    return c && c !== nanLight ? c : null;
  }, 'the NaN marker in the dark theme');
  assert.equal(
    nanDark,
    await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--chart-nonfinite').trim()),
  );

  // Sample grids: the images themselves are never recoloured; their frame follows the page.
  const sample = page.locator('.sample-open img').first();
  await sample.scrollIntoViewIfNeeded();
  await until(() => sample.evaluate((img) => (img as HTMLImageElement).naturalWidth > 0), 'a sample grid loaded');
  const look = await sample.evaluate((img) => ({
    filter: getComputedStyle(img).filter,
    opacity: getComputedStyle(img).opacity,
  }));
  assert.deepEqual(look, { filter: 'none', opacity: '1' });
  assert.notEqual(dark.sampleFrame, light.sampleFrame);

  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'theme-dark-run-page');
  await page.emulateMedia({ colorScheme: 'light' });
  await chartsFollow(page, light.chartText, light.chartGrid, 'light again');
});

test(
  'the toggle overrides the system, is kept across a reload, and agreeing with the system forgets it',
  { skip },
  async () => {
    const toggle = page.locator('.theme-toggle');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.click();
    await until(async () => (await colours(page)).theme === 'dark', 'dark by the toggle');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    assert.equal(await page.evaluate(() => localStorage.getItem('ganwatch.theme')), 'dark');

    await page.reload();
    // Set before the first paint by index.html, so no light flash: checked as soon as the document exists.
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await drawnChart(page, 'loss/D');
    const dark = await colours(page);
    assert.equal(dark.body, 'rgb(15, 19, 25)');
    await chartsFollow(page, dark.chartText, dark.chartGrid, 'dark after the reload');
    assert.equal(await page.locator('.theme-toggle').getAttribute('aria-pressed'), 'true');

    // The system turning dark too changes nothing shown; toggling back to light then stores light (an override).
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.locator('.theme-toggle').click();
    await until(async () => (await colours(page)).theme === 'light', 'light by the toggle');
    assert.equal(await page.evaluate(() => localStorage.getItem('ganwatch.theme')), 'light');
    // And toggling to what the system says forgets the choice: the page follows the system again.
    await page.locator('.theme-toggle').click();
    await until(async () => (await colours(page)).theme === 'dark', 'dark again');
    assert.equal(await page.evaluate(() => localStorage.getItem('ganwatch.theme')), null);
    await page.emulateMedia({ colorScheme: 'light' });
    await until(async () => (await colours(page)).theme === 'light', 'following the system to light');
    assert.deepEqual(errors, []);
  },
);
