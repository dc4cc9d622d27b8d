// Specification of the per-layer heatmap in a real Chromium against a real server: `layer_grad/<net>/<layer>` points
// become one row per layer, a layer 100× below its net's median layer is marked vanishing and drawn at the dark end of
// the colour scale, one that blows up is marked exploding and drawn at the bright end, and live points of a new layer
// add its row. Also the pure part (binning and flagging) in Node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { SeriesResponse } from '../../protocol/index.js';
import { flagLayers, layerMatrix } from '../../web/src/charts/layer-norms.js';
import type { HeatmapSnapshot } from '../../web/src/components/distributions-panel.js';
import type { RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  createRun,
  dashboardTests,
  pushPoints,
  pushSeries,
  screenshot,
  until,
} from '../../harness/browser.js';

const skip = browserMissing() ?? false;
const STEPS = 300;
const G = ['down1', 'down2', 'down3', 'down4', 'up1', 'up2'].map((l) => `layer_grad/G/${l}`);
const D = ['conv1', 'conv2', 'conv3', 'conv4'].map((l) => `layer_grad/D/${l}`);
const VANISHING = 'layer_grad/G/down4';
const EXPLODING = 'layer_grad/D/conv2';
const EXPLODES_AT = 200;

/** Healthy layers near 1e-2 (G) and 1e-1 (D), wobbling by ±20 %; one G layer at 1e-7; one D layer ×1e4 after step 200. */
function norm(metric: string, step: number): number {
  const wobble = 1 + 0.2 * Math.sin(step / 7 + metric.length);
  if (metric === VANISHING) return 1e-7 * wobble;
  const base = metric.startsWith('layer_grad/G/') ? 1e-2 : 1e-1;
  if (metric === EXPLODING && step >= EXPLODES_AT) return base * 1e4 * wobble;
  return base * wobble;
}

let server: RunningServer;
let run: string;
let page: Page;
let errors: string[];

dashboardTests({
  async seed(running) {
    server = running;
    run = await createRun(server, { name: 'layer-heatmap' });
    await pushSeries(server, run, [...G, ...D, 'loss/D'], STEPS, (m, s) => (m === 'loss/D' ? 1 : norm(m, s)));
  },
  open: () => `/#/runs/${run}`,
  viewport: { width: 1280, height: 1400 },
  // The map in the dark theme: viridis reads on both, and the labels and axis take the theme's colours.
  context: { colorScheme: 'dark' },
  ready: (ui) => ({ page, errors } = ui),
});

const heatmap = (): Promise<HeatmapSnapshot | null> =>
  page.evaluate(() => window.__ganwatch.distributions()?.heatmap ?? null);

async function loaded(atLeast = 1): Promise<HeatmapSnapshot> {
  return until(async () => {
    const s = await heatmap();
    return s && s.loads >= atLeast && s.geometry ? s : null;
  }, `heatmap load ${atLeast}`);
}

/** The colour drawn at (x, y) CSS pixels of the heatmap's canvas. */
function pixel(x: number, y: number): Promise<[number, number, number]> {
  return page.evaluate(
    ([px, py]) => {
      const c = document.querySelector<HTMLCanvasElement>('.heatmap-canvas')!;
      const k = c.width / c.getBoundingClientRect().width;
      const d = c.getContext('2d')!.getImageData(Math.floor(px * k), Math.floor(py * k), 1, 1).data;
      return [d[0]!, d[1]!, d[2]!] as [number, number, number];
    },
    [x, y] as const,
  );
}

/** Viridis runs from dark purple (68, 1, 84) to bright yellow (253, 231, 37): brightness says where on the scale. */
const brightness = ([r, g, b]: [number, number, number]): number => 0.299 * r + 0.587 * g + 0.114 * b;

test('binning and flags in Node: one vanishing and one exploding layer, the rest healthy', () => {
  const series = new Map<string, SeriesResponse>();
  for (const m of [...G, ...D])
    series.set(m, {
      metric: m,
      mode: 'raw',
      points: Array.from({ length: STEPS }, (_, s) => [s, norm(m, s), s] as [number, number, number]),
    });
  const matrix = layerMatrix(series, 100);
  assert.equal(matrix.columns.length, 100);
  assert.deepEqual(matrix.columns[0], [0, 2]);
  assert.deepEqual(matrix.columns.at(-1), [297, 299]);
  assert.deepEqual(matrix.layers.slice(0, 4), D, 'nets sorted: D before G');
  const flags = flagLayers(matrix);
  assert.deepEqual(
    flags.map((f) => [f.layer, f.kind]),
    [
      [EXPLODING, 'exploding'],
      [VANISHING, 'vanishing'],
    ],
  );
  const exploding = flags[0]!;
  assert.ok(exploding.step >= EXPLODES_AT - 3 && exploding.step <= EXPLODES_AT, `exploded at ${exploding.step}`);
  assert.ok(exploding.ratio > 1e3, `ratio ${exploding.ratio}`);
  assert.ok(flags[1]!.ratio < 1e-4, `vanishing ratio ${flags[1]!.ratio}`);
  // A NaN is exploding too, from its step on.
  const nan = new Map(series);
  nan.set('layer_grad/G/up1', { metric: 'layer_grad/G/up1', mode: 'raw', points: [[150, 'NaN', 150]] });
  const withNan = flagLayers(layerMatrix(nan, 100));
  assert.deepEqual(withNan.find((f) => f.layer === 'layer_grad/G/up1')?.kind, 'exploding');
});

test('the heatmap draws one row per layer and marks the vanishing and the exploding layer', { skip }, async () => {
  await page.locator('#sec-distributions').scrollIntoViewIfNeeded();
  const s = await loaded();
  assert.equal(s.kind, 'grad');
  assert.deepEqual(s.layers, [...D, ...G]);
  assert.deepEqual(
    s.flags.map((f) => [f.layer, f.kind]),
    [
      [EXPLODING, 'exploding'],
      [VANISHING, 'vanishing'],
    ],
  );
  // The list under the map names them.
  assert.match(
    (await page.locator(`.layer-flag.vanishing[data-layer="${VANISHING}"]`).textContent()) ?? '',
    /vanishing: 1\/\S+ of the median layer of G/,
  );
  assert.equal(await page.locator(`.layer-flag.exploding[data-layer="${EXPLODING}"]`).count(), 1);
  // loss/D is no layer: not a row.
  assert.ok(!s.layers.includes('loss/D'));

  // What is drawn: the vanishing row at the dark end of the scale, the exploding row's last steps at the bright end,
  // a healthy row in between; before step 200 the exploding layer looks like its healthy neighbours.
  const g = s.geometry!;
  const row = (layer: string): number => g.rows.find((r) => r.layer === layer)!.y;
  const early = g.plot.left + 2;
  const late = g.plot.right - 2;
  const vanishing = brightness(await pixel(late, row(VANISHING)));
  const exploding = brightness(await pixel(late, row(EXPLODING)));
  const explodingEarly = brightness(await pixel(early, row(EXPLODING)));
  const healthyD = brightness(await pixel(late, row('layer_grad/D/conv3')));
  const healthyG = brightness(await pixel(late, row('layer_grad/G/down2')));
  assert.ok(vanishing < 45, `vanishing row brightness ${vanishing}`);
  assert.ok(exploding > 200, `exploding row brightness ${exploding}`);
  for (const [what, b] of [
    ['healthy D', healthyD],
    ['healthy G', healthyG],
    ['exploding D before it exploded', explodingEarly],
  ] as const)
    assert.ok(
      b > vanishing + 30 && b < exploding - 30,
      `${what}: ${b} (vanishing ${vanishing}, exploding ${exploding})`,
    );
  assert.ok(Math.abs(explodingEarly - healthyD) < 25, `before step 200: ${explodingEarly} vs ${healthyD}`);
  await screenshot(page, 'layer-heatmap', { selector: '.heatmap-card' });
  assert.deepEqual(errors, []);
});

test('live points of a new layer add its row', { skip }, async () => {
  const before = await loaded();
  await pushPoints(server, run, [{ step: STEPS, values: { 'layer_grad/G/up3': 1e-2, [VANISHING]: 1e-7 } }]);
  const after = await until(async () => {
    const s = await heatmap();
    return s && s.loads > before.loads && s.layers.includes('layer_grad/G/up3') ? s : null;
  }, 'the new layer');
  assert.equal(after.layers.length, before.layers.length + 1);
  assert.deepEqual(errors, []);
});
