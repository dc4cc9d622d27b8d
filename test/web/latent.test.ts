// Specification of the latent-space scatter in a real Chromium against a real server: equal units on both axes (also
// when the plot changes size), axes that stay put between epochs of a similar extent and are fitted again when the
// extent changes by more than ×2, and a collapsed epoch said to be one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { LatentSnapshot } from '../../web/src/components/latent-panel.js';
import { clusters } from '../../harness/clusters.js';
import { api, type RunningServer } from '../../harness/server.js';
import { browserMissing, createRun, dashboardTests, screenshot, until } from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let run: string;
let page: Page;
let errors: string[];

/**
 * The same four classes every epoch, scaled: PCA draws them at the codes' scale, so each epoch's layout extent is
 * its factor times epoch 0's. 0.8 is similar to 1; 4 is ×5 larger; 3.6 similar to 4; 0.3 is ×12 smaller (and, a
 * tenth of the epoch before's spread, a collapse).
 */
const SCALES = [1, 0.8, 4, 3.6, 0.3];

dashboardTests({
  async seed(running) {
    server = running;
    run = await createRun(server, { name: 'latent-scatter' });
    const { codes, labels } = clusters(200, 8, 4, 3, 5);
    for (const [epoch, scale] of SCALES.entries()) {
      const rows = Array.from({ length: 200 }, (_, i) =>
        Array.from(codes.subarray(i * 8, i * 8 + 8), (v) => v * scale),
      );
      const res = await api(server, 'POST', `/api/v1/runs/${run}/latents`, {
        epoch,
        dim: 8,
        codes: rows,
        labels: Array.from(labels),
      });
      assert.equal(res.status, 201);
    }
    // Every epoch's PCA and t-SNE computed before the page asks, so each slider move draws at once.
    for (const epoch of SCALES.keys())
      for (const method of ['pca', 'tsne'])
        await until(
          async () =>
            (await api(server, 'GET', `/api/v1/runs/${run}/projections?epoch=${epoch}&method=${method}`)).status ===
            200,
          `${method} of epoch ${epoch}`,
        );
  },
  open: () => `/#/runs/${run}`,
  viewport: { width: 1280, height: 1200 },
  ready: (ui) => ({ page, errors } = ui),
});

const latent = (): Promise<LatentSnapshot | null> => page.evaluate(() => window.__ganwatch.latent());

/** The scatter once it shows `epoch` by `method` from the server. */
async function shown(epoch: number, method: string): Promise<LatentSnapshot> {
  return until(async () => {
    const s = await latent();
    return s && s.epoch === epoch && s.method === method && s.axes && /computed by the server/.test(s.status)
      ? s
      : null;
  }, `${method} of epoch ${epoch} drawn`);
}

async function showEpoch(epoch: number, method: string): Promise<LatentSnapshot> {
  await page.locator('.latent-panel input[type=range]').fill(String(epoch));
  return shown(epoch, method);
}

function assertEqualUnits(s: LatentSnapshot, what: string): void {
  const { x, y } = s.axes!.pxPerUnit;
  assert.ok(Math.abs(x - y) <= 0.005 * Math.max(x, y), `${what}: ${x} px per unit on x, ${y} on y`);
}

test('the scatter has equal pixels per unit on both axes, also when its plot area changes size', { skip }, async () => {
  await page.locator('.latent-panel').scrollIntoViewIfNeeded();
  const s = await shown(SCALES.length - 1, 'tsne');
  assertEqualUnits(s, 't-SNE');
  // Narrow the plot (as a smaller window would): Chart.js resizes the canvas at once, and the axes follow on the next
  // frame, so the test waits for the narrower scale and equal units together.
  await page.evaluate(() =>
    document.querySelector<HTMLElement>('.latent-canvas')!.style.setProperty('max-width', '300px'),
  );
  const narrowed = await until(async () => {
    const r = await latent();
    const narrower = r?.axes && r.axes.pxPerUnit.x < 0.99 * s.axes!.pxPerUnit.x;
    return narrower && Math.abs(r.axes!.pxPerUnit.x - r.axes!.pxPerUnit.y) <= 0.005 * r.axes!.pxPerUnit.x && r;
  }, 'equal units on both axes of the narrower plot');
  assertEqualUnits(narrowed, 't-SNE in a narrower plot');
  await page.evaluate(() => document.querySelector<HTMLElement>('.latent-canvas')!.style.removeProperty('max-width'));
  await until(async () => {
    const r = await latent();
    return r?.axes && Math.abs(r.axes.pxPerUnit.y - s.axes!.pxPerUnit.y) <= 0.005 * s.axes!.pxPerUnit.y;
  }, 'the scatter back to its width');
  assert.deepEqual(errors, []);
});

test(
  'the axes stay put between epochs of a similar extent and are fitted again after a ×2+ change',
  { skip },
  async () => {
    await page.locator('.latent-panel label', { hasText: 'PCA' }).click();
    const snaps: LatentSnapshot[] = [];
    for (const epoch of SCALES.keys()) {
      const s = await showEpoch(epoch, 'pca');
      assertEqualUnits(s, `PCA, epoch ${epoch}`);
      snaps.push(s);
    }
    const width = (s: LatentSnapshot): number => s.axes!.x[1] - s.axes!.x[0];
    assert.deepEqual(snaps[1]!.axes, snaps[0]!.axes, 'epoch 1 (×0.8) keeps epoch 0’s axes');
    assert.ok(width(snaps[2]!) > 3 * width(snaps[1]!), 'epoch 2 (×5) gets wider axes');
    assert.deepEqual(snaps[3]!.axes, snaps[2]!.axes, 'epoch 3 (×0.9) keeps epoch 2’s axes');
    assert.ok(width(snaps[4]!) < width(snaps[3]!) / 5, 'epoch 4 (×1/12) gets narrower axes');
    // Each epoch's fitted region (every point, with a margin) inside the axes it was drawn with.
    for (const [epoch, s] of snaps.entries()) {
      const b = s.bounds!;
      const slack = 1e-9 * width(s);
      const [x, y] = [s.axes!.x, s.axes!.y];
      assert.ok(
        b.x0 >= x[0] - slack && b.x1 <= x[1] + slack && b.y0 >= y[0] - slack && b.y1 <= y[1] + slack,
        `epoch ${epoch}: ${JSON.stringify(b)} inside ${JSON.stringify(s.axes)}`,
      );
    }
    await screenshot(page, 'latent-scatter-refit', { selector: '.latent-panel' });
  },
);

test('an epoch whose codes collapsed says so beside the scatter', { skip }, async () => {
  const s = await showEpoch(4, 'pca');
  assert.match(s.status, /the codes collapsed: their spread is 8% of epoch 3’s/);
  const before = await showEpoch(3, 'pca');
  assert.doesNotMatch(before.status, /collapsed/);
});
