// Specification of the run page in a real Chromium against a real server: chart groups drawn from the server's buckets,
// NaN markers, live points within a second, smoothing, zoom with finer buckets, log scale, time axes, sample-grid
// slider, latent scatter (its axes: web-latent.test.ts), controls, configuration, and the reconnecting banner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { api, type RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  charts,
  createRun,
  dashboardTests,
  dataset,
  drawLatency,
  drawnChart,
  pushPng,
  pushPoints,
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
const STEPS = 2000;
const WALL0 = 1_700_000_000;
const METRICS = [
  'loss/D',
  'loss/G_GAN',
  'D_real_acc',
  'D_fake_acc',
  'Cyc_error',
  'grad_norm/D',
  'lr/D',
  'perf/step_ms',
  'weird/other',
];
const valueOf = (m: string, s: number): number | 'NaN' => {
  if (m === 'Cyc_error' && s === 1500) return 'NaN';
  if (m === 'loss/D') return 1 + 0.5 * Math.sin(s / 50) + (s === 1234 ? 20 : 0);
  if (m === 'loss/G_GAN') return 2 + Math.cos(s / 70);
  if (m === 'D_fake_acc') return 0.6;
  return 1 / (1 + s / 500) + m.length * 0.01;
};
const EPOCHS = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50];

dashboardTests({
  async seed(running) {
    server = running;
    run = await createRun(server, {
      name: 'page-run',
      config: { lr_d: 1e-4, lr_g: 2e-4, batch_size: 16, lambda: { cyc: 10, latent: 0.5 } },
      tags: ['spec'],
      backend: 'wasm',
      device: 'cpu',
    });
    await pushSeries(server, run, METRICS, STEPS, valueOf, WALL0);
    // Quality metrics once per validation epoch (raw: few points).
    await pushPoints(
      server,
      run,
      EPOCHS.map((e) => ({
        step: e * 40,
        wall: WALL0 + e * 20,
        values: { 'val/fid': 100 - e, 'val/ssim': 0.5 + e / 200 },
      })),
    );
    for (const e of EPOCHS)
      await pushPng(server, run, e, e * 40, tinyPng(e), {
        labels: ['input', 'target', 'encoded', 'z1', 'z2', 'z3'],
        rows: 1,
      });
    for (const epoch of [0, 5]) {
      const codes = Array.from({ length: 240 }, (_, i) =>
        Array.from({ length: 8 }, (_, j) => (i % 4) * (epoch + 2) * (j === i % 8 ? 1 : 0.1) + Math.sin(i * 7 + j)),
      );
      const res = await api(server, 'POST', `/api/v1/runs/${run}/latents`, {
        epoch,
        dim: 8,
        codes,
        labels: codes.map((_, i) => i % 4),
      });
      assert.equal(res.status, 201);
    }
    // The server writes the codes' class separation (val/latent_*) in the background: wait for it, or its two charts may
    // arrive live and push the charts below them off screen between the tests.
    const metricNames = async (): Promise<string[]> =>
      (await api(server, 'GET', `/api/v1/runs/${run}/metrics`)).body.metrics.map((m: { name: string }) => m.name);
    await until(async () => (await metricNames()).includes('val/latent_fisher'), 'the latent separation metrics');
  },
  open: () => `/#/runs/${run}`,
  viewport: { width: 1280, height: 3400 },
  ready: (ui) => ({ page, errors } = ui),
});

test(
  'every metric gets a chart in its group, drawn from the server buckets as a min–max band and a mean line',
  { skip },
  async () => {
    const loss = await drawnChart(page, 'loss/D');
    const expectedGroups: Record<string, string> = {
      'loss/D': 'losses',
      'loss/G_GAN': 'losses',
      'derived:gd_ratio': 'ratio',
      D_real_acc: 'monitor',
      Cyc_error: 'monitor',
      'val/fid': 'quality',
      'val/ssim': 'quality',
      'grad_norm/D': 'gradients',
      'lr/D': 'schedule',
      'perf/step_ms': 'perf',
      'weird/other': 'other',
    };
    for (const [key, group] of Object.entries(expectedGroups)) {
      const found = await page.locator(`section[data-group="${group}"] .chart-card[data-chart="${key}"]`).count();
      assert.equal(found, 1, `${key} in group ${group}`);
    }
    const series = (await api(server, 'GET', `/api/v1/runs/${run}/series?metric=loss/D&buckets=1000`)).body;
    assert.equal(series.mode, 'buckets');
    assert.equal(loss.sources[0]!.mode, 'buckets');
    const hi = dataset(loss, 'band-hi')!.points;
    const lo = dataset(loss, 'band-lo')!.points;
    const mean = dataset(loss, 'line')!.points;
    assert.equal(hi.length, series.buckets.length);
    assert.deepEqual(
      hi.map((p) => p[1]),
      series.buckets.map((b: any) => b.max),
    );
    assert.deepEqual(
      lo.map((p) => p[1]),
      series.buckets.map((b: any) => b.min),
    );
    assert.deepEqual(
      mean.map((p) => p[1]),
      series.buckets.map((b: any) => b.mean),
    );
    assert.equal(
      Math.max(...hi.map((p) => p[1])),
      valueOf('loss/D', 1234) as number,
      'the spike at step 1234 is the top of the band',
    );
    // Raw metrics (few points) are drawn point by point.
    const fid = await drawnChart(page, 'val/fid');
    assert.equal(fid.sources[0]!.mode, 'raw');
    assert.deepEqual(
      dataset(fid, 'line')!.points,
      EPOCHS.map((e) => [e * 40, 100 - e]),
    );
    await screenshot(page, 'web-run-page', { fullPage: true });
    assert.deepEqual(errors, []);
  },
);

test('the G/D loss ratio is computed in the browser from the same buckets', { skip }, async () => {
  const ratio = await drawnChart(page, 'derived:gd_ratio');
  const g = (await api(server, 'GET', `/api/v1/runs/${run}/series?metric=loss/G_GAN&buckets=1000`)).body.buckets;
  const d = (await api(server, 'GET', `/api/v1/runs/${run}/series?metric=loss/D&buckets=1000`)).body.buckets;
  const line = dataset(ratio, 'line')!.points;
  assert.equal(line.length, g.length);
  line.forEach(([, y], i) => assert.ok(Math.abs(y - g[i].mean / d[i].mean) < 1e-9, `bucket ${i}`));
});

test('NaN values are drawn as markers on their curve', { skip }, async () => {
  const cyc = await drawnChart(page, 'Cyc_error');
  const marks = dataset(cyc, 'nonfinite');
  assert.ok(marks, 'a non-finite marker dataset');
  assert.equal(marks.points.length, 1);
  assert.ok(Math.abs(marks.points[0]![0] - 1500) <= 2, `marker near step 1500, at ${marks.points[0]![0]}`);
  assert.match(marks.texts![0]!, /non-finite/);
});

test(
  'a constant series is drawn flat in the middle of an axis around its value, not across its rounding noise',
  { skip },
  async () => {
    const flat = await drawnChart(page, 'D_fake_acc');
    assert.ok(dataset(flat, 'smooth'), 'smoothing is on (its EMA of a constant differs from it in the last bits)');
    assert.ok(flat.yMin! <= 0.55 && flat.yMax! >= 0.65, `y axis ${flat.yMin}–${flat.yMax} around 0.6`);
    assert.ok(dataset(flat, 'line')!.points.every(([, y]) => y === 0.6));
  },
);

test('a point pushed after the page opened is drawn within one second', { skip }, async () => {
  await drawnChart(page, 'val/fid');
  const ms = await drawLatency(page, 'val/fid', 2100, 42.5, () =>
    pushPoints(server, run, [{ step: 2100, values: { 'val/fid': 42.5 } }]),
  );
  assert.ok(ms < 1000, `drawn ${ms} ms after the push`);
  // On a bucketed chart the point lands in a new bucket at its step.
  await drawnChart(page, 'loss/D');
  const ms2 = await drawLatency(page, 'loss/D', 2100, 3.25, () =>
    pushPoints(server, run, [{ step: 2100, values: { 'loss/D': 3.25 } }]),
  );
  assert.ok(ms2 < 1000, `drawn ${ms2} ms after the push`);
  assert.ok((await charts(page)).find((c) => c.key === 'loss/D')!.xMax! >= 2100, 'the x axis grew to the new step');
});

test('hovering a chart shows the exact step range and the bucket’s mean, min and max', { skip }, async () => {
  const loss = await drawnChart(page, 'loss/D');
  const box = (await page.locator('.chart-card[data-chart="loss/D"] .chart-canvas').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  const tip = await until(async () => (await charts(page)).find((c) => c.key === 'loss/D')?.tooltip, 'the tooltip');
  assert.match(tip.title[0]!, /^steps \d+–\d+$/);
  const [, from, to] = /steps (\d+)–(\d+)/.exec(tip.title[0]!)!.map(Number) as [number, number, number];
  const bucket = (await api(server, 'GET', `/api/v1/runs/${run}/series?metric=loss/D&buckets=1000`)).body.buckets.find(
    (b: any) => b.start === from && b.end === to,
  );
  assert.ok(bucket, `a bucket ${from}–${to}`);
  assert.match(tip.lines[0]!, new RegExp(`mean .* · min .* · max .* \\(${bucket.count} pts\\)`));
  assert.ok(loss);
  await page.mouse.move(0, 0);
});

test(
  'smoothing draws TensorBoard’s debiased EMA of the drawn points, the raw curve stays visible',
  { skip },
  async () => {
    await page.locator('.chart-toolbar input[type=range]').fill('0.9');
    const fid = await until(async () => {
      const c = (await charts(page)).find((x) => x.key === 'val/fid');
      const s = c && dataset(c, 'smooth');
      return s && Math.abs(s.points[1]![1] - (0.9 * 0.1 * 100 + 0.1 * 95) / (1 - 0.81)) < 1e-9 ? c : null;
    }, 'smoothing 0.9');
    const raw = dataset(fid, 'line')!.points.map((p) => p[1]);
    let s = 0;
    const expected = raw.map((v, i) => {
      s = 0.9 * s + 0.1 * v;
      return s / (1 - 0.9 ** (i + 1));
    });
    dataset(fid, 'smooth')!.points.forEach(([, y], i) => assert.ok(Math.abs(y - expected[i]!) < 1e-9, `point ${i}`));
    assert.equal(dataset(fid, 'smooth')!.points[0]![1], raw[0], 'debiased: the first value is not pulled towards 0');
    await page.locator('.chart-toolbar input[type=range]').fill('0');
    await until(
      async () =>
        !dataset(
          (await charts(page)).find((x) => x.key === 'val/fid')!,
          'smooth',
        ),
      'smoothing off',
    );
  },
);

test(
  'dragging on a chart zooms every chart to that step range and re-queries finer data; double-click resets',
  { skip },
  async () => {
    const box = (await page.locator('.chart-card[data-chart="loss/D"] .chart-canvas').boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.45, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.55, y, { steps: 5 });
    await page.mouse.up();
    const zoomed = await until(async () => {
      const all = await charts(page);
      const loss = all.find((c) => c.key === 'loss/D');
      return loss && loss.xMax! - loss.xMin! < 600 && loss.sources[0]!.mode === 'raw' && !loss.loading ? all : null;
    }, 'the zoomed, raw loss/D');
    const loss = zoomed.find((c) => c.key === 'loss/D')!;
    const inRange = dataset(loss, 'line')!.points;
    assert.ok(
      inRange.every(([x]) => x >= loss.xMin! && x <= loss.xMax!),
      'only the zoomed range was fetched',
    );
    assert.ok(inRange.length > 50, `raw points in range: ${inRange.length}`);
    for (const c of zoomed.filter((x) => x.drawn && x.key !== 'val/fid' && x.key !== 'val/ssim')) {
      assert.equal(c.xMin, loss.xMin, `${c.key} shares the x range`);
      assert.equal(c.xMax, loss.xMax, `${c.key} shares the x range`);
    }
    await page.locator('.chart-card[data-chart="loss/D"] .chart-canvas').dblclick();
    await until(async () => {
      const c = (await charts(page)).find((x) => x.key === 'loss/D');
      return c && c.xMin === 0 && c.sources[0]!.mode === 'buckets' && !c.loading;
    }, 'the reset zoom');
  },
);

test('the log toggle puts one chart on a log y axis', { skip }, async () => {
  await page.locator('.chart-card[data-chart="loss/G_GAN"] .log-toggle input').check();
  const c = await until(async () => (await charts(page)).find((x) => x.key === 'loss/G_GAN' && x.log), 'log scale');
  assert.ok(dataset(c, 'line')!.points.every(([, y]) => y > 0));
  assert.equal((await charts(page)).find((x) => x.key === 'loss/D')!.log, false);
  await page.locator('.chart-card[data-chart="loss/G_GAN"] .log-toggle input').uncheck();
});

test('the x axis can show wall time or time since the run started', { skip }, async () => {
  await drawnChart(page, 'val/fid');
  await page.selectOption('.chart-toolbar select', 'relative');
  const rel = await until(async () => {
    const c = (await charts(page)).find((x) => x.key === 'val/fid');
    return c && dataset(c, 'line')!.points[1]![0] === 100 ? c : null;
  }, 'relative time');
  assert.deepEqual(
    dataset(rel, 'line')!
      .points.slice(0, 3)
      .map((p) => p[0]),
    [0, 100, 200],
  );
  await page.selectOption('.chart-toolbar select', 'wall');
  const wall = await until(async () => {
    const c = (await charts(page)).find((x) => x.key === 'val/fid');
    return c && dataset(c, 'line')!.points[0]![0] === WALL0 ? c : null;
  }, 'wall time');
  assert.ok(wall);
  await page.selectOption('.chart-toolbar select', 'step');
});

test(
  'the sample-grid slider reaches every validation epoch, the first included, with column labels',
  { skip },
  async () => {
    const latest = await until(() => page.evaluate(() => window.__ganwatch.samples()), 'samples');
    assert.deepEqual(latest.epochs, EPOCHS);
    assert.equal(latest.epoch, 50);
    const slider = page.locator('.samples-panel input[type=range]');
    await slider.focus();
    await page.keyboard.press('Home');
    const first = await page.evaluate(() => window.__ganwatch.samples()!);
    assert.equal(first.epoch, 0);
    const media = (await api(server, 'GET', `/api/v1/runs/${run}/media?kind=samples&epoch=0`)).body.media;
    assert.equal(first.images[0]!.src, media[0].url);
    const img = page.locator('.samples-panel img[data-epoch="0"]');
    await until(
      () => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0),
      'the epoch-0 image to load',
    );
    assert.deepEqual(await page.locator('.samples-panel .col-labels span').allTextContents(), [
      'input',
      'target',
      'encoded',
      'z1',
      'z2',
      'z3',
    ]);
    await page.keyboard.press('ArrowRight');
    assert.equal((await page.evaluate(() => window.__ganwatch.samples()!)).epoch, 5);
    await page.locator('.samples-panel .sample-open').click();
    assert.equal(await page.locator('dialog.lightbox[open] img').count(), 1, 'full-size view');
    await page.keyboard.press('Escape');
  },
);

test('the latent space is a 2-D scatter coloured by class, with a slider over the epochs', { skip }, async () => {
  const snap = await until(async () => {
    const s = await page.evaluate(() => window.__ganwatch.latent());
    return s && s.points > 0 && s.epoch === 5 ? s : null;
  }, 'the latent scatter');
  assert.equal(snap.points, 240);
  assert.deepEqual(snap.classes, [0, 1, 2, 3]);
  assert.equal(await page.locator('.latent-panel .legend li').count(), 4);
  await page.locator('.latent-panel input[type=range]').fill('0');
  const at0 = await until(async () => {
    const s = await page.evaluate(() => window.__ganwatch.latent());
    return s && s.epoch === 0 && s.points === 240 && !/Loading/.test(s.status) ? s : null;
  }, 'epoch 0');
  assert.match(at0.status, /^Epoch 0: 240 codes · t-SNE computed by the server/);
});

test('the config table lists the run’s hyperparameters sorted, with backend and device', { skip }, async () => {
  const keys = await page.locator('#sec-config tbody th').allTextContents();
  assert.deepEqual(keys, ['(backend)', '(device)', 'batch_size', 'lambda.cyc', 'lambda.latent', 'lr_d', 'lr_g']);
  assert.match(await page.locator('#sec-config').innerText(), /wasm/);
});

test('the control form sends a control to the trainer and lists it', { skip }, async () => {
  await page.selectOption('.control-form select[name=action]', 'set_clip');
  await page.locator('.control-form input[name=max_norm]').fill('2.5');
  await page.locator('.control-form button[type=submit]').click();
  const control = await until(
    async () =>
      (await api(server, 'GET', `/api/v1/runs/${run}/controls`)).body.controls.find(
        (c: any) => c.action === 'set_clip',
      ),
    'the control',
  );
  assert.deepEqual(control.args, { max_norm: 2.5 });
  await until(
    async () => (await page.locator(`.controls-table tr[data-control="${control.id}"]`).count()) === 1,
    'the control row',
  );
});

test(
  'every control has an accessible name, and the page fits 1024 px without sideways scrolling',
  { skip },
  async () => {
    const unnamed = await page.evaluate(() =>
      Array.from(document.querySelectorAll('input, select, textarea, button'))
        .filter((el) => {
          const e = el as HTMLInputElement;
          if (e.type === 'hidden' || e.closest('[hidden]')) return false;
          const labelled =
            (e.labels?.length ?? 0) > 0 || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.title;
          return !labelled && !(el.tagName === 'BUTTON' && el.textContent.trim());
        })
        .map((el) => el.outerHTML.slice(0, 120)),
    );
    assert.deepEqual(unnamed, []);
    await page.setViewportSize({ width: 1024, height: 2600 });
    await page.waitForTimeout(300);
    assert.ok(
      await page.evaluate(() => document.documentElement.scrollWidth <= 1024),
      'no horizontal page scroll at 1024 px',
    );
    await screenshot(page, 'web-run-page-1024');
    await page.setViewportSize({ width: 1280, height: 2600 });
  },
);

test(
  'when the server goes away a reconnecting banner shows; after it returns, live points flow again',
  { skip },
  async () => {
    await server.kill();
    const banner = page.locator('.banner');
    await until(
      async () => (await banner.isVisible()) && /Server gone: reconnecting/.test(await banner.innerText()),
      'the banner',
    );
    await screenshot(page, 'web-run-page-reconnecting');
    await server.restart();
    await until(
      async () => (await page.evaluate(() => window.__ganwatch.liveState())) === 'open',
      'the socket to reopen',
    );
    await drawnChart(page, 'val/fid');
    await pushPoints(server, run, [{ step: 2200, values: { 'val/fid': 41 } }]);
    await until(async () => {
      const c = (await charts(page)).find((x) => x.key === 'val/fid');
      return c && dataset(c, 'line')!.points.some(([x, y]) => x === 2200 && y === 41);
    }, 'a live point after the reconnect');
  },
);
