// Specification of several servers on one PostgreSQL store (real server processes): live frames reach every server's
// browsers whichever server stored the data, a control issued through one server reaches the trainer connected to
// another (and so do D's verdict histograms, to the detectors), a server killed mid-ingest loses nothing (its clients fail over and every value is stored once) and its
// other runs are marked disconnected by the survivors, a run's detectors run on one server and move with its trainer,
// and servers starting together on an empty database all come up.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { connect, type Control, type Run } from '../../clients/node/index.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { freshLocation, onPostgres } from '../../harness/store.js';
import { dVerdicts, OVERLAPPING_VERDICTS, SEPARATED_VERDICTS } from '../support/streams.js';
import { FrameClient } from '../support/ws.js';

const skip: string | false =
  !onPostgres && 'needs PostgreSQL: set GANWATCH_TEST_DB (npm run test:pg); one SQLite file has one server';
const HANG_GUARD_MS = 90_000;

const running: RunningServer[] = [];
const runs: Run[] = [];
after(async () => {
  for (const r of runs) await r.close({ timeoutMs: 1000 }).catch(() => undefined);
  for (const s of running) if (s.process.exitCode === null && s.process.signalCode === null) await s.stop();
});

async function cluster(n: number): Promise<RunningServer[]> {
  const dbPath = await freshLocation();
  const servers: RunningServer[] = [];
  for (let i = 0; i < n; i++) servers.push(await startServer({ dbPath }));
  running.push(...servers);
  return servers;
}

async function open(name: string, server: string | string[]): Promise<Run> {
  const run = await connect({
    name,
    server,
    spool: join(tempDir('ganwatch-multi-'), 'spool'),
    onError: () => undefined,
  });
  runs.push(run);
  return run;
}

/** Resolves when `ready()` holds, checking whenever `tick` fires; rejects after the hang guard. */
async function until(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  const guard = Date.now() + HANG_GUARD_MS;
  while (!(await ready())) {
    if (Date.now() > guard) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function live(server: RunningServer): Promise<FrameClient> {
  const client = await FrameClient.connect(server.url.replace('http', 'ws') + '/api/v1/live');
  client.send({ type: 'subscribe', runs: ['*'] });
  await client.next((f) => f.type === 'subscribed', HANG_GUARD_MS);
  return client;
}

/** Steps of `run` seen in the live socket's points frames, each as often as it was delivered. */
function liveSteps(client: FrameClient, run: string): number[] {
  return client.frames
    .filter((f) => f.type === 'points' && f.run === run)
    .flatMap((f: { points: Array<{ step: number }> }) => f.points.map((p) => p.step));
}

async function storedSteps(server: RunningServer, run: string): Promise<number[]> {
  const res = await api<{ points: Array<{ step: number }> }>(server, 'GET', `/api/v1/runs/${run}/export?format=json`);
  return res.body.points.map((p) => p.step);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test(
  'a browser socket on a third server sees every point of runs stored through two others, each once',
  { skip },
  async () => {
    const [a, b, c] = await cluster(3);
    const watcher = await live(c!);
    const [onA, onB] = [await open('on A', a!.url), await open('on B', b!.url)];
    for (let s = 0; s < 600; s++) {
      onA.log({ loss: s }, s);
      onB.log({ loss: -s }, s);
    }
    assert.equal(await onA.flush(HANG_GUARD_MS), true);
    assert.equal(await onB.flush(HANG_GUARD_MS), true);
    await until('every point on the third server', () =>
      [onA.id!, onB.id!].every((id) => new Set(liveSteps(watcher, id)).size === 600),
    );
    for (const id of [onA.id!, onB.id!])
      assert.deepEqual(
        liveSteps(watcher, id).sort((x, y) => x - y),
        range(0, 600),
      );
    const runFrames = watcher.frames.filter((f) => f.type === 'run' && f.run.id === onA.id);
    assert.ok(runFrames.length >= 1, "the run's status changes come through too");
    await watcher.close();
  },
);

test(
  'a batch too large to carry between servers reaches a browser on another one whole and in order',
  { skip },
  async () => {
    const [a, b] = await cluster(2);
    const watcher = await live(b!);
    const run = await api<{ id: string }>(a!, 'POST', '/api/v1/runs', { name: 'large batches' });
    const big = range(0, 2000).map((step) => ({
      step,
      values: { 'loss/G': step, 'loss/D': -step, x: step % 7 === 0 ? 'NaN' : step / 2, y: 1, z: 2 },
    }));
    assert.equal((await api(a!, 'POST', `/api/v1/runs/${run.body.id}/points`, { points: big })).status, 200);
    const small = [{ step: 2000, values: { 'loss/G': 1 } }];
    assert.equal((await api(a!, 'POST', `/api/v1/runs/${run.body.id}/points`, { points: small })).status, 200);
    await until('both batches on the other server', () => liveSteps(watcher, run.body.id).includes(2000));
    const frames = watcher.frames.filter((f) => f.type === 'points' && f.run === run.body.id);
    assert.deepEqual(
      frames.map((f: { points: unknown[] }) => f.points.length),
      [2000, 1],
    );
    const first = frames[0]!.points as Array<{ step: number; values: Record<string, unknown> }>;
    const { step, values } = first[7]!;
    assert.deepEqual({ step, values }, { step: 7, values: { 'loss/D': -7, 'loss/G': 7, x: 'NaN', y: 1, z: 2 } });
    assert.deepEqual(
      first.map((p) => p.step),
      range(0, 2000),
    );
    await watcher.close();
  },
);

test(
  'a control issued through server B is delivered to the trainer on server A, applied, and seen on C',
  { skip },
  async () => {
    const [a, b, c] = await cluster(3);
    const watcher = await live(c!);
    const run = await open('controlled', a!.url);
    run.log({ loss: 1 }, 0);
    assert.equal(await run.flush(HANG_GUARD_MS), true);
    const received = new Promise<Control>((resolve) => run.onControl(resolve));
    const issued = await api<{ id: number; status: string }>(b!, 'POST', `/api/v1/runs/${run.id}/controls`, {
      action: 'set_lr',
      args: { net: 'G', value: 0.0001 },
    });
    assert.equal(issued.status, 201);
    const control = await received;
    assert.equal(control.id, issued.body.id);
    assert.equal(control.action, 'set_lr');
    run.answer(control.id, true, 0);
    const applied = await watcher.next(
      (f) => f.type === 'control' && f.control.id === control.id && f.control.status === 'applied',
      HANG_GUARD_MS,
    );
    assert.equal(applied.run, run.id);
    const listed = await api<{ controls: Array<{ id: number; status: string }>; trainer_connected: boolean }>(
      b!,
      'GET',
      `/api/v1/runs/${run.id}/controls`,
    );
    assert.equal(listed.body.controls.find((x) => x.id === control.id)?.status, 'applied');
    assert.equal(listed.body.trainer_connected, true, 'B knows the trainer is connected (to A)');
    await watcher.close();
  },
);

test("a control issued through server B answers a trainer's long poll open on server A", { skip }, async () => {
  const [a, b] = await cluster(2);
  const created = await api<{ id: string }>(a!, 'POST', '/api/v1/runs', { name: 'polling' });
  // A trainer's loop: poll again whenever a poll ends empty (after 30 s).
  const poll = (async () => {
    for (;;) {
      const r = await api<{ controls: Array<{ id: number; action: string }> }>(
        a!,
        'GET',
        `/api/v1/runs/${created.body.id}/controls/next?wait=30`,
      );
      if (r.body.controls.length) return r;
    }
  })();
  // The poll is open once A counts the trainer as connected (it then holds the run).
  await until('the poll to be open', async () => {
    const r = await api<{ trainer_connected: boolean }>(b!, 'GET', `/api/v1/runs/${created.body.id}/controls`);
    return r.body.trainer_connected;
  });
  const issued = await api<{ id: number }>(b!, 'POST', `/api/v1/runs/${created.body.id}/controls`, {
    action: 'pause',
    args: {},
  });
  const answered = await poll;
  assert.deepEqual(
    answered.body.controls.map((x) => [x.id, x.action]),
    [[issued.body.id, 'pause']],
  );
});

test(
  'server A killed mid-ingest: its clients fail over to B, every value is stored once, and its other runs become disconnected',
  { skip },
  async () => {
    const [a, b] = await cluster(2);
    const moving = await open('fails over', [a!.url, b!.url]);
    const stranded = await open('only A', a!.url);
    for (let s = 0; s < 1000; s++) moving.log({ loss: s / 3 }, s);
    stranded.log({ loss: 0 }, 0);
    assert.equal(await moving.flush(HANG_GUARD_MS), true);
    assert.equal(await stranded.flush(HANG_GUARD_MS), true);
    for (let s = 1000; s < 2000; s++) moving.log({ loss: s / 3 }, s);
    await a!.kill(); // SIGKILL while the second half is in flight
    for (let s = 2000; s < 3000; s++) moving.log({ loss: s / 3 }, s);
    assert.equal(await moving.flush(HANG_GUARD_MS), true, JSON.stringify(moving.stats()));
    assert.equal(moving.server, b!.url);

    const steps = await storedSteps(b!, moving.id!);
    assert.equal(steps.length, 3000, 'no step stored twice or lost');
    assert.deepEqual(
      [...steps].sort((x, y) => x - y),
      range(0, 3000),
    );
    // The run whose trainer only knew A loses it when B finds A's heartbeat stale; the one that moved stays running.
    const status = async (id: string): Promise<string> =>
      (await api<{ status: string }>(b!, 'GET', `/api/v1/runs/${id}`)).body.status;
    await until('the stranded run to be disconnected', async () => (await status(stranded.id!)) === 'disconnected');
    assert.equal(await status(moving.id!), 'running');
  },
);

test('two servers started at the same moment on an empty database both come up and share it', { skip }, async () => {
  const dbPath = await freshLocation();
  const both = await Promise.all([startServer({ dbPath }), startServer({ dbPath })]);
  running.push(...both);
  const created = await api<{ id: string }>(both[0], 'POST', '/api/v1/runs', { name: 'shared' });
  assert.equal(created.status, 201);
  const seen = await api<{ runs: Array<{ id: string }> }>(both[1], 'GET', '/api/v1/runs');
  assert.deepEqual(
    seen.body.runs.map((r) => r.id),
    [created.body.id],
  );
});

/** detectors.md §2's must-fire stream for D (as in alerts-e2e): 2000 healthy steps, then D overpowering. */
function overpowering(from: number, n: number): Array<{ step: number; values: Record<string, number> }> {
  const dEq = 2 * 2 * Math.LN2;
  return Array.from({ length: n }, (_, i) => {
    const f = i < 2000 ? 0 : Math.min(1, (i - 2000) / 300);
    const acc = 0.7 + 0.29 * f;
    return { step: from + i, values: { D_real_acc: acc, D_fake_acc: acc, 'loss/D': dEq * (1 - 0.95 * f) } };
  });
}

test(
  "a run's detectors run only on the server holding its trainer: points posted through another fire one alert there",
  { skip },
  async () => {
    const [a, b, c] = await cluster(3);
    const watcher = await live(c!);
    const trainer = await open('watched on A', a!.url);
    trainer.log({ loss: 0 }, 0);
    assert.equal(await trainer.flush(HANG_GUARD_MS), true);
    const stream = overpowering(1, 3600);
    for (let i = 0; i < stream.length; i += 600) {
      const res = await api(b!, 'POST', `/api/v1/runs/${trainer.id}/points`, { points: stream.slice(i, i + 600) });
      assert.equal(res.status, 200);
    }
    const fired = await watcher.next(
      (f) => f.type === 'alert' && f.alert.rule === 'd_overpowering' && f.alert.key === 'D',
      HANG_GUARD_MS,
    );
    // Every batch has been watched once B's last one reached A; then the store holds exactly one such alert.
    await until('the last step to be seen on C', () => liveSteps(watcher, trainer.id!).includes(3600));
    const alerts = await api<{ alerts: Array<{ id: number; key: string }> }>(
      c!,
      'GET',
      `/api/v1/runs/${trainer.id}/alerts?rule=d_overpowering`,
    );
    assert.deepEqual(
      alerts.body.alerts.filter((x) => x.key === 'D').map((x) => x.id),
      [fired.alert.id],
    );
    await watcher.close();
  },
);

test(
  "D's verdict histograms posted through another server reach the holder's detectors, which hold the alert back until D separates",
  { skip },
  async () => {
    const [a, b, c] = await cluster(3);
    const watcher = await live(c!);
    const trainer = await open('verdicts through B', a!.url);
    trainer.log({ loss: 0 }, 0);
    assert.equal(await trainer.flush(HANG_GUARD_MS), true);
    // D wins on accuracy from step ~2,300 (alone that fires by ~3,000); its verdicts overlap until 4,000, then part.
    const stream = overpowering(1, 5000);
    for (let i = 0; i < stream.length; i += 100) {
      const points = stream.slice(i, i + 100);
      assert.equal((await api(b!, 'POST', `/api/v1/runs/${trainer.id}/points`, { points })).status, 200);
      const distributions = points
        .filter((p) => p.step % 10 === 0)
        .flatMap((p) => dVerdicts(p.step, p.step < 4000 ? OVERLAPPING_VERDICTS : SEPARATED_VERDICTS));
      assert.equal((await api(b!, 'POST', `/api/v1/runs/${trainer.id}/distributions`, { distributions })).status, 200);
    }
    const fired = await watcher.next(
      (f) => f.type === 'alert' && f.alert.rule === 'd_overpowering' && f.alert.key === 'D',
      HANG_GUARD_MS,
    );
    assert.ok(fired.alert.evidence.step > 4000, `fired at ${fired.alert.evidence.step}`);
    assert.equal(fired.alert.evidence.separation, 1);
    await watcher.close();
  },
);

test(
  "a run's detectors move with its trainer: after failover the new server resolves the alert the old one opened",
  { skip },
  async () => {
    const [a, b, c] = await cluster(3);
    const watcher = await live(c!);
    const trainer = await open('moves from A to B', [a!.url, b!.url]);
    trainer.log({ loss: 0 }, 0);
    assert.equal(await trainer.flush(HANG_GUARD_MS), true);
    const post = async (points: ReturnType<typeof overpowering>): Promise<void> => {
      for (let i = 0; i < points.length; i += 600) {
        const res = await api(c!, 'POST', `/api/v1/runs/${trainer.id}/points`, { points: points.slice(i, i + 600) });
        assert.equal(res.status, 200);
      }
    };
    await post(overpowering(1, 3600));
    const fired = await watcher.next(
      (f) => f.type === 'alert' && f.alert.rule === 'd_overpowering' && f.alert.state === 'firing',
      HANG_GUARD_MS,
    );
    await until('A to have seen the last step', () => liveSteps(watcher, trainer.id!).includes(3600));

    await a!.kill();
    trainer.log({ loss: 0 }, 3601);
    assert.equal(await trainer.flush(HANG_GUARD_MS), true); // acked by B, which claimed the run before acking
    assert.equal(trainer.server, b!.url);
    // D healthy again (accuracy 0.7) for 2,000 steps: B builds its detectors, restores the firing alert from the store,
    // and resolves it. Without that state it would have nothing to resolve.
    await post(overpowering(3602, 2000));
    const resolved = await watcher.next(
      (f) => f.type === 'alert' && f.alert.id === fired.alert.id && f.alert.state === 'resolved',
      HANG_GUARD_MS,
    );
    assert.ok(resolved.alert.resolved_at >= 3602);
    const alerts = await api<{ alerts: Array<{ id: number }> }>(
      b!,
      'GET',
      `/api/v1/runs/${trainer.id}/alerts?rule=d_overpowering`,
    );
    assert.deepEqual(
      alerts.body.alerts.map((x) => x.id),
      [fired.alert.id],
    );
    await watcher.close();
  },
);

test(
  "a run's detectors keep their history through a failover: an alert building up on A fires on B without a new warm-up",
  { skip },
  async () => {
    const [a, b, c] = await cluster(3);
    const watcher = await live(c!);
    const trainer = await open('builds up on A', [a!.url, b!.url]);
    trainer.log({ loss: 0 }, 0);
    assert.equal(await trainer.flush(HANG_GUARD_MS), true);
    const stream = overpowering(1, 3600); // D starts to win at step 2,000; the rule fires ~500 steps after it does
    const post = async (points: ReturnType<typeof overpowering>): Promise<void> => {
      for (let i = 0; i < points.length; i += 600) {
        const res = await api(c!, 'POST', `/api/v1/runs/${trainer.id}/points`, { points: points.slice(i, i + 600) });
        assert.equal(res.status, 200);
      }
    };
    await post(stream.slice(0, 2400));
    await post([{ step: 2401, values: { loss: 0 } }]); // committed once A's detectors have seen step 2,400
    assert.equal(
      (await api<{ alerts: unknown[] }>(c!, 'GET', `/api/v1/runs/${trainer.id}/alerts?rule=d_overpowering`)).body.alerts
        .length,
      0,
    );

    await a!.kill();
    trainer.log({ loss: 0 }, 2402);
    assert.equal(await trainer.flush(HANG_GUARD_MS), true);
    assert.equal(trainer.server, b!.url);
    // B learns from the stored history before judging step 2,403: a fresh detector would be silent for its 1,000-step
    // warm-up, i.e. until after the stream's end.
    await post(stream.slice(2402));
    const fired = await watcher.next(
      (f) => f.type === 'alert' && f.run === trainer.id && f.alert.rule === 'd_overpowering' && f.alert.key === 'D',
      HANG_GUARD_MS,
    );
    assert.ok(fired.alert.step_opened < 3600, `opened at ${fired.alert.step_opened}`);
    await watcher.close();
  },
);

test('a server whose link to the others was cut tells its browsers to reload once it is back', { skip }, async () => {
  const [a, b] = await cluster(2);
  const watcher = await live(a!);
  const onB = await live(b!);
  const trainer = await open('seen through A', b!.url);
  trainer.log({ loss: 0 }, 0);
  assert.equal(await trainer.flush(HANG_GUARD_MS), true);
  await watcher.next((f) => f.type === 'points' && f.run === trainer.id, HANG_GUARD_MS);
  // Every server's LISTEN connection is cut; each reconnects, and frames sent meanwhile are lost.
  const admin = new pg.Client({ connectionString: a!.dbPath });
  await admin.connect();
  await admin.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ganwatch-events' AND datname = current_database()",
  );
  await admin.end();
  await watcher.next((f) => f.type === 'resync', HANG_GUARD_MS);
  await onB.next((f) => f.type === 'resync', HANG_GUARD_MS);
  // And the link works again both ways: a point stored through B reaches A's browser.
  trainer.log({ loss: 1 }, 1);
  assert.equal(await trainer.flush(HANG_GUARD_MS), true);
  await until('step 1 to reach A', () => liveSteps(watcher, trainer.id!).includes(1));
  await watcher.close();
  await onB.close();
});

test(
  'a remedy applied through a server that does not hold the run cools the rule down on the server that does',
  { skip },
  async () => {
    const [a, b] = await cluster(2);
    const watcher = await live(b!);
    // A cooldown longer than the test: once a remedy is applied, the rule may resolve its alert but not open another.
    const alerts = { rules: { d_overpowering: { cooldown: 10_000_000 } } };
    const openOnA = async (name: string): Promise<Run> => {
      const run = await connect({ name, server: a!.url, alerts, spool: join(tempDir('ganwatch-multi-'), 'spool') });
      runs.push(run);
      run.log({ loss: 0 }, 0);
      assert.equal(await run.flush(HANG_GUARD_MS), true);
      return run;
    };
    // Posted to A, the holder; each POST returns after its commit, which waits for the detectors to see the previous.
    const post = async (run: Run, points: ReturnType<typeof overpowering>): Promise<void> => {
      for (let i = 0; i < points.length; i += 600) {
        const res = await api(a!, 'POST', `/api/v1/runs/${run.id}/points`, { points: points.slice(i, i + 600) });
        assert.equal(res.status, 200);
      }
    };
    const alertFrame = (run: Run, state: string) =>
      watcher.next(
        (f) =>
          f.type === 'alert' &&
          f.run === run.id &&
          f.alert.rule === 'd_overpowering' &&
          f.alert.key === 'D' &&
          f.alert.state === state,
        HANG_GUARD_MS,
      );
    /** Fires, optionally applies the remedy through B, resolves, then overpowers D again; returns the D alerts. */
    const overpowerTwice = async (run: Run, applyThroughB: boolean): Promise<number[]> => {
      await post(run, overpowering(1, 3600));
      const fired = await alertFrame(run, 'firing');
      if (applyThroughB) assert.equal((await api(b!, 'POST', `/api/v1/alerts/${fired.alert.id}/apply`)).status, 201);
      await post(run, overpowering(3601, 2000)); // healthy: the alert resolves (a cooldown lets it)
      await alertFrame(run, 'resolved');
      await post(run, overpowering(5601, 3600));
      await post(run, [{ step: 9201, values: { loss: 0 } }]); // committed once the detectors have seen step 9200
      const listed = await api<{ alerts: Array<{ id: number; key: string }> }>(
        b!,
        'GET',
        `/api/v1/runs/${run.id}/alerts?rule=d_overpowering`,
      );
      return listed.body.alerts.filter((x) => x.key === 'D').map((x) => x.id);
    };

    const unremedied = await openOnA('overpowered twice, no remedy');
    assert.equal((await overpowerTwice(unremedied, false)).length, 2, 'without a remedy the second bout fires again');
    const remedied = await openOnA('overpowered twice, remedy applied through B');
    assert.equal((await overpowerTwice(remedied, true)).length, 1, 'the remedy applied on B cooled the rule on A');
    await watcher.close();
  },
);
