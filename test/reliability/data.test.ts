// Specification of data management through the `ganwatch` command: `serve` is the server, `backup` takes a consistent
// copy of a database a live server is writing, `prune` and `serve --retention-days` delete runs that ended long ago
// (never running or disconnected ones), `check` checks the stored data. On SQLite and (npm run test:pg) on PostgreSQL,
// whose backup is a pg_dump archive, restored here with pg_restore to be checked.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { integrityCheck } from '../../db/maintenance.js';
import { openStore } from '../../db/store.js';
import { buildApp } from '../../server/app.js';
import { DAY_S, pruneEndedRuns } from '../../server/services/retention.js';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { createPgDatabase, onPostgres, openTestStore } from '../../harness/store.js';

const GANWATCH = join(ROOT, 'bin/ganwatch.js');
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [GANWATCH, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GANWATCH_DB: '', GANWATCH_SERVER: '', GANWATCH_TOKEN: '', ...env },
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CLI without blocking this process (the test's own sockets keep working meanwhile). */
function cliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [GANWATCH, ...args], {
    cwd: ROOT,
    env: { ...process.env, GANWATCH_DB: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stdout, stderr })));
}

test('ganwatch serve starts the server like npm start, and SIGTERM stops it cleanly', async () => {
  const dir = tempDir('ganwatch-cli-');
  const child = spawn(process.execPath, [GANWATCH, 'serve', '--port', '0', '--db', join(dir, 'g.db')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  assert.equal((await fetch(`${url}/api/v1/health`)).status, 200);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0);
  assert.equal(cli(['check', '--db', join(dir, 'g.db')]).stdout.trim(), `check: ${join(dir, 'g.db')}: ok`);
});

test('ganwatch backup copies a database while a trainer writes into it: a consistent, checked, self-contained file', async () => {
  const server = await startServer();
  try {
    await backupWhileWriting(server);
  } finally {
    await server.stop();
  }
});

/** Where a backup file can be opened as a store: the file itself (SQLite), or a new database pg_restore filled. */
async function restore(file: string): Promise<string> {
  if (!onPostgres) return file;
  const url = await createPgDatabase();
  const r = spawnSync('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', url, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return url;
}

async function backupWhileWriting(server: RunningServer): Promise<void> {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'busy' })).body.id;
  const histogram = { name: 'D/real', step: 0, wall: 5, edges: [0, 0.5, 2], counts: [3, 1], nonFinite: 1 };
  await api(server, 'POST', `/api/v1/runs/${run}/distributions`, { distributions: [histogram] });
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/ingest?run=${run}`);
  await new Promise((r) => ws.once('open', r));
  // A trainer writing 50-step frames of 8 metrics as fast as acks come back, during the whole backup.
  let writing = true;
  let step = 0;
  let acked = 0;
  const writer = (async () => {
    for (let seq = 0; writing; seq++) {
      const points = Array.from({ length: 50 }, () => ({
        step: step++,
        values: Object.fromEntries(Array.from({ length: 8 }, (_, m) => [`m${m}`, step * m])),
      }));
      await new Promise<void>((resolve) => {
        ws.once('message', () => resolve());
        ws.send(JSON.stringify({ type: 'points', seq, points }));
      });
      acked = step;
    }
  })();
  await sleep(1500);
  const backupFile = join(tempDir('ganwatch-backup-'), 'copy.db');
  const ackedBefore = acked;
  const out = await cliAsync(['backup', backupFile, '--db', server.dbPath]);
  const ackedAfter = acked;
  writing = false;
  await writer;
  ws.close();
  assert.equal(out.status, 0, out.stderr);
  assert.match(
    out.stdout,
    /^backup: .* → .*copy\.db: [\d.]+ MB, (\d+ pages|pg_dump custom format) in [\d.]+ s; integrity ok\n$/,
  );
  assert.ok(ackedAfter > ackedBefore, 'the trainer kept writing during the backup');
  assert.ok(!existsSync(`${backupFile}-wal`) && !existsSync(`${backupFile}-shm`), 'the backup is one file');
  const restored = await restore(backupFile);
  assert.equal(await integrityCheck(restored), 'ok');

  // A consistent snapshot: whole batches only (every step has all 8 metrics), between what was acked before and after.
  const copy = await openStore(restored);
  try {
    const rid = (await copy.runs.ref(run))!.rid;
    const summaries = await copy.series.summaries(rid);
    assert.equal(summaries.length, 8);
    const counts = new Set(summaries.map((m) => m.count));
    assert.equal(counts.size, 1, `every metric has the same number of points: ${[...counts].join(', ')}`);
    const steps = summaries[0]!.count;
    assert.equal(steps % 50, 0, 'whole frames only');
    assert.ok(steps >= ackedBefore && steps <= ackedAfter, `${steps} steps, acked ${ackedBefore}..${ackedAfter}`);
    assert.deepEqual(new Set(summaries.map((m) => m.last_step)), new Set([steps - 1]));
    const pages = [];
    for await (const page of copy.distributions.exportRun(rid)) pages.push(...page);
    assert.deepEqual(pages, [histogram], 'the distributions are in the backup');
  } finally {
    await copy.close();
  }
}

test('ganwatch backup refuses to overwrite without --force, and a missing database, in one line with exit code 2', async () => {
  const dir = tempDir('ganwatch-backup-');
  const db = join(dir, 'g.db');
  await (await openStore(db)).close();
  assert.equal(cli(['backup', join(dir, 'b.db'), '--db', db]).status, 0);
  const again = cli(['backup', join(dir, 'b.db'), '--db', db]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /^ganwatch: GW_ERR_BACKUP: .*exists \(use --force/);
  assert.equal(cli(['backup', join(dir, 'b.db'), '--db', db, '--force']).status, 0);
  const missing = cli(['backup', join(dir, 'c.db'), '--db', join(dir, 'nope.db')]);
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
});

/** Creates runs: two that end now, one running, one that a trainer left disconnected. */
async function makeRuns(server: { url: string }): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const name of ['finished', 'failed', 'running', 'disconnected']) {
    ids[name] = (await api(server, 'POST', '/api/v1/runs', { name })).body.id;
    await api(server, 'POST', `/api/v1/runs/${ids[name]}/points`, { points: [{ step: 1, values: { a: 1 } }] });
  }
  await api(server, 'PATCH', `/api/v1/runs/${ids.finished}`, { status: 'finished' });
  await api(server, 'PATCH', `/api/v1/runs/${ids.failed}`, { status: 'failed' });
  await api(server, 'PATCH', `/api/v1/runs/${ids.disconnected}`, { status: 'disconnected' });
  return ids;
}

const names = async (server: { url: string }): Promise<string[]> =>
  ((await api(server, 'GET', '/api/v1/runs')).body.runs as Array<{ name: string }>).map((r) => r.name).sort();

test('serve --retention-days deletes at start-up the runs that ended before the window, never running or disconnected ones', async () => {
  const server = await startServer();
  await makeRuns(server);
  // A lower bound only (the prune happens later still, however slow the restart): every ended run is older than
  // the 0.00001-day (0.86 s) window when the restarted server prunes.
  await sleep(1500);
  await server.stop();
  const pruned = await startServer({ dbPath: server.dbPath, extraArgs: ['--retention-days', '0.00001'] });
  try {
    assert.deepEqual(await names(pruned), ['disconnected', 'running']);
  } finally {
    await pruned.stop();
  }
  assert.equal(await integrityCheck(server.dbPath), 'ok');
});

test('retention deletes the runs that ended before the window and keeps the one that ended inside it', async () => {
  const store = await openTestStore();
  const { app, ctx } = await buildApp({ store, token: null, readToken: null, rateLimit: 0 });
  try {
    const ended = async (name: string): Promise<{ id: string; at: number }> => {
      const id = (await store.runs.create({ name })).id;
      return { id, at: (await store.runs.update(id, { status: 'finished' }))!.updated_at };
    };
    const old = await ended('old');
    await sleep(50); // the two end times must differ; pruning below uses its own clock, not this one
    const recent = await ended('recent');
    assert.ok(recent.at > old.at);
    // The window's edge halfway between the two end times, seen from the moment the recent run ended.
    const days = (recent.at - old.at) / 2 / DAY_S;
    assert.deepEqual(await pruneEndedRuns(ctx, days, recent.at), [old.id]);
    assert.deepEqual(
      (await store.runs.list()).map((r) => r.name),
      ['recent'],
    );
  } finally {
    await app.close();
    await store.close();
  }
});

test('ganwatch prune works through a running server, refuses its file while it runs, and works on the file once stopped', async () => {
  const server = await startServer({ token: 'w' });
  try {
    await pruneScenario(server);
  } finally {
    if (server.process.exitCode === null && server.process.signalCode === null) await server.stop();
  }
});

async function pruneScenario(server: RunningServer): Promise<void> {
  const ids: Record<string, string> = {};
  for (const name of ['old-finished', 'running'])
    ids[name] = (await api(server, 'POST', '/api/v1/runs', { name }, 'w')).body.id;
  await api(server, 'PATCH', `/api/v1/runs/${ids['old-finished']}`, { status: 'finished' }, 'w');
  await sleep(1500);

  if (!onPostgres) {
    // A SQLite file a server has open is refused (PostgreSQL is pruned directly: see the next test).
    const busy = cli(['prune', '--retention-days', '0.00001', '--db', server.dbPath]);
    assert.equal(busy.status, 2);
    assert.match(busy.stderr, /GW_ERR_DB_IN_USE/);
  }

  const dry = cli(['prune', '--retention-days', '0.00001', '--server', server.url, '--dry-run'], {
    GANWATCH_TOKEN: 'w',
  });
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`would delete 1 run\\(s\\).*${ids['old-finished']}`));
  assert.equal((await names(server)).length, 2);

  const noToken = cli(['prune', '--retention-days', '0.00001', '--server', server.url]);
  assert.equal(noToken.status, 2);
  const done = cli(['prune', '--retention-days', '0.00001', '--server', server.url, '--token', 'w']);
  assert.equal(done.status, 0, done.stderr);
  assert.deepEqual(await names(server), ['running']);

  await api(server, 'PATCH', `/api/v1/runs/${ids.running}`, { status: 'failed' }, 'w');
  await server.stop();
  await sleep(1200);
  const offline = cli(['prune', '--retention-days', '0.00001', '--db', server.dbPath]);
  assert.equal(offline.status, 0, offline.stderr);
  assert.match(offline.stdout, /deleted 1 run/);
  assert.equal(await integrityCheck(server.dbPath), 'ok');
}

test(
  'on PostgreSQL, ganwatch prune deletes ended runs straight from the database while a server keeps serving',
  { skip: !onPostgres && 'needs PostgreSQL (npm run test:pg)' },
  async () => {
    const server = await startServer();
    try {
      const ids = await makeRuns(server);
      await sleep(1500);
      const out = cli(['prune', '--retention-days', '0.00001', '--db', server.dbPath]);
      assert.equal(out.status, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`deleted 2 run\\(s\\).*${ids.finished}`));
      assert.deepEqual(await names(server), ['disconnected', 'running']);
      // The server goes on writing into the runs that are left.
      const write = await api(server, 'POST', `/api/v1/runs/${ids.running}/points`, {
        points: [{ step: 2, values: { a: 2 } }],
      });
      assert.equal(write.status, 200);
      assert.equal((await api(server, 'GET', `/api/v1/runs/${ids.finished}`)).status, 404);
      assert.equal(await integrityCheck(server.dbPath), 'ok');
    } finally {
      await server.stop();
    }
  },
);
