// Specification of the browser's live socket: subscribers receive points, status changes and controls as they happen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { FrameClient } from '../support/ws.js';

let server: RunningServer;
before(async () => (server = await startServer()));
after(async () => server.stop());

const liveUrl = (): string => `${server.url.replace('http', 'ws')}/api/v1/live`;

test('a subscriber receives points pushed to its run, and not those of other runs', async () => {
  const a = (await api(server, 'POST', '/api/v1/runs', { name: 'a' })).body.id;
  const b = (await api(server, 'POST', '/api/v1/runs', { name: 'b' })).body.id;
  const live = await FrameClient.connect(liveUrl());
  live.send({ type: 'subscribe', runs: [a] });
  await live.next((f) => f.type === 'subscribed');
  await api(server, 'POST', `/api/v1/runs/${b}/points`, { points: [{ step: 0, values: { v: 2 } }] });
  await api(server, 'POST', `/api/v1/runs/${a}/points`, { points: [{ step: 3, wall: 9, values: { v: 'Infinity' } }] });
  const frame = await live.next((f) => f.type === 'points');
  assert.deepEqual(frame, { type: 'points', run: a, points: [{ step: 3, wall: 9, values: { v: 'Infinity' } }] });
  assert.equal(live.frames.filter((f) => f.type === 'points' && f.run === b).length, 0);
  await live.close();
});

test('subscribing to * receives new runs and status changes of every run', async () => {
  const live = await FrameClient.connect(liveUrl());
  live.send({ type: 'subscribe', runs: ['*'] });
  await live.next((f) => f.type === 'subscribed');
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'watched' })).body.id;
  assert.equal((await live.next((f) => f.type === 'run' && f.run.id === id)).run.status, 'running');
  await api(server, 'PATCH', `/api/v1/runs/${id}`, { status: 'failed' });
  assert.equal((await live.next((f) => f.type === 'run' && f.run.status === 'failed')).run.id, id);
  await live.close();
});

test('controls and their results are pushed to subscribers', async () => {
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'ctl' })).body.id;
  const live = await FrameClient.connect(liveUrl());
  live.send({ type: 'subscribe', runs: [id] });
  await live.next((f) => f.type === 'subscribed');
  await api(server, 'POST', `/api/v1/runs/${id}/controls`, { action: 'checkpoint', args: {} });
  assert.equal((await live.next((f) => f.type === 'control')).control.action, 'checkpoint');
  await live.close();
});

test('a malformed live frame gets an error frame and the socket stays usable', async () => {
  const live = await FrameClient.connect(liveUrl());
  live.send({ type: 'subscribe', runs: 'all' });
  assert.equal((await live.next((f) => f.type === 'error')).code, 'GW_ERR_FRAME_INVALID');
  live.send({ type: 'subscribe', runs: ['*'] });
  assert.deepEqual((await live.next((f) => f.type === 'subscribed')).runs, ['*']);
  await live.close();
});
