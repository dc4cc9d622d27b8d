// Specification of writing and reading points over HTTP: upserts, non-finite values, limits, summaries, export.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';

let server: RunningServer;
before(async () => (server = await startServer()));
after(async () => server.stop());

const newRun = async (name = 'points'): Promise<string> =>
  (await api(server, 'POST', '/api/v1/runs', { name })).body.id;
const series = async (id: string, metric: string, q = '') =>
  (await api(server, 'GET', `/api/v1/runs/${id}/series?metric=${encodeURIComponent(metric)}${q}`)).body;

test('points are accepted, counted per value, and read back in step order', async () => {
  const id = await newRun();
  const res = await api(server, 'POST', `/api/v1/runs/${id}/points`, {
    points: [
      { step: 1, wall: 100.5, values: { 'loss/D': 0.5, D_real_acc: 0.9 } },
      { step: 0, wall: 100, values: { 'loss/D': 0.7 } },
    ],
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { accepted: 3 });
  assert.deepEqual((await series(id, 'loss/D')).points, [
    [0, 0.7, 100],
    [1, 0.5, 100.5],
  ]);
});

test('a retried batch is a no-op: the same points are stored once', async () => {
  const id = await newRun();
  const batch = { points: Array.from({ length: 50 }, (_, i) => ({ step: i, wall: 1, values: { a: i, b: -i } })) };
  await api(server, 'POST', `/api/v1/runs/${id}/points`, batch);
  await api(server, 'POST', `/api/v1/runs/${id}/points`, batch);
  const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics;
  assert.deepEqual(
    metrics.map((m: any) => [m.name, m.count]),
    [
      ['a', 50],
      ['b', 50],
    ],
  );
});

test('writing the same (run, metric, step) again replaces the value, as a resumed run does', async () => {
  const id = await newRun();
  await api(server, 'POST', `/api/v1/runs/${id}/points`, { points: [{ step: 5, values: { loss: 1 } }] });
  await api(server, 'POST', `/api/v1/runs/${id}/points`, { points: [{ step: 5, values: { loss: 2 } }] });
  const s = await series(id, 'loss');
  assert.equal(s.points.length, 1);
  assert.equal(s.points[0][1], 2);
});

test('NaN, Infinity and -Infinity are stored and come back as the same strings', async () => {
  const id = await newRun();
  await api(server, 'POST', `/api/v1/runs/${id}/points`, {
    points: [
      { step: 0, values: { x: 'NaN' } },
      { step: 1, values: { x: 'Infinity' } },
      { step: 2, values: { x: '-Infinity' } },
      { step: 3, values: { x: 1.25 } },
    ],
  });
  assert.deepEqual(
    (await series(id, 'x')).points.map((p: any) => p[1]),
    ['NaN', 'Infinity', '-Infinity', 1.25],
  );
  const [m] = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics;
  assert.deepEqual(
    { count: m.count, nonfinite: m.nonfinite, min: m.min, max: m.max },
    { count: 4, nonfinite: 3, min: 1.25, max: 1.25 },
  );
});

test('metric summaries give count, first and last step, last value, min and max', async () => {
  const id = await newRun();
  const points = Array.from({ length: 300 }, (_, i) => ({ step: 10 + i, values: { v: i === 150 ? 99 : i % 7 } }));
  await api(server, 'POST', `/api/v1/runs/${id}/points`, { points });
  const [m] = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics;
  assert.deepEqual(m, {
    name: 'v',
    count: 300,
    first_step: 10,
    last_step: 309,
    last_value: 299 % 7,
    min: 0,
    max: 99,
    nonfinite: 0,
  });
});

test('a run records its last step', async () => {
  const id = await newRun();
  await api(server, 'POST', `/api/v1/runs/${id}/points`, {
    points: [
      { step: 41, values: { v: 1 } },
      { step: 7, values: { v: 1 } },
    ],
  });
  assert.equal((await api(server, 'GET', `/api/v1/runs/${id}`)).body.last_step, 41);
});

test('10,000 points in one request are accepted; 10,001 are refused and nothing is stored', async () => {
  const id = await newRun();
  const ok = { points: Array.from({ length: 10_000 }, (_, i) => ({ step: i, values: { v: i } })) };
  assert.equal((await api(server, 'POST', `/api/v1/runs/${id}/points`, ok)).body.accepted, 10_000);
  const tooMany = { points: Array.from({ length: 10_001 }, (_, i) => ({ step: 20_000 + i, values: { w: i } })) };
  const res = await api(server, 'POST', `/api/v1/runs/${id}/points`, tooMany);
  assert.equal(res.status, 400);
  assert.match(res.body.message, /body\/points/);
  assert.deepEqual(
    (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics.map((m: any) => m.name),
    ['v'],
  );
});

test('a body over 4 MiB is refused with 413', async () => {
  const id = await newRun();
  const big = { points: [{ step: 0, values: { v: 1 } }], pad: 'x'.repeat(4 * 1024 * 1024) };
  const res = await api(server, 'POST', `/api/v1/runs/${id}/points`, big);
  assert.equal(res.status, 413);
  assert.equal(res.body.code, 'GW_ERR_BODY_TOO_LARGE');
});

test('export streams every point as CSV and as JSON', async () => {
  const id = await newRun();
  await api(server, 'POST', `/api/v1/runs/${id}/points`, {
    points: Array.from({ length: 12_000 }, (_, i) => ({
      step: i,
      wall: 5,
      values: { a: i, b: i === 3 ? 'NaN' : 0 },
    })).slice(0, 10_000),
  });
  const csv = await (await fetch(`${server.url}/api/v1/runs/${id}/export?format=csv`)).text();
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'metric,step,value,wall');
  assert.equal(lines.length, 1 + 20_000);
  assert.ok(lines.includes('b,3,NaN,5'));
  const json = await (await fetch(`${server.url}/api/v1/runs/${id}/export?format=json`)).json();
  assert.equal(json.points.length, 20_000);
  assert.deepEqual(json.points[0], { metric: 'a', step: 0, value: 0, wall: 5 });
});

test('a series of a metric the run does not have is a 404 naming the metric', async () => {
  const id = await newRun();
  const res = await api(server, 'GET', `/api/v1/runs/${id}/series?metric=nope`);
  assert.equal(res.status, 404);
  assert.equal(res.body.code, 'GW_ERR_METRIC_NOT_FOUND');
});
