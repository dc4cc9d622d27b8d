// Specification of the trainer's ingest socket: acks after commit, error frames that keep the socket open, controls, status.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { FrameClient, handshakeStatus } from '../support/ws.js';

let server: RunningServer;
before(async () => (server = await startServer()));
after(async () => server.stop());

const wsUrl = (run: string): string => `${server.url.replace('http', 'ws')}/api/v1/ingest?run=${run}`;
const newRun = async (): Promise<string> => (await api(server, 'POST', '/api/v1/runs', { name: 'ingest' })).body.id;

test('a points frame is acked with its seq, and the points are readable when the ack arrives', async () => {
  const id = await newRun();
  const ws = await FrameClient.connect(wsUrl(id));
  ws.send({ type: 'points', seq: 7, points: [{ step: 0, values: { 'loss/G_GAN': 1.5, 'loss/D': 'NaN' } }] });
  const ack = await ws.next((f) => f.type === 'ack');
  assert.deepEqual(ack, { type: 'ack', seq: 7, accepted: 2 });
  const s = (await api(server, 'GET', `/api/v1/runs/${id}/series?metric=loss/D`)).body;
  assert.deepEqual(
    s.points.map((p: any) => p[1]),
    ['NaN'],
  );
  await ws.close();
});

test('acks arrive in order for many frames and every point is stored once', async () => {
  const id = await newRun();
  const ws = await FrameClient.connect(wsUrl(id));
  for (let seq = 0; seq < 50; seq++) {
    ws.send({
      type: 'points',
      seq,
      points: Array.from({ length: 200 }, (_, i) => ({ step: seq * 200 + i, values: { a: i, b: seq } })),
    });
  }
  ws.send({ type: 'points', seq: 49, points: [{ step: 9999, values: { a: 199, b: 49 } }] }); // a resend
  await ws.next((f) => f.type === 'ack' && f.seq === 49 && f.accepted === 2);
  const acks = ws.frames.filter((f) => f.type === 'ack').map((f) => f.seq);
  assert.deepEqual(acks, [...Array.from({ length: 50 }, (_, i) => i), 49]);
  const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics;
  assert.deepEqual(
    metrics.map((m: any) => m.count),
    [10_000, 10_000],
  );
  await ws.close();
});

test('a bad frame gets an error frame naming the field, the socket stays open, and nothing is stored', async () => {
  const id = await newRun();
  const ws = await FrameClient.connect(wsUrl(id));
  ws.send({ type: 'points', seq: 1, points: [{ step: 'zero', values: { a: 1 } }] });
  const err = await ws.next((f) => f.type === 'error');
  assert.equal(err.seq, 1);
  assert.equal(err.code, 'GW_ERR_FRAME_INVALID');
  assert.match(err.message, /points\/0\/step/);
  ws.send('{not json');
  assert.equal((await ws.next((f) => f.code === 'GW_ERR_FRAME_NOT_JSON')).type, 'error');
  ws.send(Buffer.from([1, 2, 3]));
  assert.equal((await ws.next((f) => f.code === 'GW_ERR_FRAME_BINARY')).type, 'error');
  ws.send({ type: 'unknown', seq: 3 });
  assert.equal((await ws.next((f) => f.type === 'error' && f.seq === 3)).code, 'GW_ERR_FRAME_INVALID');
  ws.send({ type: 'points', seq: 4, points: [{ step: 1, values: { ok: 1 } }] });
  assert.equal((await ws.next((f) => f.type === 'ack')).seq, 4);
  const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics;
  assert.deepEqual(
    metrics.map((m: any) => m.name),
    ['ok'],
  );
  await ws.close();
});

test('connecting to a run that does not exist is refused with 404', async () => {
  assert.equal(await handshakeStatus(wsUrl('nosuchrun')), 404);
  assert.equal(await handshakeStatus(`${server.url.replace('http', 'ws')}/api/v1/ingest`), 400);
});

test('a trainer socket that closes without finishing marks the run disconnected; reconnecting marks it running', async () => {
  const id = await newRun();
  const ws = await FrameClient.connect(wsUrl(id));
  await ws.close();
  await waitFor(async () => (await api(server, 'GET', `/api/v1/runs/${id}`)).body.status === 'disconnected');
  const again = await FrameClient.connect(wsUrl(id));
  await waitFor(async () => (await api(server, 'GET', `/api/v1/runs/${id}`)).body.status === 'running');
  await again.close();
});

test('a status frame finishing the run is acked, and closing afterwards keeps it finished', async () => {
  const id = await newRun();
  const ws = await FrameClient.connect(wsUrl(id));
  ws.send({ type: 'status', seq: 1, status: 'finished' });
  assert.equal((await ws.next((f) => f.type === 'ack')).seq, 1);
  await ws.close();
  await new Promise((r) => setTimeout(r, 100));
  const run = (await api(server, 'GET', `/api/v1/runs/${id}`)).body;
  assert.equal(run.status, 'finished');
  assert.ok(run.finished_at);
});

test('a control issued over HTTP reaches the connected trainer, and its result is recorded', async () => {
  const id = await newRun();
  const ws = await FrameClient.connect(wsUrl(id));
  const issued = await api(server, 'POST', `/api/v1/runs/${id}/controls`, {
    action: 'set_lr',
    args: { net: 'D', value: 1e-5 },
  });
  assert.equal(issued.status, 201);
  assert.equal(issued.body.status, 'sent');
  const control = await ws.next((f) => f.type === 'control');
  assert.deepEqual(control, { type: 'control', id: issued.body.id, action: 'set_lr', args: { net: 'D', value: 1e-5 } });
  ws.send({ type: 'control_result', id: control.id, ok: true, step: 120, message: 'lr/D = 1e-5' });
  await waitFor(
    async () => (await api(server, 'GET', `/api/v1/runs/${id}/controls`)).body.controls[0].status === 'applied',
  );
  const [stored] = (await api(server, 'GET', `/api/v1/runs/${id}/controls`)).body.controls;
  assert.equal(stored.result_step, 120);
  assert.equal(stored.message, 'lr/D = 1e-5');
  await ws.close();
});

test('a control issued while no trainer is connected is delivered when one connects', async () => {
  const id = await newRun();
  const issued = (await api(server, 'POST', `/api/v1/runs/${id}/controls`, { action: 'pause', args: {} })).body;
  assert.equal(issued.status, 'pending');
  const ws = await FrameClient.connect(wsUrl(id));
  const control = await ws.next((f) => f.type === 'control');
  assert.equal(control.id, issued.id);
  assert.equal(control.action, 'pause');
  await ws.close();
});

test('an invalid control is refused with 400 naming the field', async () => {
  const id = await newRun();
  const res = await api(server, 'POST', `/api/v1/runs/${id}/controls`, {
    action: 'set_lr',
    args: { net: 'X', value: 1 },
  });
  assert.equal(res.status, 400);
  assert.match(res.body.message, /body/);
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${id}/controls`)).body.controls, []);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
