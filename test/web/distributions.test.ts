// Specification of the distribution charts in a real Chromium against a real server: quantile bands over steps that
// match the histograms sent, D(real) and D(fake) paired on one chart in two colours, the histogram at the step chosen
// by the slider or by a click, the exact histogram of a step when the server merged records, non-finite values marked,
// and live records drawn as they are stored, also from a training script using the Node client.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { connect } from '../../clients/node/index.js';
import { histogramOf, type Histogram } from '../../protocol/histogram.js';
import type { DistributionChartSnapshot, DistributionsSnapshot } from '../../web/src/components/distributions-panel.js';
import { api, tempDir, type RunningServer } from '../../harness/server.js';
import { browserMissing, createRun, dashboardTests, screenshot, until } from '../../harness/browser.js';

const skip = browserMissing() ?? false;
const REAL = 'dist/D/real/scale0';
const FAKE = 'dist/D/fake/scale0';
const PAIR = 'dist/D/{real,fake}/scale0';
const LONELY = 'dist/D2/fake/scale1';
const MU = 'dist/E/mu';
const STEPS = 120;
/** More than the 400 records the page asks for: the server merges them. */
const MU_STEPS = 900;
const NAN_STEP = 60;

/**
 * The quantile function of a bell on [0, 1] (density 6x(1 − x), distribution function x²(3 − 2x)), in closed form, so
 * the quantiles the chart must draw are known without the code under test.
 */
const bell = (q: number): number => 0.5 - Math.sin(Math.asin(1 - 2 * q) / 3);
/** n values over [lo, hi] (both included), bell-shaped: their quantile q is lo + bell(q)·(hi − lo). */
function spread(lo: number, hi: number, n = 400): number[] {
  return Array.from({ length: n }, (_, i) => lo + (hi - lo) * bell(i / (n - 1)));
}
/** D(real) drifts up from [0.5, 0.7] to [0.8, 1.0]; D(fake) widens from [0.1, 0.3] to [0.1, 0.6]. */
const realRange = (s: number): [number, number] => [0.5 + (0.3 * s) / (STEPS - 1), 0.7 + (0.3 * s) / (STEPS - 1)];
const fakeRange = (s: number): [number, number] => [0.1, 0.3 + (0.3 * s) / (STEPS - 1)];

let server: RunningServer;
let run: string;
let page: Page;
let errors: string[];

type Sent = { name: string; step: number } & Histogram;
async function send(records: Sent[]): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    const res = await api(server, 'POST', `/api/v1/runs/${run}/distributions`, {
      distributions: records.slice(i, i + 1000),
    });
    assert.ok(res.status >= 200 && res.status < 300, `POST distributions: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

dashboardTests({
  async seed(running) {
    server = running;
    run = await createRun(server, { name: 'distributions' });
    const records: Sent[] = [];
    for (let s = 0; s < STEPS; s++) {
      const real = histogramOf(spread(...realRange(s)));
      if (s === NAN_STEP) real.nonFinite = 3;
      records.push({ name: REAL, step: s, ...real });
      records.push({ name: FAKE, step: s, ...histogramOf(spread(...fakeRange(s))) });
      records.push({ name: LONELY, step: s, ...histogramOf(spread(-1, 1)) });
    }
    for (let s = 0; s < MU_STEPS; s++) records.push({ name: MU, step: s, ...histogramOf(spread(-1 - s / 100, 1)) });
    await send(records);
  },
  open: () => `/#/runs/${run}`,
  viewport: { width: 1280, height: 1600 },
  ready: (ui) => ({ page, errors } = ui),
});

const snapshot = (): Promise<DistributionsSnapshot | null> => page.evaluate(() => window.__ganwatch.distributions());

async function chart(key: string, ok: (c: DistributionChartSnapshot) => boolean = () => true) {
  await page.locator(`.dist-card[data-dist="${key}"]`).scrollIntoViewIfNeeded();
  return until(async () => {
    const c = (await snapshot())?.charts.find((x) => x.key === key);
    return c && c.loaded && c.drawn && c.area && ok(c) ? c : null;
  }, `chart ${key}`);
}

const band = (c: DistributionChartSnapshot, series: string, role: string): Map<number, number> =>
  new Map(c.bands.find((b) => b.series === series && b.role === role)?.points ?? []);

test('names are listed and a real/fake pair shares one chart; a lone name has its own', { skip }, async () => {
  await page.locator('#sec-distributions').scrollIntoViewIfNeeded();
  const s = await until(async () => {
    const v = await snapshot();
    return v && v.names.length === 4 ? v : null;
  }, 'the names');
  assert.deepEqual([...s.names].sort(), [FAKE, REAL, LONELY, MU].sort());
  assert.deepEqual(
    s.charts.map((c) => [c.key, c.members]).sort(),
    [
      [LONELY, [LONELY]],
      [MU, [MU]],
      [PAIR, [REAL, FAKE]],
    ].sort(),
  );
  assert.equal(await page.locator(`.dist-card[data-dist="${PAIR}"] .legend li`).count(), 2);
});

test('the bands are the quantiles of the histograms sent, nested, for real and fake alike', { skip }, async () => {
  const c = await chart(PAIR);
  assert.equal(c.steps.length, STEPS);
  for (const [name, range] of [
    [REAL, realRange],
    [FAKE, fakeRange],
  ] as const) {
    const roles = ['min-max:lo', 'q10-q90:lo', 'q25-q75:lo', 'median', 'q25-q75:hi', 'q10-q90:hi', 'min-max:hi'];
    const qs = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];
    const lines = roles.map((r) => band(c, name, r));
    for (const l of lines) assert.equal(l.size, STEPS, `${name}: one point per step`);
    for (const step of [0, 37, NAN_STEP, STEPS - 1]) {
      const [lo, hi] = range(step);
      const bucket = (hi - lo) / 64;
      lines.forEach((l, i) => {
        const y = l.get(step)!;
        assert.ok(Math.abs(y - (lo + bell(qs[i]!) * (hi - lo))) <= bucket, `${name} ${roles[i]} at ${step}: ${y}`);
        if (i > 0) assert.ok(y >= lines[i - 1]!.get(step)!, `${name}: ${roles[i]} under ${roles[i - 1]} at ${step}`);
      });
    }
  }
  // The median of real rises, that of fake too but less: the two are told apart on one chart.
  assert.ok(band(c, REAL, 'median').get(STEPS - 1)! > band(c, REAL, 'median').get(0)! + 0.25);
  // The NaNs of one step are marked.
  assert.deepEqual([...band(c, REAL, 'nonfinite').keys()], [NAN_STEP]);
  assert.equal(band(c, FAKE, 'nonfinite').size, 0);
});

test('the histogram follows the slider and a click on the bands', { skip }, async () => {
  let c = await chart(PAIR);
  // Opens at the latest step.
  assert.equal(c.step, STEPS - 1);
  const card = page.locator(`.dist-card[data-dist="${PAIR}"]`);
  await card.locator('input[type=range]').fill(String(NAN_STEP));
  c = await chart(PAIR, (x) => x.step === NAN_STEP);
  assert.deepEqual(
    c.records.map((r) => [r.name, r.step, r.merged, r.nonFinite]),
    [
      [REAL, NAN_STEP, 1, 3],
      [FAKE, NAN_STEP, 1, 0],
    ],
  );
  assert.match((await card.locator('.dist-hist-note').textContent()) ?? '', /real: step 60, 400 values, 3 non-finite/);
  // Each outline is a density: it spans the histogram's range and encloses an area of 1.
  for (const { label, points } of c.histogram) {
    const [lo, hi] = label === 'real' ? realRange(NAN_STEP) : fakeRange(NAN_STEP);
    assert.ok(Math.abs(points[0]![0] - lo) < 1e-9 && Math.abs(points.at(-1)![0] - hi) < 1e-9, `${label} range`);
    let area = 0;
    for (let i = 1; i < points.length - 1; i++) area += (points[i + 1]![0] - points[i]![0]) * points[i]![1];
    assert.ok(Math.abs(area - 1) < 1e-9, `${label} area ${area}`);
  }
  // A click on the band chart at step 20 picks step 20.
  const a = c.area!;
  const x = a.left + ((20 - a.min) / (a.max - a.min)) * (a.right - a.left);
  await card.locator('.dist-bands canvas').click({ position: { x, y: (a.top + a.bottom) / 2 } });
  c = await chart(PAIR, (v) => v.step === 20);
  assert.deepEqual(
    c.records.map((r) => r.step),
    [20, 20],
  );
  assert.equal(await card.locator('input[type=range]').inputValue(), '20');
  await screenshot(page, 'distributions', { selector: `.dist-card[data-dist="${PAIR}"]` });
  assert.deepEqual(errors, []);
});

test(
  'a long distribution is drawn from merged records, and the histogram at a step is that step’s own',
  { skip },
  async () => {
    let c = await chart(MU);
    assert.ok(c.steps.length <= 400 && c.steps.length > 100, `${c.steps.length} records drawn`);
    assert.equal(c.steps.at(-1), MU_STEPS - 1);
    // The min band keeps the extremes of merged steps: the lowest value ever sent, −1 − 899/100.
    const min = Math.min(...band(c, MU, 'min-max:lo').values());
    assert.ok(Math.abs(min - (-1 - (MU_STEPS - 1) / 100)) < 1e-9, `min ${min}`);
    const step = c.steps[10]!;
    await page.locator(`.dist-card[data-dist="${MU}"] input[type=range]`).fill('10');
    c = await chart(MU, (v) => v.step === step && v.records[0]?.merged === 1);
    assert.deepEqual(
      c.records.map((r) => [r.step, r.fromStep, r.toStep]),
      [[step, step, step]],
    );
    const points = c.histogram[0]!.points;
    assert.ok(
      Math.abs(points[0]![0] - (-1 - step / 100)) < 1e-9,
      `the exact histogram of step ${step} starts at its min`,
    );
    assert.deepEqual(errors, []);
  },
);

test('records stored live are drawn, and the slider follows the latest step', { skip }, async () => {
  await chart(PAIR, (c) => c.step === 20);
  await page.locator(`.dist-card[data-dist="${PAIR}"] input[type=range]`).fill(String(STEPS - 1));
  await chart(PAIR, (c) => c.step === STEPS - 1);
  await send([
    { name: REAL, step: STEPS, ...histogramOf(spread(0.9, 1)) },
    { name: FAKE, step: STEPS, ...histogramOf(spread(0.0, 0.05)) },
  ]);
  const c = await chart(PAIR, (v) => v.steps.at(-1) === STEPS && v.step === STEPS);
  assert.ok(Math.abs(band(c, FAKE, 'median').get(STEPS)! - 0.025) < 0.001);
  assert.deepEqual(errors, []);
});

test(
  'a training script’s histograms and layer norms (Node client, ingest socket) appear live on an open page',
  { skip },
  async () => {
    const dir = tempDir();
    const trainer = await connect({ name: 'client-histograms', server: server.url, spool: join(dir, 'spool') });
    try {
      await page.goto(`${server.url}/#/runs/${trainer.id}`);
      // Loaded (after the live subscription was confirmed), so nothing the client sends next can be missed.
      await page.locator('#sec-distributions .distributions-panel[data-loaded]').waitFor();
      await page.locator('#sec-distributions .notice-empty').waitFor();
      for (let step = 0; step < 5; step++) {
        trainer.logHistogram('dist/D2/real/scale0', spread(0.6, 0.9), step);
        trainer.logHistogram('dist/D2/fake/scale0', spread(0.1, 0.4 + step / 10), step);
        trainer.log({ 'layer_grad/D2/conv1': 0.1, 'layer_grad/D2/conv2': 0.12, 'layer_grad/D2/conv3': 1e-6 }, step);
      }
      assert.equal(await trainer.flush(), true);
      const c = await chart('dist/D2/{real,fake}/scale0', (v) => v.steps.length === 5 && v.step === 4);
      assert.deepEqual(c.members, ['dist/D2/real/scale0', 'dist/D2/fake/scale0']);
      assert.ok(Math.abs(band(c, 'dist/D2/fake/scale0', 'min-max:hi').get(4)! - 0.8) < 1e-9);
      await page.locator('.heatmap-card').scrollIntoViewIfNeeded();
      const heat = await until(async () => {
        const h = (await snapshot())?.heatmap;
        return h && h.layers.length === 3 && h.geometry ? h : null;
      }, 'the heatmap of the client’s layers');
      assert.deepEqual(
        heat.flags.map((f) => [f.layer, f.kind]),
        [['layer_grad/D2/conv3', 'vanishing']],
      );
      assert.deepEqual(errors, []);
    } finally {
      await trainer.finish({ timeoutMs: 5000 });
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
