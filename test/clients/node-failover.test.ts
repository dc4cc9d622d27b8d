// Failover between server addresses (servers sharing one store): a client given several addresses moves to the next
// when the one in use is gone, resends everything unacknowledged there, and loses nothing; the trainer takes the list
// as `--server URL1,URL2` or GANWATCH_SERVER=URL1,URL2; an address that is not an http(s) URL is refused by name.
// Two live servers on one SQLite file are not a valid setup (one writer), so the second server starts on the first's
// database file only after the first was killed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect, parseServers, type GanwatchError } from '../../clients/node/index.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { SMALL_VALIDATION_ARGS, TINY_MODEL_ARGS, spawnTrainer } from '../../harness/trainer.js';

const servers: RunningServer[] = [];
after(async () => {
  for (const s of servers) if (s.process.exitCode === null && s.process.signalCode === null) await s.stop();
});

/** A port nothing listens on now (the kernel's pick), for a server started later. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function lossAt(step: number): number {
  return Math.cos(step / 50) + step / 7;
}

test('a client given two addresses fails over to the second when the first is killed, and stores every value exactly once', async () => {
  const dir = tempDir('ganwatch-failover-');
  const dbPath = join(dir, 'shared.db');
  const first = await startServer({ dbPath });
  servers.push(first);
  const secondUrl = `http://127.0.0.1:${await freePort()}`;
  const problems: GanwatchError[] = [];
  const run = await connect({
    name: 'failover',
    server: [first.url, secondUrl],
    spool: join(dir, 'spool'),
    onError: (e) => problems.push(e),
  });
  assert.equal(run.server, first.url);
  for (let s = 0; s < 1000; s++) run.log({ loss: lossAt(s) }, s);
  assert.equal(await run.flush(20_000), true);

  await first.kill(); // SIGKILL: no goodbye, unacknowledged batches die with it
  for (let s = 1000; s < 3000; s++) run.log({ loss: lossAt(s) }, s);
  const second = await startServer({ dbPath, port: Number(new URL(secondUrl).port) });
  servers.push(second);
  for (let s = 3000; s < 4000; s++) run.log({ loss: lossAt(s) }, s);
  assert.equal(await run.flush(60_000), true, JSON.stringify(run.stats()));

  const stats = run.stats();
  assert.equal(run.server, second.url);
  assert.ok(stats.failovers >= 1, `failovers: ${stats.failovers}`);
  assert.equal(stats.acked, 4000);
  assert.ok(
    problems.some((e) => e.message.includes(`failing over to ${second.url}`)),
    problems.map((e) => e.message).join('\n'),
  );
  const exported = await api<{ points: Array<{ metric: string; step: number; value: number }> }>(
    second,
    'GET',
    `/api/v1/runs/${run.id}/export?format=json`,
  );
  const byStep = new Map<number, number>();
  for (const p of exported.body.points) {
    assert.ok(!byStep.has(p.step), `step ${p.step} stored once`);
    byStep.set(p.step, p.value);
  }
  assert.equal(byStep.size, 4000);
  for (let s = 0; s < 4000; s++) assert.equal(byStep.get(s), lossAt(s), `step ${s}`);
  assert.equal(await run.finish(), true);
  const stored = await api<{ status: string }>(second, 'GET', `/api/v1/runs/${run.id}`);
  assert.equal(stored.body.status, 'finished');
});

test('a wrong token is not a server gone: the client reports it once and stays on the server that refused it', async () => {
  const dir = tempDir('ganwatch-failover-token-');
  const first = await startServer({ token: 'right' });
  const second = await startServer({ token: 'right' });
  servers.push(first, second);
  const created = await connect({ name: 'token', server: first.url, token: 'right', spool: join(dir, 'spool') });
  const id = created.id!;
  await created.close();
  const problems: string[] = [];
  const run = await connect({
    resume: id,
    server: [first.url, second.url],
    token: 'wrong',
    spool: join(dir, 'spool'),
    failoverMs: 100,
    onError: (e) => problems.push(e.message),
  });
  run.log({ loss: 1 }, 0);
  // Many times the failover delay: a client that took the refusal for a dead server would have moved on by now.
  assert.equal(await run.flush(2_000), false);
  assert.equal(run.stats().failovers, 0);
  assert.equal(run.server, first.url);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, /401.*token is missing or wrong/);
  await run.close({ timeoutMs: 100 });
});

test('a server list holding an address that is not an http(s) URL is refused, naming the address', async () => {
  const dir = tempDir('ganwatch-failover-bad-');
  for (const [list, bad] of [
    ['http://127.0.0.1:8080,not a url', 'not a url'],
    ['http://127.0.0.1:8080, localhost:9090', 'localhost:9090'],
    [['http://127.0.0.1:8080', 'ftp://files.example'], 'ftp://files.example'],
  ] as const) {
    await assert.rejects(
      connect({ name: 'never', server: list, spool: join(dir, 'spool') }),
      (err: GanwatchError) => err.code === 'GW_ERR_OPTION' && err.message.includes(`'${bad}'`),
      JSON.stringify(list),
    );
  }
  await assert.rejects(connect({ name: 'never', server: ' , ', spool: join(dir, 'spool') }), {
    code: 'GW_ERR_OPTION',
  });
  assert.equal(existsSync(join(dir, 'spool')), false, 'nothing was recorded');
  assert.deepEqual(parseServers(' http://a.example:8080/ ,http://b.example:8080,http://a.example:8080 '), [
    'http://a.example:8080',
    'http://b.example:8080',
  ]);
});

/** Runs the trainer CLI with `args` and `env` from a temp folder; resolves with its exit code and output. */
function train(args: string[], env: Record<string, string>, cwd: string) {
  const child = spawnTrainer([...args], {
    cwd,
    env: { ...process.env, GANWATCH_TOKEN: '', GANWATCH_SERVER: '', GANWATCH_PORT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
}

test('the trainer refuses a bad address in --server or GANWATCH_SERVER with one GW_ERR_OPTION line', async () => {
  const dir = tempDir('ganwatch-failover-cli-');
  for (const [args, env] of [
    [['--server', 'http://127.0.0.1:8080,localhost:9090'], {}],
    [[], { GANWATCH_SERVER: 'http://127.0.0.1:8080,localhost:9090' }],
  ] as const) {
    const out = await train([...args, '--dataset', 'synthetic'], env, dir);
    assert.equal(out.code, 2, out.stderr);
    const lines = out.stderr.trim().split('\n');
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0]!, /^train: GW_ERR_OPTION: .*--server .*'localhost:9090' is not one/);
  }
});

test('a trainer given --server DEAD,LIVE creates its run on the live server and every step arrives there', async () => {
  const live = await startServer();
  servers.push(live);
  const dead = `http://127.0.0.1:${await freePort()}`;
  const dir = tempDir('ganwatch-failover-trainer-');
  const out = await train(
    [
      '--server',
      `${dead},${live.url}`,
      '--backend',
      'wasm',
      ...TINY_MODEL_ARGS,
      '--epochs',
      '1',
      '--steps-per-epoch',
      '3',
      '--val-every',
      '1000',
      ...SMALL_VALIDATION_ARGS,
      '--checkpoint-every',
      '0',
      '--spool',
      join(dir, 'spool'),
    ],
    {},
    dir,
  );
  assert.equal(out.code, 0, out.stderr + out.stdout);
  const id = /^run ([a-z0-9]+): (\S+)$/m.exec(out.stdout);
  assert.ok(id, out.stdout);
  assert.equal(id[2], `${live.url}/#/runs/${id[1]}`);
  const metrics = await api<{ metrics: Array<{ name: string; count: number; last_step: number }> }>(
    live,
    'GET',
    `/api/v1/runs/${id[1]}/metrics`,
  );
  const loss = metrics.body.metrics.find((m) => m.name === 'loss/D');
  assert.deepEqual([loss?.count, loss?.last_step], [3, 3]);
  const run = await api<{ status: string }>(live, 'GET', `/api/v1/runs/${id[1]}`);
  assert.equal(run.body.status, 'finished');
});
