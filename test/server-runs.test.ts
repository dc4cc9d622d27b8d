// Specification of the runs API: create, list with filters, read, update, delete.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from './support/server.js';

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
