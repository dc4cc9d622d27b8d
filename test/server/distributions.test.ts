// Specification of distributions over HTTP and the ingest socket: a bad record is a 400 naming its index and what is
// wrong, with nothing stored; records round-trip exactly; a long range is downsampled keeping min, max and totals;
// a DistributionsFrame is acked after its commit like points; browsers are told; the run export carries them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import {
  histogramOf,
  histogramTotal,
  type Distribution,
  type DistributionNamesResponse,
  type DistributionsResponse,
} from '../../protocol/index.js';
import { FrameClient } from '../support/ws.js';

let server: RunningServer;
before(async () => (server = await startServer()));
after(async () => server.stop());

const newRun = async (): Promise<string> => (await api(server, 'POST', '/api/v1/runs', { name: 'dist' })).body.id;
const post = (id: string, distributions: unknown[]) =>
  api(server, 'POST', `/api/v1/runs/${id}/distributions`, { distributions });
const read = (id: string, query: string) =>
  api<DistributionsResponse>(server, 'GET', `/api/v1/runs/${id}/distributions?${query}`);
const names = async (id: string) =>
  (await api<DistributionNamesResponse>(server, 'GET', `/api/v1/runs/${id}/distributions/names`)).body.names;

function record(name: string, step: number, spike = false): Distribution {
  const values = Array.from({ length: 100 }, (_, i) => Math.cos(i + step) * (1 + step / 500));
  if (spike) values.push(-50);
  return { name, step, wall: 1.7e9 + step, ...histogramOf(values, 64) };
}

test('a record whose edges and counts do not fit is a 400 naming its index and the problem, and nothing is stored', async () => {
  const id = await newRun();
  const good = record('D/real', 1);
  const cases: Array<[unknown, number, RegExp]> = [
    [{ name: 'D/real', step: 2, edges: [0, 1, 2], counts: [1] }, 1, /3 edges for 1 counts/],
    [{ name: 'D/real', step: 2, edges: [0, 2, 1], counts: [1, 1] }, 1, /edge 2 is smaller than edge 1/],
    [{ name: 'D/real', step: 2, edges: [0, 0, 1], counts: [1, 1] }, 1, /bucket 0 has zero width/],
    [{ name: 'D/real', step: 2, edges: [0, 1], counts: [] }, 1, /edges without counts/],
  ];
  for (const [bad, index, problem] of cases) {
    const res = await post(id, [good, bad]);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 'GW_ERR_DISTRIBUTION_SHAPE');
    assert.match(res.body.message, new RegExp(`^Distribution ${index} \\('D/real' at step 2\\) `));
    assert.match(res.body.message, problem);
  }
  // What the schema refuses: the field is named.
  for (const [bad, field] of [
    [{ name: 'bad name', step: 0, edges: [0, 1], counts: [1] }, /name/],
    [{ name: 'a', step: -1, edges: [0, 1], counts: [1] }, /step/],
    [{ name: 'a', step: 0, edges: [0, 1], counts: [1.5] }, /counts/],
    [{ name: 'a', step: 0, edges: [0, 1], counts: [-1] }, /counts/],
    [{ name: 'a', step: 0, edges: new Array(514).fill(0), counts: new Array(513).fill(0) }, /edges|counts/],
    [{ name: 'a', step: 0, edges: [0, 1], counts: [1], extra: 1 }, /extra|additional/],
  ] as const) {
    const res = await post(id, [good, bad]);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 'GW_ERR_VALIDATION');
    assert.match(res.body.message, field);
  }
  assert.equal((await post(id, [])).status, 400);
  assert.deepEqual(await names(id), []);
  assert.equal(
    (await api(server, 'POST', '/api/v1/runs/nosuchrun/distributions', { distributions: [good] })).status,
    404,
  );
});

test('records round-trip exactly, a range is inclusive, and the names list what the run has', async () => {
  const id = await newRun();
  const sent = [
    record('D/real', 0),
    record('D/real', 1),
    record('D/fake', 1),
    { ...record('D/real', 2), nonFinite: 3 },
  ];
  assert.deepEqual((await post(id, sent)).body, { accepted: 4 });
  const all = await read(id, 'name=D/real');
  assert.equal(all.status, 200);
  assert.deepEqual(
    all.body.records.map((r) => ({
      name: 'D/real',
      step: r.step,
      wall: r.wall,
      edges: r.edges,
      counts: r.counts,
      nonFinite: r.nonFinite,
    })),
    sent.filter((d) => d.name === 'D/real').map((d) => ({ ...d, nonFinite: d.nonFinite ?? 0 })),
  );
  assert.deepEqual(
    (await read(id, 'name=D/real&from=1&to=2')).body.records.map((r) => r.step),
    [1, 2],
  );
  assert.deepEqual(await names(id), [
    { name: 'D/fake', records: 1, firstStep: 1, lastStep: 1 },
    { name: 'D/real', records: 3, firstStep: 0, lastStep: 2 },
  ]);
  assert.deepEqual((await read(id, 'name=nothing')).body, {
    name: 'nothing',
    stored: 0,
    downsampled: false,
    records: [],
  });
  const backwards = await read(id, 'name=D/real&from=5&to=1');
  assert.deepEqual([backwards.status, (backwards.body as unknown as { code: string }).code], [400, 'GW_ERR_RANGE']);
  assert.equal((await read(id, 'name=D/real&max=0')).status, 400);
  assert.equal((await read(id, '')).status, 400);
});

test('a long range comes back as at most max records that keep the extremes and every total', async () => {
  const id = await newRun();
  const all = Array.from({ length: 2000 }, (_, s) => record('enc/mu', s, s === 1234));
  for (let i = 0; i < all.length; i += 500) assert.equal((await post(id, all.slice(i, i + 500))).status, 200);
  const res = (await read(id, 'name=enc/mu&max=50')).body;
  assert.deepEqual([res.stored, res.downsampled, res.records.length], [2000, true, 50]);
  assert.equal(
    res.records.reduce((n, r) => n + histogramTotal(r), 0),
    all.reduce((n, d) => n + histogramTotal({ ...d, nonFinite: 0 }), 0),
  );
  for (const r of res.records) {
    const parts = all.filter((d) => d.step >= r.fromStep && d.step <= r.toStep);
    assert.equal(r.merged, parts.length);
    assert.equal(r.edges[0], Math.min(...parts.map((d) => d.edges[0]!)));
    assert.equal(r.edges.at(-1), Math.max(...parts.map((d) => d.edges.at(-1)!)));
  }
  const spike = res.records.find((r) => r.fromStep <= 1234 && r.toStep >= 1234)!;
  assert.deepEqual([spike.edges[0], spike.counts[0]], [-50, 1]);
  // The default max is 500; a range inside is not merged.
  assert.equal((await read(id, 'name=enc/mu')).body.records.length, 500);
  assert.equal((await read(id, 'name=enc/mu&from=1000&to=1499')).body.downsampled, false);
});

test('a distributions frame on the ingest socket is acked after its commit; browsers are told the name and step', async () => {
  const id = await newRun();
  const live = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/live`);
  live.send({ type: 'subscribe', runs: [id] });
  await live.next((f) => f.type === 'subscribed');
  const ws = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/ingest?run=${id}`);
  ws.send({ type: 'points', seq: 0, points: [{ step: 3, values: { loss: 1 } }] });
  ws.send({ type: 'distributions', seq: 1, distributions: [record('w', 2), record('w', 3), record('b', 3)] });
  const ack = await ws.next((f) => f.type === 'ack' && f.seq === 1);
  assert.deepEqual(ack, { type: 'ack', seq: 1, accepted: 3 });
  assert.deepEqual(
    ws.frames.filter((f) => f.type === 'ack').map((f) => f.seq),
    [0, 1],
  );
  assert.equal((await read(id, 'name=w')).body.stored, 2);
  assert.deepEqual(await live.next((f) => f.type === 'distribution' && f.name === 'w'), {
    type: 'distribution',
    run: id,
    name: 'w',
    step: 3,
  });

  // A bad record: an error frame with the seq and the record's index, nothing stored, the socket stays open.
  ws.send({
    type: 'distributions',
    seq: 2,
    distributions: [record('w', 9), { name: 'w', step: 10, edges: [1, 0], counts: [1] }],
  });
  const err = await ws.next((f) => f.type === 'error' && f.seq === 2);
  assert.equal(err.code, 'GW_ERR_DISTRIBUTION_SHAPE');
  assert.match(err.message, /^Distribution 1 \('w' at step 10\) edge 1 is smaller than edge 0/);
  ws.send({ type: 'distributions', seq: 3, distributions: [{ name: 'w', step: 11, counts: [1] }] });
  assert.equal((await ws.next((f) => f.type === 'error' && f.seq === 3)).code, 'GW_ERR_FRAME_INVALID');
  ws.send({ type: 'distributions', seq: 4, distributions: [record('w', 4)] });
  await ws.next((f) => f.type === 'ack' && f.seq === 4);
  assert.deepEqual(
    (await read(id, 'name=w')).body.records.map((r) => r.step),
    [2, 3, 4],
  );
  await ws.close();
  await live.close();
});

test('the JSON export carries the run distributions as records POST takes back; deleting the run removes them', async () => {
  const id = await newRun();
  const sent = [record('b', 1), record('a', 2), record('a', 1)];
  await post(id, sent);
  await api(server, 'POST', `/api/v1/runs/${id}/points`, { points: [{ step: 1, wall: 5, values: { x: 1 } }] });
  const json = await (await fetch(`${server.url}/api/v1/runs/${id}/export?format=json`)).json();
  assert.deepEqual(json.points, [{ metric: 'x', step: 1, value: 1, wall: 5 }]);
  assert.deepEqual(
    json.distributions,
    [sent[2], sent[1], sent[0]].map((d) => ({ ...d, nonFinite: 0 })),
  );
  const copy = await newRun();
  assert.equal((await post(copy, json.distributions)).status, 200);
  assert.deepEqual((await read(copy, 'name=a')).body, (await read(id, 'name=a')).body);

  assert.equal((await api(server, 'DELETE', `/api/v1/runs/${id}`)).status, 204);
  assert.equal((await read(id, 'name=a')).status, 404);
});
