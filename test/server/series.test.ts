// Specification of series reads: raw when small, exact min/max/mean/last envelopes when large; a spike is never lost.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { mulberry32 } from '../support/streams.js';

let server: RunningServer;
before(async () => (server = await startServer()));
after(async () => server.stop());

async function push(id: string, points: Array<{ step: number; values: Record<string, unknown> }>): Promise<void> {
  for (let i = 0; i < points.length; i += 10_000) {
    const res = await api(server, 'POST', `/api/v1/runs/${id}/points`, { points: points.slice(i, i + 10_000) });
    assert.equal(res.status, 200);
  }
}

test('a range holding no more points than buckets comes back raw', async () => {
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'raw' })).body.id;
  await push(
    id,
    Array.from({ length: 100 }, (_, i) => ({ step: i * 3, values: { v: i } })),
  );
  const s = (await api(server, 'GET', `/api/v1/runs/${id}/series?metric=v&buckets=100`)).body;
  assert.equal(s.mode, 'raw');
  assert.equal(s.points.length, 100);
  const sub = (await api(server, 'GET', `/api/v1/runs/${id}/series?metric=v&buckets=5&from=30&to=42`)).body;
  assert.deepEqual(
    sub.points.map((p: any) => p[0]),
    [30, 33, 36, 39, 42],
  );
});

test('a single spike among a million points survives in the max of its bucket', async () => {
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'spike' })).body.id;
  const spikeAt = 654_321;
  const points = Array.from({ length: 1_000_000 }, (_, i) => ({
    step: i,
    values: { 'loss/D': i === spikeAt ? 50 : 0.5 + 0.1 * Math.sin(i / 500) },
  }));
  await push(id, points);
  const s = (await api(server, 'GET', `/api/v1/runs/${id}/series?metric=loss/D&buckets=1000`)).body;
  assert.equal(s.mode, 'buckets');
  assert.ok(s.buckets.length <= 1000 && s.buckets.length >= 500, `bucket count ${s.buckets.length}`);
  const holder = s.buckets.find((b: any) => b.start <= spikeAt && spikeAt <= b.end);
  assert.equal(holder.max, 50);
  assert.equal(s.buckets.filter((b: any) => b.max === 50).length, 1);
  assert.equal(
    s.buckets.reduce((n: number, b: any) => n + b.count, 0),
    1_000_000,
  );
  // Zooming in re-buckets finer and still shows it.
  const zoom = (await api(server, 'GET', `/api/v1/runs/${id}/series?metric=loss/D&buckets=50&from=650000&to=660000`))
    .body;
  assert.equal(Math.max(...zoom.buckets.map((b: any) => b.max)), 50);
});

test('bucket envelopes equal a brute-force computation on sparse random data and random ranges', async () => {
  const rand = mulberry32(7);
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'exact' })).body.id;
  const truth = new Map<number, number | string>();
  let step = 0;
  for (let i = 0; i < 60_000; i++) {
    step += 1 + Math.floor(rand() * (rand() < 0.01 ? 2000 : 5));
    const r = rand();
    truth.set(step, r < 0.002 ? 'NaN' : r < 0.003 ? 'Infinity' : Math.round((rand() * 200 - 100) * 1000) / 1000);
  }
  const points = [...truth].map(([s, v]) => ({ step: s, values: { m: v } }));
  await push(id, points);
  const steps = [...truth.keys()];
  for (let trial = 0; trial < 12; trial++) {
    const a = Math.floor(rand() * steps.at(-1)!);
    const b = a + Math.floor(rand() * (steps.at(-1)! - a));
    const n = 1 + Math.floor(rand() * 300);
    const s = (await api(server, 'GET', `/api/v1/runs/${id}/series?metric=m&buckets=${n}&from=${a}&to=${b}`)).body;
    const inRange = steps.filter((x) => x >= a && x <= b);
    if (s.mode === 'raw') {
      assert.ok(inRange.length <= n);
      assert.deepEqual(
        s.points.map((p: any) => p[0]),
        inRange,
      );
      continue;
    }
    assert.ok(s.buckets.length <= n, `${s.buckets.length} buckets for ${n}`);
    let covered = 0;
    for (const bucket of s.buckets) {
      const vals = inRange.filter((x) => x >= bucket.start && x <= bucket.end).map((x) => truth.get(x)!);
      const finite = vals.filter((v): v is number => typeof v === 'number');
      covered += vals.length;
      assert.equal(bucket.count, finite.length);
      assert.equal(bucket.nonfinite, vals.length - finite.length);
      assert.equal(bucket.min, finite.length ? Math.min(...finite) : null);
      assert.equal(bucket.max, finite.length ? Math.max(...finite) : null);
      if (finite.length) {
        assert.ok(Math.abs(bucket.mean - finite.reduce((x, y) => x + y, 0) / finite.length) < 1e-9);
        assert.equal(bucket.last, finite.at(-1));
      }
    }
    assert.equal(covered, inRange.length, 'buckets cover every point in the range exactly once');
  }
});

test('an inverted range is refused with a message naming it', async () => {
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'range' })).body.id;
  await push(id, [{ step: 1, values: { v: 1 } }]);
  const res = await api(server, 'GET', `/api/v1/runs/${id}/series?metric=v&from=10&to=5`);
  assert.equal(res.status, 400);
  assert.equal(res.body.code, 'GW_ERR_RANGE');
});
