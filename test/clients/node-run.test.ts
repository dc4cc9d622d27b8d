// connect() and the Run it returns, as a training script uses them: values, a sample image and latent codes reach
// the server; a control reaches an onControl handler and its answer is recorded; offline, nothing is contacted and the
// run waits in the spool; input the server would refuse is refused at the call.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { connect, type Control, type Run } from '../../clients/node/index.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';

const TOKEN = 'run-token';
let server: RunningServer;
const dir = tempDir('ganwatch-run-');
const runs: Run[] = [];

before(async () => {
  server = await startServer({ token: TOKEN });
});
after(async () => {
  for (const r of runs) await r.close({ timeoutMs: 100 });
  await server.stop();
});

async function open(name: string, extra: Parameters<typeof connect>[0] = {}): Promise<Run> {
  const run = await connect({ name, server: server.url, token: TOKEN, spool: join(dir, 'spool'), ...extra });
  runs.push(run);
  return run;
}

function png(): Buffer {
  const image = new PNG({ width: 2, height: 2 });
  image.data.fill(90);
  return PNG.sync.write(image);
}

test('a run created by connect() gets its values, a sample image and latent codes, and finish() marks it finished', async () => {
  const run = await open('connected', { config: { lr: 2e-4 }, tags: ['node'], backend: 'wasm' });
  assert.match(run.id ?? '', /^[a-z0-9]+$/);
  assert.equal(run.url, `${server.url}/#/runs/${run.id}`);
  for (let step = 0; step < 50; step++) run.log({ 'loss/G': 1 / (step + 1), D_real_acc: 0.5 }, step);
  run.logImage(png(), { epoch: 1, step: 49, meta: { rows: 1 } });
  run.logLatents(new Float32Array([0.5, -1, 2, 0.25]), [0, 1], 1, { step: 49, dim: 2 });
  run.logLatents(
    [
      [1, 2],
      [3, 4],
    ],
    null,
    2,
  );
  assert.equal(await run.finish(), true);

  const get = <T>(path: string) => api<T>(server, 'GET', `/api/v1/runs/${run.id}${path}`, undefined, TOKEN);
  const stored = await get<{ status: string; config: object; tags: string[]; backend: string }>('');
  assert.deepEqual(
    [stored.body.status, stored.body.config, stored.body.tags, stored.body.backend],
    ['finished', { lr: 2e-4 }, ['node'], 'wasm'],
  );
  const metrics = await get<{ metrics: Array<{ name: string; count: number }> }>('/metrics');
  assert.deepEqual(metrics.body.metrics.map((m) => [m.name, m.count]).sort(), [
    ['D_real_acc', 50],
    ['loss/G', 50],
  ]);
  const media = await get<{ media: Array<{ epoch: number; step: number; kind: string; meta: unknown }> }>('/media');
  assert.deepEqual(
    media.body.media.map((m) => [m.epoch, m.step, m.kind, m.meta]),
    [[1, 49, 'samples', { rows: 1 }]],
  );
  const latents = await get<{ codes: number[][]; labels: number[] }>('/latents/1');
  assert.deepEqual(
    [latents.body.codes, latents.body.labels],
    [
      [
        [0.5, -1],
        [2, 0.25],
      ],
      [0, 1],
    ],
  );
  const unlabelled = await get<{ codes: number[][] }>('/latents/2');
  assert.deepEqual(unlabelled.body.codes, [
    [1, 2],
    [3, 4],
  ]);
});

test('a control reaches an onControl handler once, and the answer given at the next step is recorded', async () => {
  const run = await open('handled');
  const received: Control[] = [];
  run.onControl((c) => received.push(c));
  run.log({ loss: 1 }, 0);
  assert.equal(await run.flush(10_000), true);
  const sent = await api<{ id: number }>(
    server,
    'POST',
    `/api/v1/runs/${run.id}/controls`,
    { action: 'scale_lambda', args: { name: 'latent', factor: 2 } },
    TOKEN,
  );
  // The training loop's step boundary: apply what arrived, answer, go on.
  let step = 1;
  const end = Date.now() + 30_000;
  while (received.length === 0) {
    assert.ok(Date.now() < end, 'the control arrived');
    run.log({ loss: 1 / step }, step++);
    await new Promise((r) => setTimeout(r, 20));
  }
  const control = received[0];
  assert.ok(control);
  assert.deepEqual(control, { id: sent.body.id, action: 'scale_lambda', args: { name: 'latent', factor: 2 } });
  run.answer(control.id, true, step, 'λ_latent ×2');
  assert.deepEqual(run.takeControls(), [], 'a handled control is not queued as well');
  assert.equal(await run.finish(), true);
  const list = await api<{ controls: Array<{ id: number; status: string; result_step: number; message: string }> }>(
    server,
    'GET',
    `/api/v1/runs/${run.id}/controls`,
    undefined,
    TOKEN,
  );
  const row = list.body.controls.find((c) => c.id === sent.body.id);
  assert.deepEqual([row?.status, row?.result_step, row?.message], ['applied', step, 'λ_latent ×2']);
});

test('offline, connect() contacts no server: the run has no id or page yet and waits in the spool', async () => {
  const run = await connect({
    name: 'on a plane',
    server: 'http://127.0.0.1:9', // nothing listens there: any contact would fail
    offline: true,
    spool: join(dir, 'offline-spool'),
  });
  runs.push(run);
  assert.equal(run.id, null);
  assert.equal(run.url, null);
  assert.match(run.spoolKey, /^local[a-z0-9]+$/);
  run.log({ loss: 0.5 }, 0);
  assert.equal(await run.finish(), true, 'everything is on disk');
  assert.equal(run.stats().connected, false);
});

test('input the server would refuse is refused at the call, before anything is recorded', async () => {
  const run = await open('strict', { offline: true, spool: join(dir, 'strict-spool') });
  assert.throws(() => run.log({ 'no spaces allowed': 1 }, 0), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => run.log({ loss: 1 }, -3), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => run.logImage(Buffer.from('GIF89a'), { epoch: 0, step: 0 }), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => run.logLatents(new Float32Array(6), null, 0), /needs \{ dim \}/);
  assert.throws(() => run.logLatents([[1, 2], [3]], [0, 1], 0), /latent code 1 has 1 values, expected 2/);
  assert.equal(run.stats().pushed, 0);
  assert.equal(run.stats().pendingUploads, 0);
});
