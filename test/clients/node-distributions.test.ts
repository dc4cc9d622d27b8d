// run.logHistogram and run.logDistribution as a training script uses them: histograms reach the server exactly as
// bucketed, go through the spool like points (a server down while they are logged loses none), and input the
// server would refuse is refused at the call.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type GanwatchError, type Run } from '../../clients/node/index.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { histogramOf, type DistributionNamesResponse, type DistributionsResponse } from '../../protocol/index.js';

const TOKEN = 'hist-token';
let server: RunningServer;
const dir = tempDir('ganwatch-hist-');
const runs: Run[] = [];

before(async () => {
  server = await startServer({ token: TOKEN });
});
after(async () => {
  for (const r of runs) await r.close({ timeoutMs: 100 });
  await server.stop();
});

async function open(name: string): Promise<Run> {
  const run = await connect({ name, server: server.url, token: TOKEN, spool: join(dir, 'spool') });
  runs.push(run);
  return run;
}

const get = <T>(run: Run, path: string) =>
  api<T>(server, 'GET', `/api/v1/runs/${run.id}/distributions${path}`, undefined, TOKEN);

test('logHistogram buckets the values and the server returns them as sent; logDistribution takes ready buckets', async () => {
  const run = await open('histograms');
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
  run.logHistogram('D/real', values, 10, { buckets: 16 });
  run.logHistogram('D/real', [1, 2, Number.NaN, Infinity], 11);
  run.logDistribution({ name: 'enc/mu', step: 5, edges: [-1, 0, 2], counts: [3, 4] });
  run.log({ loss: 1 }, 11);
  assert.equal(await run.finish(), true);

  const real = await get<DistributionsResponse>(run, '?name=D/real');
  assert.equal(real.status, 200, JSON.stringify(real.body));
  assert.deepEqual([real.body.stored, real.body.downsampled], [2, false]);
  const expected = histogramOf(values, 16);
  const first = real.body.records[0]!;
  assert.deepEqual([first.step, first.merged, first.edges, first.counts], [10, 1, expected.edges, expected.counts]);
  const second = real.body.records[1]!;
  const expectedSecond = histogramOf([1, 2], 64);
  assert.deepEqual([second.edges, second.counts, second.nonFinite], [expectedSecond.edges, expectedSecond.counts, 2]);
  assert.equal(second.counts.length, 64);

  const names = await get<DistributionNamesResponse>(run, '/names');
  assert.deepEqual(names.body.names, [
    { name: 'D/real', records: 2, firstStep: 10, lastStep: 11 },
    { name: 'enc/mu', records: 1, firstStep: 5, lastStep: 5 },
  ]);
});

test('histograms logged while the server is down are spooled and all arrive once it is back', async () => {
  const run = await open('outage');
  run.logHistogram('w', [0, 1, 2], 0);
  assert.equal(await run.flush(10_000), true);
  await server.kill();
  for (let step = 1; step <= 300; step++) run.logHistogram('w', [step, step * 2, step * 3], step, { buckets: 4 });
  assert.equal(run.stats().connected, false);
  await server.restart();
  assert.equal(await run.flush(20_000), true);
  const read = await get<DistributionsResponse>(run, '?name=w&max=10000');
  assert.equal(read.body.stored, 301);
  assert.deepEqual(
    read.body.records.map((r) => r.step),
    Array.from({ length: 301 }, (_, i) => i),
  );
  assert.deepEqual(read.body.records[300]!.edges, [300, 450, 600, 750, 900]);
});

test('input the server would refuse is refused at the call, with GW_ERR_MONITOR_INPUT', async () => {
  const run = await open('refused');
  const refused = (fn: () => void, pattern: RegExp) =>
    assert.throws(fn, (err: GanwatchError) => err.code === 'GW_ERR_MONITOR_INPUT' && pattern.test(err.message));
  refused(() => run.logHistogram('bad name!', [1], 0), /must match/);
  refused(() => run.logHistogram('ok', [1], -1), /step/);
  refused(() => run.logHistogram('ok', [1], 0, { buckets: 0 }), /buckets/);
  refused(() => run.logHistogram('ok', [1, 'x' as unknown as number], 0), /value 1 is not a number/);
  refused(() => run.logDistribution({ name: 'ok', step: 0, edges: [0, 1], counts: [1, 2] }), /edges/);
  refused(() => run.logDistribution({ name: 'ok', step: 0, edges: [1, 0], counts: [1] }), /edge 1 is smaller/);
  assert.equal(await run.finish(), true);
  const names = await get<DistributionNamesResponse>(run, '/names');
  assert.deepEqual(names.body.names, []);
});
