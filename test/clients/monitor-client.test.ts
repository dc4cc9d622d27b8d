// The trainer's monitor client against the real server process: delivery exactly once through kills, restarts,
// a port change and offline mode; controls round-trip; push() never waits for the network.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import type { GanwatchError } from '../../protocol/index.js';
import { MonitorClient } from '../../clients/node/index.js';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../../harness/server.js';

const TOKEN = 'test-token';
const work = tempDir('gw-monitor-');
let shared: RunningServer;
let spools = 0;
// Whatever a failing test leaves open is closed here, so a failure cannot hang the run.
const servers: RunningServer[] = [];
const clients: MonitorClient[] = [];

async function server(opts: { dbPath?: string } = {}): Promise<RunningServer> {
  const s = await startServer({ token: TOKEN, ...opts });
  servers.push(s);
  return s;
}

async function open(opts: Parameters<typeof MonitorClient.open>[0]): Promise<MonitorClient> {
  const c = await MonitorClient.open(opts);
  clients.push(c);
  return c;
}

before(async () => {
  shared = await server();
});
after(async () => {
  for (const c of clients) await c.close({ timeoutMs: 100 });
  for (const s of servers) await s.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function spoolDir(): string {
  return path.join(work, `spool${spools++}`);
}

function lossAt(step: number): number {
  return Math.sin(step / 100) + step / 1000;
}

interface ExportedPoint {
  metric: string;
  step: number;
  value: number | string;
}

/** Every stored point of `metric`, by step, read back through the export route. */
async function stored(server: RunningServer, run: string, metric: string): Promise<Map<number, number | string>> {
  const res = await api<{ points: ExportedPoint[] }>(
    server,
    'GET',
    `/api/v1/runs/${run}/export?format=json`,
    undefined,
    TOKEN,
  );
  assert.equal(res.status, 200);
  const byStep = new Map<number, number | string>();
  for (const p of res.body.points) {
    if (p.metric !== metric) continue;
    assert.ok(!byStep.has(p.step), `step ${p.step} of ${metric} exported twice`);
    byStep.set(p.step, p.value);
  }
  return byStep;
}

async function assertAllStored(server: RunningServer, run: string, steps: number): Promise<void> {
  const loss = await stored(server, run, 'loss');
  assert.equal(loss.size, steps, `stored ${loss.size} of ${steps} steps`);
  for (let s = 0; s < steps; s++) assert.equal(loss.get(s), lossAt(s), `step ${s}`);
}

function tinyPng(): Buffer {
  const png = new PNG({ width: 4, height: 2 });
  png.data.fill(200);
  return PNG.sync.write(png);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

test('20,000 pushed points are stored exactly once, non-finite values included', async () => {
  const errors: GanwatchError[] = [];
  const client = await open({
    server: shared.url,
    token: TOKEN,
    create: { name: 'exactly once', config: { lr: 2e-4 } },
    spoolDir: spoolDir(),
    onError: (e) => errors.push(e),
  });
  const N = 20_000;
  for (let s = 0; s < N; s++) {
    client.push(s, { loss: lossAt(s), D_real_acc: s === 5 ? Number.NaN : s === 6 ? Number.POSITIVE_INFINITY : 0.5 });
  }
  assert.equal(await client.flush(30_000), true);
  const stats = client.stats();
  assert.equal(stats.pushed, N);
  assert.equal(stats.acked, N);
  assert.equal(stats.unackedBatches, 0);
  assert.equal(stats.connected, true);
  await assertAllStored(shared, client.runId!, N);
  const acc = await stored(shared, client.runId!, 'D_real_acc');
  assert.equal(acc.size, N);
  assert.equal(acc.get(5), 'NaN');
  assert.equal(acc.get(6), 'Infinity');
  assert.equal(acc.get(7), 0.5);
  assert.deepEqual(errors, []);
  assert.equal(await client.close(), true);
});

test('push() does not wait for the network while the server is down, and everything arrives after it returns', async () => {
  const srv = await server();
  // A small memory cap: most unacked batches must be re-read from the spool when they are resent.
  const client = await open({
    server: srv.url,
    token: TOKEN,
    create: { name: 'down' },
    spoolDir: spoolDir(),
    memoryCapBytes: 256 * 1024,
  });
  await srv.kill();
  const N = 30_000;
  for (let s = 0; s < N; s++) {
    client.push(s, { loss: lossAt(s) });
    if (s % 3000 === 0) await sleep(50); // let the timer cut batches and the client try to reconnect
  }
  // Every push returned while no server answered: none of them waited for the network (how fast they are is the
  // bench's business, not a test's).
  assert.equal(client.stats().connected, false);
  assert.equal(client.stats().acked, 0);
  assert.match(client.stats().lastError ?? '', /GW_ERR_SERVER/);

  await srv.restart();
  assert.equal(await client.flush(20_000), true);
  await assertAllStored(srv, client.runId!, N);
  await client.close();
  await srv.stop();
});

test('a server killed with SIGKILL and restarted while the client pushes loses nothing', async () => {
  const srv = await server();
  const client = await open({
    server: srv.url,
    token: TOKEN,
    create: { name: 'sigkill' },
    spoolDir: spoolDir(),
    flushIntervalMs: 20,
  });
  let step = 0;
  const pushFor = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      for (let i = 0; i < 20; i++) client.push(step, { loss: lossAt(step++) });
      await sleep(5);
    }
  };
  await pushFor(600);
  assert.ok(client.stats().acked > 0);
  await srv.kill();
  await pushFor(400);
  await srv.restart();
  await until(() => client.stats().connected, 10_000);
  await pushFor(300);
  await srv.kill(); // once more, while batches are surely in flight
  await srv.restart();
  await pushFor(300);
  assert.equal(await client.flush(20_000), true);
  assert.ok(client.stats().reconnects >= 2, `reconnects: ${client.stats().reconnects}`);
  await assertAllStored(srv, client.runId!, step);
  await client.close();
  await srv.stop();
});

test('after setServer() to a server restarted on a new port, nothing is lost', async () => {
  const first = await server();
  const client = await open({ server: first.url, token: TOKEN, create: { name: 'moved' }, spoolDir: spoolDir() });
  for (let s = 0; s < 1000; s++) client.push(s, { loss: lossAt(s) });
  assert.equal(await client.flush(10_000), true);
  await first.kill();
  for (let s = 1000; s < 3000; s++) client.push(s, { loss: lossAt(s) });
  const second = await server({ dbPath: first.dbPath });
  assert.notEqual(second.port, first.port);
  client.setServer(second.url);
  for (let s = 3000; s < 4000; s++) client.push(s, { loss: lossAt(s) });
  assert.equal(await client.flush(10_000), true);
  assert.equal(client.serverUrl, second.url);
  await assertAllStored(second, client.runId!, 4000);
  await client.close();
  await second.stop();
});

test('a run reopened after its trainer closed with unacked points resends them from the spool', async () => {
  const srv = await server();
  const dir = spoolDir();
  const first = await open({ server: srv.url, token: TOKEN, create: { name: 'resume' }, spoolDir: dir });
  const run = first.runId!;
  for (let s = 0; s < 500; s++) first.push(s, { loss: lossAt(s) });
  assert.equal(await first.flush(10_000), true);
  await srv.kill();
  for (let s = 500; s < 2500; s++) first.push(s, { loss: lossAt(s) });
  assert.equal(await first.close({ timeoutMs: 300 }), false);

  await srv.restart();
  const second = await open({ server: srv.url, token: TOKEN, run, spoolDir: dir });
  assert.equal(second.runId, run);
  assert.ok(second.stats().unackedBatches > 0);
  assert.equal(await second.flush(10_000), true);
  await assertAllStored(srv, run, 2500);
  await second.close();
  await srv.stop();
});

test('media and latent codes pushed online are uploaded', async () => {
  const client = await open({ server: shared.url, token: TOKEN, create: { name: 'media' }, spoolDir: spoolDir() });
  const png = tinyPng();
  client.pushMedia(5, 500, 'samples', png, { rows: 1, cols: 2 });
  const codes = new Float32Array([0.25, -1.5, 3, 0.1, 2, 4]);
  client.pushLatents(5, 500, 2, codes, [0, 1, 1]);
  assert.equal(await client.flush(10_000), true);
  const media = await api<{
    media: Array<{ epoch: number; step: number; kind: string; bytes: number; meta: unknown }>;
  }>(shared, 'GET', `/api/v1/runs/${client.runId}/media`, undefined, TOKEN);
  assert.deepEqual(
    media.body.media.map((m) => [m.epoch, m.step, m.kind, m.bytes]),
    [[5, 500, 'samples', png.length]],
  );
  assert.deepEqual(media.body.media[0]!.meta, { rows: 1, cols: 2 });
  const latents = await api<{ dim: number; codes: number[][]; labels: number[] }>(
    shared,
    'GET',
    `/api/v1/runs/${client.runId}/latents/5`,
    undefined,
    TOKEN,
  );
  assert.equal(latents.body.dim, 2);
  assert.deepEqual(latents.body.codes.flat(), Array.from(codes));
  assert.deepEqual(latents.body.labels, [0, 1, 1]);
  await client.close();
});

test('a control sent to the run reaches the client and its result is recorded as applied', async () => {
  const client = await open({ server: shared.url, token: TOKEN, create: { name: 'controls' }, spoolDir: spoolDir() });
  const received: Array<{ id: number; action: string; args: unknown }> = [];
  client.onControl((control) => {
    received.push(control);
    client.controlResult(control.id, true, 1234, 'D lr set');
  });
  client.push(0, { loss: 1 });
  assert.equal(await client.flush(5_000), true);
  const issued = await api<{ id: number }>(
    shared,
    'POST',
    `/api/v1/runs/${client.runId}/controls`,
    { action: 'set_lr', args: { net: 'D', value: 1e-5 } },
    TOKEN,
  );
  assert.equal(issued.status, 201);
  let control: { id: number; status: string; result_step: number | null; message: string | null } | undefined;
  for (let i = 0; i < 100 && control?.status !== 'applied'; i++) {
    await sleep(50);
    const list = await api<{ controls: Array<NonNullable<typeof control>> }>(
      shared,
      'GET',
      `/api/v1/runs/${client.runId}/controls`,
      undefined,
      TOKEN,
    );
    control = list.body.controls.find((c) => c.id === issued.body.id);
  }
  assert.deepEqual(received, [{ id: issued.body.id, action: 'set_lr', args: { net: 'D', value: 1e-5 } }]);
  assert.equal(control?.status, 'applied');
  assert.equal(control?.result_step, 1234);
  assert.equal(control?.message, 'D lr set');
  await client.close();
});

test('controls queue for takeControls() when no handler is registered', async () => {
  const client = await open({ server: shared.url, token: TOKEN, create: { name: 'take' }, spoolDir: spoolDir() });
  assert.equal(await client.flush(5_000), true);
  await sleep(100); // the socket is open once the run has been created and the client connected
  await api(shared, 'POST', `/api/v1/runs/${client.runId}/controls`, { action: 'pause', args: {} }, TOKEN);
  await api(
    shared,
    'POST',
    `/api/v1/runs/${client.runId}/controls`,
    { action: 'scale_lambda', args: { name: 'latent', factor: 2 } },
    TOKEN,
  );
  let taken: ReturnType<MonitorClient['takeControls']> = [];
  for (let i = 0; i < 100 && taken.length < 2; i++) {
    await sleep(30);
    taken = taken.concat(client.takeControls());
  }
  assert.deepEqual(
    taken.map((c) => c.action),
    ['pause', 'scale_lambda'],
  );
  assert.deepEqual(client.takeControls(), []);
  await client.close();
});

test('a refused token is reported once and loses nothing: the points go out once the token is right', async () => {
  const dir = spoolDir();
  const first = await open({ server: shared.url, token: TOKEN, create: { name: 'token' }, spoolDir: dir });
  const run = first.runId!;
  await first.close();
  const errors: string[] = [];
  const wrong = await open({
    server: shared.url,
    token: 'wrong',
    run,
    spoolDir: dir,
    onError: (e) => errors.push(e.message),
  });
  for (let s = 0; s < 100; s++) wrong.push(s, { loss: lossAt(s) });
  assert.equal(await wrong.flush(1_500), false);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /401.*token is missing or wrong/);
  assert.equal(await wrong.close({ timeoutMs: 100 }), false);

  const right = await open({ server: shared.url, token: TOKEN, run, spoolDir: dir });
  assert.equal(await right.flush(5_000), true);
  await assertAllStored(shared, run, 100);
  await right.close();
});

/** Runs the sync CLI through `npx tsx` (as npm run sync does), or straight through node (faster). */
function runSync(
  args: string[],
  via: 'npx' | 'node' = 'node',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [command, prefix] =
      via === 'npx'
        ? ['npx', ['tsx', '--conditions=ganwatch-source']]
        : [process.execPath, ['--import', 'tsx', '--conditions=ganwatch-source']];
    const child = spawn(command, [...prefix, 'trainer/sync.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a run recorded offline is created and uploaded by npm run sync', async () => {
  const dir = spoolDir();
  const client = await open({
    server: 'http://127.0.0.1:9', // nothing may be contacted offline
    create: { name: 'offline run', tags: ['offline'] },
    spoolDir: dir,
    offline: true,
  });
  assert.equal(client.runId, null);
  assert.match(client.spoolKey, /^local[a-z0-9]+$/);
  for (let s = 0; s < 3000; s++) client.push(s, { loss: lossAt(s) });
  client.pushMedia(0, 2999, 'samples', tinyPng());
  client.pushLatents(
    0,
    undefined,
    3,
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    [0, 1],
  );
  client.setStatus('finished');
  assert.equal(await client.flush(1_000), true);
  assert.equal(client.stats().connected, false);
  // Offline, flush and close report success once everything is safely in the spool.
  assert.equal(await client.close(), true);

  const sync = await runSync(['--spool', dir, '--server', shared.url, '--token', TOKEN, '--json'], 'npx');
  assert.equal(sync.code, 0, sync.stderr + sync.stdout);
  const summary = JSON.parse(sync.stdout) as {
    runs: Array<{ key: string; run: string; outcome: string; points: number; created: boolean }>;
  };
  assert.equal(summary.runs.length, 1);
  const result = summary.runs[0]!;
  assert.deepEqual(
    [result.key, result.outcome, result.points, result.created],
    [client.spoolKey, 'synced', 3000, true],
  );

  await assertAllStored(shared, result.run, 3000);
  const run = await api<{ name: string; status: string; tags: string[] }>(
    shared,
    'GET',
    `/api/v1/runs/${result.run}`,
    undefined,
    TOKEN,
  );
  assert.deepEqual([run.body.name, run.body.status, run.body.tags], ['offline run', 'finished', ['offline']]);
  const media = await api<{ media: unknown[] }>(shared, 'GET', `/api/v1/runs/${result.run}/media`, undefined, TOKEN);
  assert.equal(media.body.media.length, 1);
  const latents = await api<{ codes: number[][] }>(
    shared,
    'GET',
    `/api/v1/runs/${result.run}/latents/0`,
    undefined,
    TOKEN,
  );
  assert.deepEqual(latents.body.codes, [
    [1, 2, 3],
    [4, 5, 6],
  ]);

  // A second sync finds nothing left to send and creates no second run.
  const again = await runSync(['--spool', dir, '--server', shared.url, '--token', TOKEN]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /up to date/);
});

test('npm run sync exits non-zero with a clear message when the server is unreachable', async () => {
  const dir = spoolDir();
  const client = await open({ server: shared.url, create: { name: 'x' }, spoolDir: dir, offline: true });
  client.push(0, { loss: 1 });
  await client.close();
  const sync = await runSync(['--spool', dir, '--server', 'http://127.0.0.1:59998']);
  assert.notEqual(sync.code, 0);
  assert.match(sync.stderr, /GW_ERR_SERVER: Server http:\/\/127\.0\.0\.1:59998: unreachable \(ECONNREFUSED\)/);
});

test('open() fails with GW_ERR_SERVER when the server is unreachable and the run is not in the spool', async () => {
  await assert.rejects(
    MonitorClient.open({ server: 'http://127.0.0.1:59998', create: { name: 'x' }, spoolDir: spoolDir() }),
    (err: GanwatchError) => err.code === 'GW_ERR_SERVER' && /unreachable \(ECONNREFUSED\)/.test(err.message),
  );
  await assert.rejects(
    MonitorClient.open({ server: 'http://127.0.0.1:59998', run: 'abc', spoolDir: spoolDir() }),
    (err: GanwatchError) => err.code === 'GW_ERR_SERVER',
  );
});

test('push() rejects input the server would refuse, before it can spoil a batch', async () => {
  const client = await open({ server: shared.url, create: { name: 'x' }, spoolDir: spoolDir(), offline: true });
  assert.throws(() => client.push(-1, { loss: 1 }), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => client.push(1.5, { loss: 1 }), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => client.push(1, { 'bad name': 1 }), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => client.push(1, {}), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => client.pushMedia(0, 0, 'samples', Buffer.from('not a png')), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.throws(() => client.pushLatents(0, 0, 3, new Float32Array(4)), { code: 'GW_ERR_MONITOR_INPUT' });
  assert.equal(client.stats().pushed, 0);
  await client.close();
});
