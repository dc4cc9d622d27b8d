// Lineage and the rollback control on a real server and store: a run created as a fork records its parent and fork
// step (in the run JSON, the list filter `parent`, and through the Node client's run.fork()); a fork that names no
// parent, a missing one, or half of the pair is refused and nothing is stored; a rollback control with bad arguments
// is refused with GW_ERR_VALIDATION, a good one is stored and delivered as sent.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type Control, type Run } from '../../clients/node/index.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';

let server: RunningServer;
const dir = tempDir('ganwatch-lineage-');
const opened: Run[] = [];

before(async () => (server = await startServer()));
after(async () => {
  for (const r of opened) await r.close({ timeoutMs: 100 });
  await server.stop();
});

test('a fork records its parent and fork step; the parent lists it as a child', async () => {
  const parent = (await api(server, 'POST', '/api/v1/runs', { name: 'parent' })).body;
  assert.equal(parent.parent_id, null);
  assert.equal(parent.fork_step, null);
  const res = await api(server, 'POST', '/api/v1/runs', { name: 'child', parent_id: parent.id, fork_step: 1200 });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.parent_id, parent.id);
  assert.equal(res.body.fork_step, 1200);
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${res.body.id}`)).body, res.body);
  const children = (await api(server, 'GET', `/api/v1/runs?parent=${parent.id}`)).body.runs;
  assert.deepEqual(
    children.map((r: any) => r.id),
    [res.body.id],
  );
});

test('the runs table lists a fork with its parent and fork step', async () => {
  const parent = (await api(server, 'POST', '/api/v1/runs', { name: 'table-parent' })).body;
  const child = (await api(server, 'POST', '/api/v1/runs', { name: 'table-child', parent_id: parent.id, fork_step: 7 }))
    .body;
  const table = await api(server, 'GET', `/api/v1/runs?q=${encodeURIComponent('name:table-child')}&limit=10`);
  assert.equal(table.status, 200, JSON.stringify(table.body));
  const row = table.body.runs.find((r: any) => r.id === child.id);
  assert.deepEqual([row?.parent_id, row?.fork_step], [parent.id, 7]);
});

test('a fork without its pair, of a missing parent, or at a negative step is refused and nothing is stored', async () => {
  const parent = (await api(server, 'POST', '/api/v1/runs', { name: 'p2' })).body;
  const before = (await api(server, 'GET', '/api/v1/runs')).body.runs.length;
  const cases: Array<[unknown, RegExp]> = [
    [{ name: 'x', parent_id: parent.id }, /fork_step: a fork gives parent_id and fork_step together/],
    [{ name: 'x', fork_step: 3 }, /parent_id: a fork gives parent_id and fork_step together/],
    [{ name: 'x', parent_id: 'nosuchrun', fork_step: 3 }, /parent_id: run 'nosuchrun' does not exist/],
    [{ name: 'x', parent_id: parent.id, fork_step: -1 }, /fork_step/],
  ];
  for (const [body, message] of cases) {
    const res = await api(server, 'POST', '/api/v1/runs', body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.code, 'GW_ERR_VALIDATION');
    assert.match(res.body.message, message);
  }
  assert.equal((await api(server, 'GET', '/api/v1/runs')).body.runs.length, before);
});

test('rollback controls are checked: a bad checkpoint, empty overrides or a zero factor are refused', async () => {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'rb' })).body;
  const bad = [
    { checkpoint: 'oldest' },
    {},
    { checkpoint: 'latest', lr: {} },
    { checkpoint: 'latest', lr: { X: 1 } },
    { checkpoint: 'latest', lr_factor: 0 },
    { checkpoint: 'latest', lambda: { cyc: -1 } },
    { checkpoint: 'latest', extra: 1 },
  ];
  for (const args of bad) {
    const res = await api(server, 'POST', `/api/v1/runs/${run.id}/controls`, { action: 'rollback', args });
    assert.equal(res.status, 400, JSON.stringify(args));
    assert.equal(res.body.code, 'GW_ERR_VALIDATION');
  }
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${run.id}/controls`)).body.controls, []);
  const args = { checkpoint: 'best', lr: { D: 1e-5 }, lr_factor: 0.5, lambda: { latent: 1 }, max_norm: 10 };
  const ok = await api(server, 'POST', `/api/v1/runs/${run.id}/controls`, { action: 'rollback', args });
  assert.equal(ok.status, 201);
  assert.deepEqual(ok.body.args, args);
});

test('the Node client: run.fork() creates the child with the parent’s name, config and tags; rollback reaches user code', async () => {
  const parent = await connect({
    name: 'node-parent',
    config: { lr: 2e-4 },
    tags: ['x'],
    server: server.url,
    spool: join(dir, 'spool'),
  });
  opened.push(parent);
  const got = new Promise<Control>((resolve) => parent.onControl(resolve));
  const issued = await api(server, 'POST', `/api/v1/runs/${parent.id}/controls`, {
    action: 'rollback',
    args: { checkpoint: 'latest', lr_factor: 0.5 },
  });
  assert.equal(issued.status, 201);
  const control = await got;
  assert.equal(control.action, 'rollback');
  assert.deepEqual(control.args, { checkpoint: 'latest', lr_factor: 0.5 });

  const child = await parent.fork(40);
  opened.push(child);
  parent.answer(control.id, true, 40, `restored; continues as run ${child.id}`);
  const stored = (await api(server, 'GET', `/api/v1/runs/${child.id}`)).body;
  assert.equal(stored.name, 'node-parent (fork at step 40)');
  assert.deepEqual(stored.config, { lr: 2e-4 });
  assert.deepEqual(stored.tags, ['x']);
  assert.equal(stored.parent_id, parent.id);
  assert.equal(stored.fork_step, 40);
  child.log({ 'loss/G': 0.5 }, 41);
  assert.ok(await child.flush(10_000));
  assert.equal((await api(server, 'GET', `/api/v1/runs/${child.id}`)).body.last_step, 41);

  await assert.rejects(parent.fork(-1), { code: 'GW_ERR_MONITOR_INPUT' });
  const offline = await connect({ name: 'off', offline: true, spool: join(dir, 'spool') });
  opened.push(offline);
  await assert.rejects(offline.fork(3), { code: 'GW_ERR_OPTION' });
});
