// The chart-group template (web/src/charts/_template-group.ts) as a specification of "how to add a chart group": a
// copy of the dashboard's sources gets a renamed copy of the template, registered in its CHART_GROUPS as the steps
// say; that bundle, built with scripts/build-web.ts into a temporary folder and served to a real Chromium in place of
// web/dist's, draws the copy's charts, derived one included, on a run page, in the copy's own section.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.js';
import { CHART_GROUPS } from '../../web/src/chart-groups.js';
import { ROOT } from '../../harness/server.js';
import { browserMissing, createRun, dashboardTests, dataset, drawnChart, pushSeries } from '../../harness/browser.js';

const skip = browserMissing() ?? false;
const TEMPLATE = join(ROOT, 'web/src/charts/_template-group.ts');
const COPY_ID = 'balance_copy';
const METRICS = ['D_real_acc', 'D_fake_acc', 'loss/D', 'loss/D2'];
const valueOf = (m: string, s: number): number =>
  m === 'D_real_acc' ? 0.8 : m === 'D_fake_acc' ? 0.6 : m === 'loss/D' ? 1 + s / 1000 : 2 - s / 1000;

let dir: string;
let page: Page;
let errors: string[];

/**
 * The template's steps 1–3 on a copy of web/src: the template copied under a new id and export name, imported by
 * chart-groups.ts and put first in CHART_GROUPS (before 'losses' and 'monitor', whose metrics it takes).
 */
function sourcesWithCopy(root: string): string {
  const src = join(root, 'web/src');
  mkdirSync(join(root, 'web'));
  cpSync(join(ROOT, 'web/src'), src, { recursive: true });
  // The sources import ../../protocol and packages: the copy sees the repository's.
  symlinkSync(join(ROOT, 'protocol'), join(root, 'protocol'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  const template = readFileSync(TEMPLATE, 'utf8');
  const exported = /export const ([A-Z_]+): ChartGroup/.exec(template)?.[1];
  assert.ok(exported, 'the template exports one ChartGroup constant');
  assert.match(template, /id: 'discriminator',/);
  writeFileSync(
    join(src, 'charts/balance-copy-group.ts'),
    template.replace(`const ${exported}:`, 'const BALANCE_COPY:').replace(/id: '[a-z_]+',/, `id: '${COPY_ID}',`),
  );
  const groups = readFileSync(join(src, 'chart-groups.ts'), 'utf8');
  const table = 'export const CHART_GROUPS: readonly ChartGroup[] = [\n';
  assert.ok(groups.includes(table));
  writeFileSync(
    join(src, 'chart-groups.ts'),
    `import { BALANCE_COPY } from './charts/balance-copy-group.js';\n` +
      groups.replace(table, `${table}  BALANCE_COPY,\n`),
  );
  return src;
}

let run = '';

dashboardTests({
  async seed(server) {
    dir = mkdtempSync(join(tmpdir(), 'ganwatch-web-copy-'));
    const built = await buildWeb({ src: sourcesWithCopy(dir), outdir: join(dir, 'web/dist') });
    assert.ok(built.js.bytes > 0);
    run = await createRun(server, { name: 'chart-group-copy' });
    await pushSeries(server, run, METRICS, 400, valueOf);
  },
  async ready({ server, browser }) {
    // This context's pages get the copy's bundle instead of web/dist's.
    await browser.context.route(/\/app\.js(\?.*)?$/, (route) => route.fulfill({ path: join(dir, 'web/dist/app.js') }));
    ({ page, errors } = await browser.open(`${server.url}/#/runs/${run}`));
  },
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the template is no live group: the dashboard does not register it', () => {
  assert.ok(!CHART_GROUPS.some((g) => g.id === 'discriminator'));
  assert.doesNotMatch(readFileSync(join(ROOT, 'web/src/chart-groups.ts'), 'utf8'), /import .*_template-group/);
});

test('a registered copy draws its metrics and its derived chart in its own section', { skip }, async () => {
  const section = page.locator(`section[data-group="${COPY_ID}"]`);
  await section.waitFor({ timeout: 60_000 });
  assert.match((await section.locator('h2, h3').first().textContent()) ?? '', /Discriminator balance/);
  for (const key of ['D_real_acc', 'D_fake_acc', 'loss/D2', 'derived:d_acc_gap']) {
    assert.equal(await section.locator(`.chart-card[data-chart="${key}"]`).count(), 1, `${key} in the copy's group`);
  }
  // What it does not match stays where it was.
  assert.equal(await page.locator(`section[data-group="losses"] .chart-card[data-chart="loss/D"]`).count(), 1);
  assert.equal(await page.locator(`section[data-group="monitor"]`).count(), 0, 'monitor lost its only metrics');
  // The derived chart is real_acc − fake_acc at every point: 0.8 − 0.6.
  const gap = await drawnChart(page, 'derived:d_acc_gap');
  const line = dataset(gap, 'line')!.points;
  assert.ok(line.length > 0);
  for (const [, y] of line) assert.ok(Math.abs(y - 0.2) < 1e-6, `gap ${y}`);
  assert.deepEqual(errors, []);
});
