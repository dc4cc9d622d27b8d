// Specification of the runs API: create, list with filters, read, update, delete.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';

let server: RunningServer;
before(async () => (server = await startServer()));
after(async () => server.stop());

test('creating a run returns 201 with a string id and the given fields', async () => {
  const res = await api(server, 'POST', '/api/v1/runs', { name: 'first', config: { lr: 2e-4 }, tags: ['a', 'b'] });
  assert.equal(res.status, 201);
  assert.equal(typeof res.body.id, 'string');
  assert.equal(res.body.name, 'first');
  assert.deepEqual(res.body.config, { lr: 2e-4 });
  assert.deepEqual(res.body.tags, ['a', 'b']);
  assert.equal(res.body.status, 'running');
});

test('a run can be read back by id', async () => {
  const { body: created } = await api(server, 'POST', '/api/v1/runs', { name: 'readable' });
  const res = await api(server, 'GET', `/api/v1/runs/${created.id}`);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, created);
});

test('listing filters by status, tag and name substring', async () => {
  const a = (await api(server, 'POST', '/api/v1/runs', { name: 'Filter-Alpha', tags: ['sweep'] })).body;
  const b = (await api(server, 'POST', '/api/v1/runs', { name: 'filter-beta', tags: ['other'] })).body;
  await api(server, 'PATCH', `/api/v1/runs/${b.id}`, { status: 'finished' });
  const byTag = (await api(server, 'GET', '/api/v1/runs?tag=sweep')).body.runs.map((r: any) => r.id);
  assert.deepEqual(byTag, [a.id]);
  const byName = (await api(server, 'GET', '/api/v1/runs?name=FILTER-')).body.runs.map((r: any) => r.id).sort();
  assert.deepEqual(byName, [a.id, b.id].sort());
  const finished = (await api(server, 'GET', '/api/v1/runs?status=finished&name=filter')).body.runs.map(
    (r: any) => r.id,
  );
  assert.deepEqual(finished, [b.id]);
});

test('patching changes name, tags, notes and status, and finishing sets finished_at', async () => {
  const { body: run } = await api(server, 'POST', '/api/v1/runs', { name: 'patch-me' });
  const res = await api(server, 'PATCH', `/api/v1/runs/${run.id}`, {
    name: 'patched',
    tags: ['x'],
    notes: 'hello',
    status: 'finished',
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.name, 'patched');
  assert.deepEqual(res.body.tags, ['x']);
  assert.equal(res.body.notes, 'hello');
  assert.equal(res.body.status, 'finished');
  assert.ok(res.body.finished_at >= run.created_at);
});

test('deleting a run removes it and everything it owns', async () => {
  const { body: run } = await api(server, 'POST', '/api/v1/runs', { name: 'doomed' });
  await api(server, 'POST', `/api/v1/runs/${run.id}/points`, { points: [{ step: 0, values: { loss: 1 } }] });
  await api(server, 'POST', `/api/v1/runs/${run.id}/latents`, { epoch: 0, dim: 2, codes: [[1, 2]] });
  assert.equal((await api(server, 'DELETE', `/api/v1/runs/${run.id}`)).status, 204);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${run.id}`)).status, 404);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${run.id}/metrics`)).status, 404);
  assert.equal((await api(server, 'DELETE', `/api/v1/runs/${run.id}`)).status, 404);
});

test('a run records the machine it trains on (its system document) and gives it back as it was sent', async () => {
  const system = { cpu: 'AMD EPYC 7B13', cores: 64, platform: 'linux 6.1.0 x64', gpus: ['NVIDIA A100', 'NVIDIA A100'] };
  const { status, body: created } = await api(server, 'POST', '/api/v1/runs', { name: 'machine', system });
  assert.equal(status, 201);
  assert.deepEqual(created.system, system);
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${created.id}`)).body.system, system);
  const listed = (await api(server, 'GET', '/api/v1/runs?name=machine')).body.runs[0];
  assert.deepEqual(listed.system, system);
  const without = (await api(server, 'POST', '/api/v1/runs', { name: 'no machine' })).body;
  assert.equal(without.system, null);
});

test('a system document with an unknown field, a wrong type or too many GPUs is a 400 that creates nothing', async () => {
  const before = (await api(server, 'GET', '/api/v1/runs')).body.runs.length;
  const bad = [
    { cpu: 'x', memory: 1 },
    { cores: 'eight' },
    { cores: 0 },
    { gpus: 'A100' },
    { gpus: Array.from({ length: 65 }, () => 'A100') },
    { cpu: 'x'.repeat(201) },
    'linux',
  ];
  for (const system of bad) {
    const res = await api(server, 'POST', '/api/v1/runs', { name: 'bad machine', system });
    assert.equal(res.status, 400, JSON.stringify(system));
    assert.equal(res.body.code, 'GW_ERR_VALIDATION');
    assert.match(res.body.message, /system/, res.body.message);
  }
  assert.equal((await api(server, 'GET', '/api/v1/runs')).body.runs.length, before);
});

test('an unknown run is a 404 with a code that names the problem', async () => {
  const res = await api(server, 'GET', '/api/v1/runs/doesnotexist');
  assert.equal(res.status, 404);
  assert.equal(res.body.code, 'GW_ERR_RUN_NOT_FOUND');
  assert.match(res.body.message, /doesnotexist/);
});

test('health answers ok', async () => {
  const res = await api(server, 'GET', '/api/v1/health');
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'ok');
});

test('the dashboard page is served at /', async () => {
  const res = await fetch(server.url + '/');
  assert.equal(res.status, 200);
  assert.match(await res.text(), /ganwatch/);
});
