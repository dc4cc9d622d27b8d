// Specification of controls over HTTP, for trainers without a WebSocket (the Python client): a long poll that delivers
// unanswered controls and marks them sent, a route for the answer, and the presence the poll gives (a trainer that
// dies or stops polling leaves its run disconnected), all behaving as the ingest socket does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { FrameClient } from '../support/ws.js';

let server: RunningServer;
// A long timeout: in these tests a run is disconnected only because its trainer's connection closed.
before(async () => (server = await startServer({ extraArgs: ['--trainer-timeout', '600'] })));
after(async () => server.stop());

const newRun = async (): Promise<string> =>
  (await api(server, 'POST', '/api/v1/runs', { name: 'http-trainer' })).body.id;
const issue = async (run: string, action: string, args: Record<string, unknown> = {}): Promise<any> =>
  (await api(server, 'POST', `/api/v1/runs/${run}/controls`, { action, args })).body;
const poll = (run: string, query = 'wait=0'): Promise<{ status: number; body: any }> =>
  api(server, 'GET', `/api/v1/runs/${run}/controls/next?${query}`);
const controls = async (run: string): Promise<any[]> =>
  (await api(server, 'GET', `/api/v1/runs/${run}/controls`)).body.controls;
const status = async (run: string): Promise<string> => (await api(server, 'GET', `/api/v1/runs/${run}`)).body.status;

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a poll answers the unanswered controls of the run and marks the pending ones sent', async () => {
  const id = await newRun();
  const first = await issue(id, 'set_lr', { net: 'D', value: 5e-5 });
  const second = await issue(id, 'pause');
  assert.deepEqual([first.status, second.status], ['pending', 'pending']);
  const answer = await poll(id);
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, {
    controls: [
      { id: first.id, action: 'set_lr', args: { net: 'D', value: 5e-5 } },
      { id: second.id, action: 'pause', args: {} },
    ],
  });
  const stored = await controls(id);
  assert.deepEqual(
    stored.map((c) => c.status),
    ['sent', 'sent'],
  );
  assert.ok(stored.every((c) => typeof c.sent_at === 'number'));
});

test('a waiting poll is answered with a control the moment it is issued', async () => {
  const id = await newRun();
  await poll(id); // the trainer is connected from now on: the next control is sent at once
  const waiting = poll(id, 'wait=30');
  const control = await issue(id, 'set_clip', { max_norm: 1 });
  assert.equal(control.status, 'sent');
  assert.deepEqual((await waiting).body.controls, [{ id: control.id, action: 'set_clip', args: { max_norm: 1 } }]);
});

test('after= skips the controls the trainer already received', async () => {
  const id = await newRun();
  const a = await issue(id, 'pause');
  const b = await issue(id, 'resume');
  assert.deepEqual(
    (await poll(id, `after=${a.id}&wait=0`)).body.controls.map((c: any) => c.id),
    [b.id],
  );
  assert.deepEqual((await poll(id, `after=${b.id}&wait=0`)).body.controls, []);
});

test('an answered control is not delivered again; an unanswered one is, to a trainer that starts over', async () => {
  const id = await newRun();
  const a = await issue(id, 'pause');
  const b = await issue(id, 'checkpoint');
  await poll(id);
  await api(server, 'POST', `/api/v1/runs/${id}/controls/${a.id}/result`, { ok: true, step: 3 });
  assert.deepEqual(
    (await poll(id)).body.controls.map((c: any) => c.id),
    [b.id],
  );
});

test('the answer is stored with its step and message, and pushed to live subscribers', async () => {
  const id = await newRun();
  const live = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/live`);
  live.send({ type: 'subscribe', runs: [id] });
  await live.next((f) => f.type === 'subscribed');
  const control = await issue(id, 'scale_lr', { net: 'D', factor: 0.5 });
  await poll(id);
  assert.equal((await live.next((f) => f.type === 'control' && f.control.status === 'sent')).control.id, control.id);
  const answer = await api(server, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, {
    ok: true,
    step: 453,
    message: 'lr D and D2 ×0.5 = 0.001 from step 453',
  });
  assert.equal(answer.status, 200);
  assert.equal(answer.body.status, 'applied');
  const pushed = await live.next((f) => f.type === 'control' && f.control.status === 'applied');
  assert.equal(pushed.control.result_step, 453);
  const [stored] = await controls(id);
  assert.deepEqual(
    [stored.status, stored.result_step, stored.message],
    ['applied', 453, 'lr D and D2 ×0.5 = 0.001 from step 453'],
  );
  await live.close();
});

test('a failed answer is stored as failed', async () => {
  const id = await newRun();
  const control = await issue(id, 'set_lr', { net: 'E', value: 1e-5 });
  const answer = await api(server, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, {
    ok: false,
    message: 'no optimizer for net E',
  });
  assert.deepEqual([answer.body.status, answer.body.result_step], ['failed', null]);
});

test('answering again leaves the first answer in place', async () => {
  const id = await newRun();
  const control = await issue(id, 'stop');
  await api(server, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, {
    ok: true,
    step: 9,
    message: 'first',
  });
  const again = await api(server, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, { ok: false });
  assert.equal(again.status, 200);
  assert.deepEqual([again.body.status, again.body.result_step, again.body.message], ['applied', 9, 'first']);
});

test('an answer to a control the run does not have is refused with GW_ERR_CONTROL_NOT_FOUND', async () => {
  const id = await newRun();
  const other = await newRun();
  const control = await issue(other, 'pause');
  for (const cid of [control.id, 999_999]) {
    const answer = await api(server, 'POST', `/api/v1/runs/${id}/controls/${cid}/result`, { ok: true });
    assert.equal(answer.status, 404);
    assert.equal(answer.body.code, 'GW_ERR_CONTROL_NOT_FOUND');
    assert.match(answer.body.message, new RegExp(`Control ${cid} does not exist in this run`));
  }
  assert.equal((await controls(other))[0].status, 'pending');
});

test('bad polls and answers are refused naming the field, and change nothing', async () => {
  const id = await newRun();
  const control = await issue(id, 'pause');
  const cases: Array<[Promise<{ status: number; body: any }>, number, string, RegExp]> = [
    [poll(id, 'wait=31'), 400, 'GW_ERR_VALIDATION', /wait must be <= 30/],
    [poll(id, 'after=-1'), 400, 'GW_ERR_VALIDATION', /after/],
    [poll(id, 'wait=0&every=1'), 400, 'GW_ERR_VALIDATION', /every/],
    [poll('nosuchrun', 'wait=0'), 404, 'GW_ERR_RUN_NOT_FOUND', /nosuchrun/],
    [
      api(server, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, { ok: 'yes' }),
      400,
      'GW_ERR_VALIDATION',
      /body\/ok/,
    ],
    [
      api(server, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, { ok: true, step: -1 }),
      400,
      'GW_ERR_VALIDATION',
      /body\/step/,
    ],
    [
      api(server, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, { ok: true, extra: 1 }),
      400,
      'GW_ERR_VALIDATION',
      /extra/,
    ],
    [api(server, 'POST', `/api/v1/runs/${id}/controls/0/result`, { ok: true }), 400, 'GW_ERR_VALIDATION', /cid/],
  ];
  for (const [request, code, errorCode, message] of cases) {
    const res = await request;
    assert.equal(res.status, code, JSON.stringify(res.body));
    assert.equal(res.body.code, errorCode);
    assert.match(res.body.message, message);
  }
  assert.equal((await controls(id))[0].status, 'pending');
});

test('a poll keeps the run connected; when its connection closes the run is disconnected at once', async () => {
  const id = await newRun();
  const abort = new AbortController();
  const waiting = fetch(`${server.url}/api/v1/runs/${id}/controls/next?wait=30`, { signal: abort.signal }).catch(
    () => null,
  );
  await waitFor(async () => (await api(server, 'GET', `/api/v1/runs/${id}/controls`)).body.trainer_connected, 'poll');
  assert.ok((await api(server, 'GET', '/api/v1/health')).body.trainers_connected >= 1);
  abort.abort(); // the trainer died: its connection closes under the open poll
  await waiting;
  await waitFor(async () => (await status(id)) === 'disconnected', 'the run to be disconnected');
  await poll(id); // it is back
  assert.equal(await status(id), 'running');
});

test('a trainer that stops polling is disconnected after --trainer-timeout', async () => {
  const quick = await startServer({ extraArgs: ['--trainer-timeout', '1'] });
  try {
    const id = (await api(quick, 'POST', '/api/v1/runs', { name: 'stops-polling' })).body.id;
    await api(quick, 'GET', `/api/v1/runs/${id}/controls/next?wait=0`);
    assert.equal((await api(quick, 'GET', `/api/v1/runs/${id}/controls`)).body.trainer_connected, true);
    await waitFor(
      async () => (await api(quick, 'GET', `/api/v1/runs/${id}`)).body.status === 'disconnected',
      'the run to be disconnected',
    );
    assert.equal((await api(quick, 'GET', `/api/v1/runs/${id}/controls`)).body.trainer_connected, false);
  } finally {
    await quick.stop();
  }
});

test('a finished run stays finished when its trainer stops polling', async () => {
  const id = await newRun();
  const abort = new AbortController();
  const waiting = fetch(`${server.url}/api/v1/runs/${id}/controls/next?wait=30`, { signal: abort.signal }).catch(
    () => null,
  );
  await waitFor(async () => (await api(server, 'GET', `/api/v1/runs/${id}/controls`)).body.trainer_connected, 'poll');
  await api(server, 'PATCH', `/api/v1/runs/${id}`, { status: 'finished' });
  abort.abort();
  await waiting;
  await waitFor(
    async () => !(await api(server, 'GET', `/api/v1/runs/${id}/controls`)).body.trainer_connected,
    'the trainer to be gone',
  );
  assert.equal(await status(id), 'finished');
});

test('polling and answering need the write token; the read token is not enough', async () => {
  const secured = await startServer({ token: 'w', readToken: 'r' });
  try {
    const id = (await api(secured, 'POST', '/api/v1/runs', { name: 'tokens' }, 'w')).body.id;
    const control = (await api(secured, 'POST', `/api/v1/runs/${id}/controls`, { action: 'pause', args: {} }, 'w'))
      .body;
    const refused = await api(secured, 'GET', `/api/v1/runs/${id}/controls/next?wait=0`, undefined, 'r');
    assert.deepEqual([refused.status, refused.body.code], [401, 'GW_ERR_UNAUTHORIZED']);
    const answer = await api(secured, 'POST', `/api/v1/runs/${id}/controls/${control.id}/result`, { ok: true }, 'r');
    assert.equal(answer.status, 401);
    assert.equal((await api(secured, 'GET', `/api/v1/runs/${id}/controls/next?wait=0`, undefined, 'w')).status, 200);
  } finally {
    await secured.stop();
  }
});
