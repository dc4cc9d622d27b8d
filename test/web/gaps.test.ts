// Specification of connection gaps on the dashboard, in a real Chromium against a real server: a trainer socket that
// closes for longer than the server's minimum gap and comes back leaves a gap marker, drawn on every chart of the run
// and counted in the run's header, live and after a reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { MIN_GAP_SECONDS } from '../../server/services/gaps.js';
import type { RunningServer } from '../../harness/server.js';
import {
  browserMissing,
  charts,
  createRun,
  dashboardTests,
  dataset,
  drawnChart,
  screenshot,
  until,
} from '../../harness/browser.js';
import { FrameClient } from '../support/ws.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let run: string;
let page: Page;
let errors: string[];

const points = (from: number, to: number): Array<{ step: number; values: Record<string, number> }> =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    step: from + i,
    values: { 'loss/D': 1 + Math.sin((from + i) / 9), D_real_acc: 0.6 },
  }));

/** A trainer session: connect, say running, push steps from..to and wait for the ack. */
async function trainerSession(from: number, to: number): Promise<FrameClient> {
  const ws = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/ingest?run=${run}`);
  ws.send({ type: 'status', seq: 0, status: 'running' });
  ws.send({ type: 'points', seq: 1, points: points(from, to) });
  await ws.next((f) => f.type === 'ack' && f.seq === 1);
  return ws;
}

/** The first trainer session: open while the page loads, closed once the page has drawn, to make the gap. */
let first: FrameClient;

dashboardTests({
  async seed(running) {
    server = running;
    run = await createRun(server, { name: 'gappy' });
    first = await trainerSession(1, 50);
  },
  open: () => `/#/runs/${run}`,
  viewport: { width: 1280, height: 1600 },
  async ready(ui) {
    ({ page, errors } = ui);
    await drawnChart(page, 'loss/D');
    // The trainer loses the server for longer than the minimum gap, then comes back and sends what it trained meanwhile.
    await first.close();
    await new Promise((r) => setTimeout(r, (MIN_GAP_SECONDS + 0.5) * 1000));
    await (await trainerSession(51, 100)).close();
  },
});

test(
  'a gap arriving live is drawn on every chart of the run at the last step before it, saying how long it was',
  { skip },
  async () => {
    for (const key of ['loss/D', 'D_real_acc']) {
      const gap = await until(async () => {
        const c = (await charts(page)).find((x) => x.key === key);
        return c ? dataset(c, 'gap') : undefined;
      }, `a gap marker on ${key}`);
      assert.deepEqual(
        gap.points.map(([x]) => x),
        [50],
        `${key}: the gap sits at step 50`,
      );
      assert.match(
        gap.texts![0]!,
        /^connection gap: \d+s without the server after step 50 \(.+–.+\); the steps trained meanwhile were resent$/,
      );
    }
    // Nothing was lost: the curve runs on through the gap.
    const loss = (await charts(page)).find((x) => x.key === 'loss/D')!;
    const steps = dataset(loss, 'line')!.points.map(([x]) => x);
    assert.equal(steps[steps.length - 1], 100);
    assert.deepEqual(errors, []);
  },
);

test('the run header counts the connection gaps and names the longest', { skip }, async () => {
  const cell = page.locator('.run-gaps');
  await until(async () => (await cell.count()) > 0, 'the gaps fact');
  assert.match(await cell.innerText(), /^1, longest \d+s$/);
  assert.match((await cell.getAttribute('title')) ?? '', /connection gap/);
  await screenshot(page, 'web-gaps-run-page');
});

test('after a reload the stored gap is drawn again, also on a wall-time x axis', { skip }, async () => {
  await page.reload();
  const loss = await drawnChart(page, 'loss/D');
  assert.deepEqual(
    dataset(loss, 'gap')?.points.map(([x]) => x),
    [50],
  );
  await page.getByLabel('X axis').selectOption('wall');
  const onWall = await until(async () => {
    const c = (await charts(page)).find((x) => x.key === 'loss/D');
    const gap = c ? dataset(c, 'gap') : undefined;
    return gap && gap.points[0]![0] > 1e9 ? gap : undefined;
  }, 'the gap on the wall-time axis');
  assert.equal(onWall.points.length, 1);
});
