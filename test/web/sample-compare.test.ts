// Samples side by side in Compare, in a real Chromium against a real server fed by three real training runs: two
// with the same dataset and seed (different generator lr) and one with another seed. One epoch slider drives every
// grid; the two matching runs can be swiped (mouse, touch, keys) and differenced (|A − B| computed in the browser,
// held here to the same figures computed from the stored PNGs); the third says why it cannot; a double click zooms
// every grid onto one cell, wheel, pinch and drag zoom and pan them together.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import type { MediaItem } from '../../protocol/index.js';
import { browserMissing, dashboardTests, screenshot, until } from '../../harness/browser.js';
import { api, ROOT, tempDir, type RunningServer } from '../../harness/server.js';
import { TINY_MODEL_ARGS } from '../../harness/trainer.js';
import type { SamplesSnapshot } from '../../web/src/components/samples-panel.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let page: Page;
let errors: string[];
const runs: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
const EPOCHS = [1, 2, 3];
const VAL_ROWS = 3;
const VAL_Z = 3;

/** Trains a tiny run to the end (3 epochs of 2 steps, a validation each) and returns its id. */
async function train(name: string, seed: number, extra: string[] = []): Promise<string> {
  const dir = tempDir('ganwatch-swipe-');
  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--conditions=ganwatch-source',
      join(ROOT, 'trainer/train.ts'),
      '--server',
      server.url,
      '--backend',
      'wasm',
      '--name',
      name,
      '--seed',
      String(seed),
      ...TINY_MODEL_ARGS,
      ...['--epochs', '3', '--steps-per-epoch', '2', '--val-every', '1'],
      ...['--val-count', String(VAL_ROWS), '--val-z', String(VAL_Z), '--latent-count', '0', '--patience', '0'],
      ...['--checkpoint-dir', join(dir, 'ck'), '--spool', join(dir, 'spool')],
      ...extra,
    ],
    { cwd: dir, env: { ...process.env, GANWATCH_TOKEN: '', GANWATCH_SERVER: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`trainer ${name} exited with ${code}:\n${out}`);
  const id = /^run ([a-z0-9]+): /m.exec(out)?.[1];
  if (!id) throw new Error(`trainer ${name} printed no run id:\n${out}`);
  return id;
}

async function media(run: string, epoch: number): Promise<MediaItem> {
  const res = await api<{ media: MediaItem[] }>(server, 'GET', `/api/v1/runs/${run}/media?kind=samples&epoch=${epoch}`);
  return res.body.media.at(-1)!;
}

async function pixels(item: MediaItem): Promise<PNG> {
  const res = await fetch(server.url + item.url);
  return PNG.sync.read(Buffer.from(await res.arrayBuffer()));
}

const samples = (): Promise<SamplesSnapshot> => page.evaluate(() => window.__ganwatch.samples()!);

dashboardTests({
  async seed(running) {
    server = running;
    runs.a = await train('seed3-lr-g-2e-4', 3);
    runs.b = await train('seed3-lr-g-2e-3', 3, ['--lr-g', '2e-3']);
    runs.c = await train('seed4', 4);
  },
  open: () => `/#/compare?runs=${runs.a},${runs.b},${runs.c}`,
  viewport: { width: 1280, height: 1500 },
  async ready(ui) {
    ({ page, errors } = ui);
    await page.locator('#cmp-samples').scrollIntoViewIfNeeded();
    await until(async () => (await samples())?.epochs.length === EPOCHS.length, 'the sample grids');
  },
});

test('the trainer fingerprints its grid inputs and z: equal for the same seed, not for another', { skip }, async () => {
  const [a, b, c] = await Promise.all([media(runs.a, 1), media(runs.b, 1), media(runs.c, 1)]);
  assert.equal(a.meta.inputs_id, b.meta.inputs_id);
  assert.equal(a.meta.z_id, b.meta.z_id);
  assert.notEqual(a.meta.inputs_id, c.meta.inputs_id);
  const last = await media(runs.a, 3);
  assert.deepEqual([last.meta.inputs_id, last.meta.z_id], [a.meta.inputs_id, a.meta.z_id], 'fixed across epochs');
});

test(
  'A and B share dataset and seed: swipe and difference are offered; with C they are off, and why',
  { skip },
  async () => {
    const s = await samples();
    assert.deepEqual([s.pair!.a, s.pair!.b], [runs.a, runs.b]);
    assert.equal(s.pair!.match!.ok, true);
    await page.getByLabel('Swipe A | B').check();
    assert.equal((await samples()).pair!.mode, 'swipe');
    await page.getByLabel('Run B').selectOption(runs.c);
    const off = await samples();
    assert.equal(off.pair!.mode, 'side', 'grids that cannot be overlaid go back to side by side');
    assert.equal(await page.getByLabel('Side by side').isChecked(), true);
    assert.equal(await page.locator('.sample-grids').isVisible(), true);
    assert.equal(off.pair!.match!.ok, false);
    assert.match((off.pair!.match as { reason: string }).reason, /different validation inputs/);
    assert.equal(await page.getByLabel('Swipe A | B').isDisabled(), true);
    assert.equal(await page.getByLabel('Difference |A − B|').isDisabled(), true);
    assert.match((await page.locator('.pair-reason').textContent())!, /Swipe and difference are off: .*inputs/);
    await page.getByLabel('Run B').selectOption(runs.b);
    assert.equal(await page.getByLabel('Swipe A | B').isDisabled(), false);
  },
);

test('one epoch slider drives every run’s grid and the swipe', { skip }, async () => {
  const slider = page.locator('.samples-panel input[type=range]');
  await slider.focus();
  await page.keyboard.press('Home');
  const first = await samples();
  assert.equal(first.epoch, 1);
  for (const r of Object.values(runs))
    assert.equal(first.images.find((i) => i.run === r)!.src, (await media(r, 1)).url, `run ${r} at epoch 1`);
  await page.getByLabel('Swipe A | B').check();
  const srcs = await page.locator('.swipe-view img').evaluateAll((els) => els.map((e) => e.getAttribute('src')));
  assert.deepEqual(srcs.sort(), [(await media(runs.a, 1)).url, (await media(runs.b, 1)).url].sort());
  await slider.focus();
  await page.keyboard.press('End');
  assert.equal((await samples()).epoch, 3);
  const later = await page.locator('.swipe-view img').evaluateAll((els) => els.map((e) => e.getAttribute('src')));
  assert.deepEqual(later.sort(), [(await media(runs.a, 3)).url, (await media(runs.b, 3)).url].sort());
  assert.equal(await page.locator('.sample-grids').isHidden(), true, 'the swipe replaces the side-by-side grids');
});

test('the swipe divider follows a mouse drag, a touch drag and the keys', { skip }, async () => {
  await until(async () => (await samples()).pair!.swipeLoaded, 'both swipe images');
  const view = (await page.locator('.swipe-view').boundingBox())!;
  const handle = (await page.locator('.swipe-handle').boundingBox())!;
  await page.mouse.move(handle.x + handle.width / 2, view.y + view.height / 2);
  await page.mouse.down();
  await page.mouse.move(view.x + view.width * 0.25, view.y + view.height / 2, { steps: 5 });
  await page.mouse.up();
  const dragged = (await samples()).pair!.divider;
  assert.ok(Math.abs(dragged - 0.25) < 0.01, `divider at ${dragged}`);
  assert.equal(await page.locator('.swipe-a').evaluate((el) => el.style.clipPath), 'inset(0px 75% 0px 0px)');

  // A finger: real touch events through the DevTools protocol, which Chromium turns into pointer events.
  const cdp = await page.context().newCDPSession(page);
  const y = view.y + view.height / 2;
  const at = (x: number) => [{ x, y, id: 1 }];
  const start = view.x + view.width * 0.25;
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(start) });
  for (const f of [0.4, 0.55, 0.7])
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(view.x + view.width * f) });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
  const touched = (await samples()).pair!.divider;
  assert.ok(Math.abs(touched - 0.7) < 0.01, `divider at ${touched} after the touch drag`);

  await page.locator('.swipe-handle').focus();
  await page.keyboard.press('Home');
  assert.equal((await samples()).pair!.divider, 0);
  await page.keyboard.press('ArrowRight');
  assert.ok(Math.abs((await samples()).pair!.divider - 0.02) < 1e-9);
  await page.locator('.swipe-handle').evaluate((el) => el.dispatchEvent(new KeyboardEvent('keydown', { key: 'End' })));
  assert.equal((await samples()).pair!.divider, 1);
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.down('Shift');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
  await page.keyboard.up('Shift');
  assert.ok(Math.abs((await samples()).pair!.divider - 0.58) < 1e-9);
  await screenshot(page, 'web-sample-swipe', { selector: '#cmp-samples' });
});

test(
  'the difference image is |A − B| of the stored PNGs: zero on the shared inputs, the figures exact',
  { skip },
  async () => {
    await page.getByLabel('Difference |A − B|').check();
    const epoch = (await samples()).epoch!;
    const [ia, ib] = [await media(runs.a, epoch), await media(runs.b, epoch)];
    const diff = await until(async () => {
      const d = (await samples()).pair!.diff;
      return d && d.a === ia.url && d.b === ib.url ? d : null;
    }, 'the difference image');
    const [pa, pb] = await Promise.all([pixels(ia), pixels(ib)]);
    let sum = 0;
    let max = 0;
    let changed = 0;
    let argmax = 0;
    const d = (o: number): number =>
      Math.max(...[0, 1, 2].map((k) => Math.abs(pa.data[o * 4 + k]! - pb.data[o * 4 + k]!)));
    for (let o = 0; o < pa.width * pa.height; o++) {
      const v = d(o);
      sum += v;
      if (v > max) [max, argmax] = [v, o];
      if (v > 0) changed++;
    }
    const n = pa.width * pa.height;
    assert.deepEqual(
      [diff.stats.width, diff.stats.height, diff.stats.max, diff.stats.changed, diff.stats.gain],
      [pa.width, pa.height, max, changed / n, 4],
    );
    assert.ok(Math.abs(diff.stats.mean - sum / n) < 1e-9, `${diff.stats.mean} vs ${sum / n}`);
    assert.ok(max > 0, 'a 10× generator lr changes what G makes');

    // Read back from the canvas: the input and target cells (same inputs in both runs) are black, the largest
    // difference is not.
    const { tile, padding, header } = (await samples()).cells!;
    const probe = (x: number, y: number): Promise<number[]> =>
      page
        .locator('.diff-canvas')
        .evaluate(
          (c: HTMLCanvasElement, [px, py]) => [...c.getContext('2d')!.getImageData(px!, py!, 1, 1).data],
          [x, y],
        );
    for (let row = 0; row < VAL_ROWS; row++)
      for (const column of [0, 1]) {
        const x = padding + column * (tile + padding) + tile / 2;
        const y = header + padding + row * (tile + padding) + tile / 2;
        assert.equal(d(y * pa.width + x), 0, `stored PNGs: row ${row} column ${column} equal`);
        assert.deepEqual(await probe(x, y), [0, 0, 0, 255], `canvas: row ${row} column ${column} black`);
      }
    const brightest = await probe(argmax % pa.width, Math.floor(argmax / pa.width));
    assert.ok(
      brightest.slice(0, 3).some((v) => v > 0),
      'the largest difference is drawn bright',
    );
    assert.match((await page.locator('.diff-caption').textContent())!, /×4/);

    await page.getByLabel('Amplify the difference').selectOption('16');
    const amplified = await until(async () => {
      const s = (await samples()).pair!.diff;
      return s?.stats.gain === 16 ? s : null;
    }, 'the ×16 difference');
    assert.equal(amplified.stats.mean, diff.stats.mean);
    await screenshot(page, 'web-sample-diff', { selector: '#cmp-samples' });
  },
);

test(
  'double-clicking a cell zooms every grid onto it; wheel, pinch and drag zoom and pan them together',
  { skip },
  async () => {
    await page.getByLabel('Side by side').check();
    assert.equal(await page.locator('.sample-grids').isVisible(), true);
    const cells = (await samples()).cells!;
    assert.deepEqual([cells.rows, cells.columns], [VAL_ROWS, 3 + VAL_Z]);
    const figA = page.locator(`.sample-figure[data-run="${runs.a}"] .sample-view`);
    await until(() => figA.locator('img').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0), 'img');
    const box = (await figA.boundingBox())!;
    // Row 2, column z1 (index 3): its centre in the displayed image.
    const cx = (cells.padding + 3 * (cells.tile + cells.padding) + cells.tile / 2) / cells.width;
    const cy = (cells.header + cells.padding + 1 * (cells.tile + cells.padding) + cells.tile / 2) / cells.height;
    await page.mouse.dblclick(box.x + cx * box.width, box.y + cy * box.height);
    const zoomed = await samples();
    assert.equal(zoomed.focus, 'row 2 · z1');
    assert.ok(Math.abs(zoomed.zoom!.scale - Math.min(cells.width, cells.height) / cells.tile) < 1e-9);

    /** Where each run's displayed image has its top-left corner and scale, relative to its view. */
    const placements = (): Promise<number[][]> =>
      page.locator('.sample-grids .sample-view').evaluateAll((views) =>
        views.map((v) => {
          const r = v.getBoundingClientRect();
          const i = v.querySelector('img')!.getBoundingClientRect();
          return [(i.left - r.left) / r.width, (i.top - r.top) / r.height, i.width / r.width].map(
            (x) => Math.round(x * 1e4) / 1e4,
          );
        }),
      );
    const linked = async (what: string): Promise<number[]> => {
      const all = await placements();
      assert.equal(all.length, 3);
      for (const p of all) assert.deepEqual(p, all[0], `${what}: every grid shows the same region`);
      return all[0]!;
    };
    const onCell = await linked('the cell');
    assert.ok(onCell[2]! > 1);
    // The cell's centre sits at the centre of every view.
    const s = zoomed.zoom!;
    assert.ok(Math.abs(s.x + 0.5 / s.scale - cx) < 1e-6 && Math.abs(s.y + 0.5 / s.scale - cy) < 1e-6);

    const figC = (await page.locator(`.sample-figure[data-run="${runs.c}"] .sample-view`).boundingBox())!;
    await page.mouse.move(figC.x + figC.width / 2, figC.y + figC.height / 2);
    await page.mouse.wheel(0, 200);
    const out = await until(async () => {
      const z = (await samples()).zoom!;
      return z.scale < s.scale ? z : null;
    }, 'the wheel to zoom out');
    const afterWheel = await linked('after the wheel on C');
    assert.notDeepEqual(afterWheel, onCell);

    const figB = (await page.locator(`.sample-figure[data-run="${runs.b}"] .sample-view`).boundingBox())!;
    await page.mouse.move(figB.x + figB.width / 2, figB.y + figB.height / 2);
    await page.mouse.down();
    await page.mouse.move(figB.x + figB.width / 2 + 40, figB.y + figB.height / 2 + 10, { steps: 4 });
    await page.mouse.up();
    const panned = (await samples()).zoom!;
    assert.equal(panned.scale, out.scale);
    assert.ok(panned.x < out.x, `dragging right shows what lies left: ${panned.x} < ${out.x}`);
    await linked('after the drag on B');

    await page.getByRole('button', { name: 'Show the whole grids' }).click();
    assert.deepEqual((await samples()).zoom, { scale: 1, x: 0, y: 0 });

    // Two fingers moving apart on C's grid (real touch events through the DevTools protocol): the grids zoom by the
    // ratio of the fingers' distances, 40 px → 120 px.
    const cdp = await page.context().newCDPSession(page);
    const [mx, my] = [figC.x + figC.width / 2, figC.y + figC.height / 2];
    const fingers = (half: number) => [
      { x: mx - half, y: my, id: 1 },
      { x: mx + half, y: my, id: 2 },
    ];
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: fingers(20) });
    for (const half of [30, 40, 50, 60])
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: fingers(half) });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await cdp.detach();
    const pinched = (await samples()).zoom!;
    assert.ok(Math.abs(pinched.scale - 3) < 0.05, `pinch zoomed ×${pinched.scale}`);
    await linked('after the pinch on C');
    await page.getByRole('button', { name: 'Show the whole grids' }).click();
    await page.mouse.dblclick(box.x + cx * box.width, box.y + cy * box.height);
    await page.getByLabel('Swipe A | B').check();
    await until(async () => (await samples()).pair!.swipeLoaded, 'both swipe images');
    await screenshot(page, 'web-sample-swipe-zoomed', { selector: '#cmp-samples' });
    assert.equal((await samples()).focus, 'row 2 · z1', 'the swipe keeps the zoom');
    assert.deepEqual(errors, []);
  },
);
