// Specification of crash safety: the server killed with SIGKILL at random moments while a real monitor client pushes
// 200,000 values, and a real trainer killed and resumed from its checkpoint, lose nothing, store everything exactly
// once with the values sent, and leave a database that passes PRAGMA integrity_check.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeValue, type WireValue } from '../../protocol/index.js';
import { integrityCheck, tableDigests } from '../../db/maintenance.js';
import { MonitorClient } from '../../clients/node/index.js';
import { MODEL_METRICS } from '../../trainer/models/bicyclegan.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { mulberry32 } from '../support/streams.js';
import { SMALL_VALIDATION_ARGS, TINY_MODEL_ARGS, spawnTrainer } from '../../harness/trainer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ExportRow {
  metric: string;
  step: number;
  value: WireValue | null;
  wall: number;
}

async function exportRun(server: RunningServer, run: string): Promise<ExportRow[]> {
  const res = await api<{ points: ExportRow[] }>(server, 'GET', `/api/v1/runs/${run}/export?format=json`);
  assert.equal(res.status, 200);
  return res.body.points;
}

const servers: RunningServer[] = [];
after(async () => {
  for (const s of servers) if (s.process.exitCode === null && s.process.signalCode === null) await s.stop();
});

const METRICS = 10;
const STEPS = 20_000;
/** Values that test exactness: ordinary doubles, the extremes of the format, and NaN/±Infinity. */
function valueAt(m: number, s: number): number {
  switch ((s * 7 + m) % 97) {
    case 0:
      return Number.NaN;
    case 1:
      return Number.POSITIVE_INFINITY;
    case 2:
      return Number.NEGATIVE_INFINITY;
    case 3:
      return 5e-324;
    case 4:
      return -1.7976931348623157e308;
    default:
      return Math.sin(s * 0.001 + m) * 10 ** ((m % 7) - 3) + s / 3;
  }
}

test('200,000 values pushed by a monitor client survive 6 SIGKILLs of the server at random moments, exactly once and exact', async () => {
  const seed = Number(process.env.GANWATCH_TEST_SEED ?? Date.now() % 100_000);
  const random = mulberry32(seed);
  const server = await startServer();
  servers.push(server);
  const dir = tempDir('ganwatch-crash-');
  const errors: string[] = [];
  const client = await MonitorClient.open({
    server: server.url,
    create: { name: 'crash' },
    spoolDir: join(dir, 'spool'),
    onError: (e) => errors.push(`${e.code}: ${e.message}`),
  });
  const run = client.runId!;

  // The pusher: 20,000 steps × 10 metrics spread over ~14 s, never waiting for the server.
  let pushing = true;
  const pusher = (async () => {
    const chunk = 150;
    for (let s = 0; s < STEPS; s += chunk) {
      for (let k = s; k < Math.min(STEPS, s + chunk); k++) {
        const values: Record<string, number> = {};
        for (let m = 0; m < METRICS; m++) values[`m${m}/loss`] = valueAt(m, k);
        client.push(k, values, 1_700_000_000 + k / 100);
      }
      await sleep(100);
    }
    pushing = false;
  })();

  // The killer: SIGKILL at a random moment, restart, repeat; at least 6 kills, some while the pusher still runs.
  const kills: number[] = [];
  while (kills.length < 6) {
    await sleep(400 + random() * 1600);
    const stats = client.stats();
    await server.kill();
    kills.push(stats.acked);
    await server.restart();
  }
  await pusher;
  assert.ok(!pushing);
  const settled = await client.flush(60_000);
  const stats = client.stats();
  await client.close();
  assert.ok(
    settled,
    `client settled (seed ${seed}, stats ${JSON.stringify(stats)}, errors ${errors.slice(-3).join(' | ')})`,
  );
  assert.equal(stats.acked, STEPS, `every step acked (seed ${seed})`);
  assert.equal(stats.rejected, 0);
  assert.ok(
    kills.filter((a) => a < STEPS).length >= 3,
    `at least 3 kills landed mid-stream (acked at kills: ${kills.join(', ')}; seed ${seed})`,
  );

  const rows = await exportRun(server, run);
  assert.equal(rows.length, METRICS * STEPS, `stored values (seed ${seed})`);
  const seen = new Set<string>();
  for (const r of rows) {
    const key = `${r.metric}@${r.step}`;
    assert.ok(!seen.has(key), `${key} stored once`);
    seen.add(key);
    const m = Number(/^m(\d+)\/loss$/.exec(r.metric)![1]);
    const expected = valueAt(m, r.step);
    const got = r.value === null ? Number.NaN : decodeValue(r.value);
    assert.ok(Object.is(got, expected), `${key}: stored ${String(r.value)}, sent ${expected} (seed ${seed})`);
    assert.equal(r.wall, 1_700_000_000 + r.step / 100);
  }
  assert.equal(await integrityCheck(server.dbPath), 'ok');
  assert.equal((await tableDigests(server.dbPath)).points!.rows, METRICS * STEPS);
  await server.stop();
  assert.equal(await integrityCheck(server.dbPath), 'ok');
});

test('a trainer killed twice with SIGKILL and resumed from its checkpoint leaves no gap, and the steps it redid are overwritten', async () => {
  const server = await startServer();
  servers.push(server);
  const dir = tempDir('ganwatch-trainer-crash-');
  const ck = join(dir, 'ck');
  const EPOCHS = 12;
  const PER_EPOCH = 4;
  const args = [
    '--server',
    server.url,
    '--backend',
    'wasm',
    ...TINY_MODEL_ARGS,
    '--epochs',
    String(EPOCHS),
    '--steps-per-epoch',
    String(PER_EPOCH),
    '--val-every',
    '1000',
    ...SMALL_VALIDATION_ARGS,
    '--checkpoint-every',
    '1',
    '--checkpoint-dir',
    ck,
    '--spool',
    join(dir, 'spool'),
  ];
  let log = '';
  const launch = (extra: string[]): ChildProcess => {
    const child = spawnTrainer([...args, ...extra], {
      cwd: dir,
      env: { ...process.env, GANWATCH_TOKEN: '', GANWATCH_SERVER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    return child;
  };
  const exited = (c: ChildProcess) =>
    new Promise<number | null>((r) =>
      c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code)),
    );

  let run: string | null = null;
  const lastStep = async (): Promise<number> => {
    if (run === null) {
      const runs = (await api<{ runs: Array<{ id: string }> }>(server, 'GET', '/api/v1/runs')).body.runs;
      run = runs[0]?.id ?? null;
      if (run === null) return 0;
    }
    return (await api<{ last_step: number | null }>(server, 'GET', `/api/v1/runs/${run}`)).body.last_step ?? 0;
  };

  // The trainer must not outrun the test: once it has passed `killAt`, a pause control holds it at a step boundary
  // (the step it reports in its answer), and the kill comes only when that step is stored and is not itself a
  // checkpoint step, so the resumed trainer redoes the steps after the checkpoint whatever the machine's load.
  const control = async (action: 'pause' | 'resume'): Promise<number> => {
    const sent = await api<{ id: number }>(server, 'POST', `/api/v1/runs/${run}/controls`, { action, args: {} });
    assert.equal(sent.status, 201);
    for (;;) {
      const { controls } = (
        await api<{ controls: Array<{ id: number; status: string; result_step: number | null }> }>(
          server,
          'GET',
          `/api/v1/runs/${run}/controls`,
        )
      ).body;
      const c = controls.find((x) => x.id === sent.body.id);
      if (c?.status === 'applied') return c.result_step ?? 0;
      assert.ok(c?.status !== 'failed' && child.exitCode === null, `${action} applied\n${log}`);
      await sleep(20);
    }
  };
  const pauseMidEpoch = async (): Promise<number> => {
    let at = await control('pause');
    while (at % PER_EPOCH === 0) {
      // Paused right after a checkpoint: nothing would be redone. Let it run one more step and hold it again.
      await control('resume');
      while ((await lastStep()) <= at) await sleep(20);
      at = await control('pause');
    }
    while ((await lastStep()) < at) await sleep(20); // the paused step's points are stored
    return at;
  };

  const resumes: Array<{ at: number; killedAfter: number; checkpointStep: number }> = [];
  let child = launch([]);
  for (const killAt of [10, 26]) {
    while ((await lastStep()) < killAt) {
      assert.ok(child.exitCode === null, `trainer reached step ${killAt}\n${log}`);
      await sleep(20);
    }
    const pausedAt = await pauseMidEpoch();
    assert.ok(existsSync(join(ck, 'latest', 'manifest.json')), `a checkpoint exists at step ${pausedAt}`);
    child.kill('SIGKILL');
    await exited(child);
    const manifest = JSON.parse(readFileSync(join(ck, 'latest', 'manifest.json'), 'utf8')) as {
      extra: { step: number };
    };
    resumes.push({ at: Date.now() / 1000, killedAfter: await lastStep(), checkpointStep: manifest.extra.step });
    child = launch(['--resume', ck]);
  }
  assert.equal(await exited(child), 0, log);
  assert.ok(run !== null);

  const rows = await exportRun(server, run);
  const total = EPOCHS * PER_EPOCH;
  for (const metric of MODEL_METRICS) {
    const steps = rows
      .filter((r) => r.metric === metric)
      .map((r) => r.step)
      .sort((a, b) => a - b);
    assert.deepEqual(
      steps,
      Array.from({ length: total }, (_, i) => i + 1),
      `${metric}: every step 1..${total} exactly once`,
    );
  }
  // The resume restarts from the checkpoint: the steps after it that the killed trainer had already stored were
  // trained twice, and what is stored for them must come from the resumed process (pushed after the resume).
  let redone = 0;
  for (const { at, killedAfter, checkpointStep } of resumes) {
    for (const r of rows.filter((x) => x.step > checkpointStep && x.step <= killedAfter)) {
      assert.ok(
        r.wall >= at,
        `${r.metric} step ${r.step} was overwritten by the resumed trainer (wall ${r.wall} ≥ resume ${at})`,
      );
      redone++;
    }
  }
  assert.ok(redone > 0, `some stored steps were redone (${JSON.stringify(resumes)})`);
  const status = (await api<{ status: string }>(server, 'GET', `/api/v1/runs/${run}`)).body.status;
  assert.equal(status, 'finished');
  await server.stop();
  assert.equal(await integrityCheck(server.dbPath), 'ok');
});
