// Specification of the liveness rules (server/alerts/liveness/): the verdicts as pure functions of the run, the clock
// and the learnt step interval; and LivenessWatch inside a real server context on a real store (SQLite, or PostgreSQL
// under `npm run test:pg`), driven by points written through the ingest path, status changes, and explicit clock ticks
// (tick(nowMs) at chosen times past the store's last_seen_at): no sleeping.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Alert, Point } from '../../protocol/index.js';
import type { RunRef, Store } from '../../db/store.js';
import { openTestStore } from '../../harness/store.js';
import { DETECTOR_FACTORIES } from '../../server/alerts/registry.js';
import {
  crashedVerdict,
  endedVerdict,
  HANG_DEFAULTS,
  hangThreshold,
  hangVerdict,
  StepIntervals,
} from '../../server/alerts/liveness/rules.js';
import { createContext, type ServerContext } from '../../server/context.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const HANG = HANG_DEFAULTS.params;

test('the hang threshold is max(floor, k × median interval)', () => {
  assert.equal(hangThreshold(HANG, null), 300);
  assert.equal(hangThreshold(HANG, 1), 300);
  assert.equal(hangThreshold(HANG, 60), 1200);
  assert.equal(hangThreshold({ ...HANG, floorMinutes: 0.5, intervals: 3 }, 20), 60);
});

test('run_hang judges only a running run that pushed, by the silence since its last push', () => {
  const t = 1_800_000_000;
  const run = { status: 'running' as const, last_seen_at: t, last_step: 41 };
  assert.equal(hangVerdict(run, (t + 300) * 1000, HANG, 2).enter, false);
  const v = hangVerdict(run, (t + 301) * 1000, HANG, 2);
  assert.ok(v.enter);
  assert.equal(v.severity, 'critical');
  assert.match(v.message, /No data for 5 min while running .*after step 41/);
  assert.equal(v.evidence.threshold_s, 300);
  assert.equal(hangVerdict({ ...run, status: 'paused' }, (t + 9999) * 1000, HANG, 2).enter, false);
  assert.equal(hangVerdict({ ...run, last_seen_at: null }, (t + 9999) * 1000, HANG, 2).enter, false);
});

test('run_crashed: disconnected for longer than N minutes; run_ended: failed, and finished unless told not to', () => {
  const t = 1_800_000_000;
  const run = { status: 'disconnected' as const, updated_at: t, last_step: 7 };
  assert.equal(crashedVerdict(run, (t + 600) * 1000, { minutes: 10 }).enter, false);
  assert.equal(crashedVerdict(run, (t + 601) * 1000, { minutes: 10 }).enter, true);
  assert.equal(crashedVerdict({ ...run, status: 'running' }, (t + 6000) * 1000, { minutes: 10 }).enter, false);
  assert.equal(endedVerdict({ status: 'finished', last_step: 1 }, { finished: 1 }).enter, true);
  assert.equal(endedVerdict({ status: 'finished', last_step: 1 }, { finished: 0 }).enter, false);
  assert.equal(endedVerdict({ status: 'failed', last_step: 1 }, { finished: 0 }).enter, true);
  assert.equal(endedVerdict({ status: 'running', last_step: 1 }, { finished: 1 }).enter, false);
});

test('the step-interval learner takes the median wall time between increasing steps', () => {
  const learner = new StepIntervals(HANG);
  assert.equal(learner.median(), null);
  const walls = [0, 1, 2, 3, 13, 14, 15]; // one 10 s gap among 1 s steps
  walls.forEach((wall, step) => learner.observe({ step, wall, values: new Map() }));
  learner.observe({ step: 6, wall: 99, values: new Map() }); // the same step again (a validation): no interval
  assert.equal(learner.median(), 1);
  assert.equal(learner.threshold(), 300);
});

// ---------------------------------------------------------------- LivenessWatch in a real context

let store: Store;
let ctx: ServerContext;
const hooks = new WebhookReceiver();

before(async () => {
  const url = await hooks.start();
  store = await openTestStore();
  ctx = createContext(
    store,
    { token: null, readToken: null },
    {
      detectors: DETECTOR_FACTORIES,
      webhooks: [url],
      publicUrl: 'http://dash.example',
    },
  );
  await ctx.presence.start(); // a live server: it leads the runs no server holds
});

after(async () => {
  await ctx.presence.stop();
  ctx.webhooks.close();
  await store.close();
  await hooks.stop();
});

async function newRun(name: string, alerts?: object): Promise<RunRef> {
  const run = await store.runs.create({ name });
  const ref = (await store.runs.ref(run.id))!;
  if (alerts) await ctx.alerts.setRunConfig(ref, alerts);
  return ref;
}

/** Pushes steps from..to with trainer wall times `every` seconds apart, through the ingest path (detectors included). */
async function push(ref: RunRef, from: number, to: number, every: number): Promise<void> {
  const points: Point[] = [];
  for (let s = from; s <= to; s++) points.push({ step: s, wall: 1_700_000_000 + s * every, values: { 'loss/G': 1 } });
  await ctx.ingest.write(ref, points);
}

async function lastSeenMs(ref: RunRef): Promise<number> {
  return (await store.runs.get(ref.id))!.last_seen_at! * 1000;
}

async function alertsOf(ref: RunRef, rule: string): Promise<Alert[]> {
  return (await store.alerts.list({ rid: ref.rid, rule })).sort((a, b) => a.id - b.id);
}

test('a silent running run raises run_hang past max(floor, 20 × its step interval) and resolves when it pushes again', async () => {
  // Floor 30 s; steps 1 s apart → 20 × 1 s = 20 s < 30 s: the floor decides.
  const ref = await newRun('hangs', { rules: { run_hang: { params: { floorMinutes: 0.5 } } } });
  await push(ref, 0, 40, 1);
  const seen = await lastSeenMs(ref);
  await ctx.liveness.tick(seen + 29_000);
  assert.deepEqual(await alertsOf(ref, 'run_hang'), []);
  await ctx.liveness.tick(seen + 31_000);
  const [alert] = await alertsOf(ref, 'run_hang');
  assert.equal(alert?.state, 'firing');
  assert.equal(alert.severity, 'critical');
  assert.equal(alert.step_opened, 40);
  assert.equal(alert.evidence.threshold_s, 30);
  assert.equal(alert.evidence.median_interval_s, 1);
  await ctx.liveness.tick(seen + 60_000); // still silent: the same alert, not a second
  assert.equal((await alertsOf(ref, 'run_hang')).length, 1);

  await push(ref, 41, 41, 1);
  await ctx.liveness.tick((await lastSeenMs(ref)) + 1000);
  const [resolved] = await alertsOf(ref, 'run_hang');
  assert.equal(resolved?.state, 'resolved');
  assert.equal(resolved.step_closed, 41);
  await ctx.webhooks.drain();
  assert.deepEqual(hooks.events('run_hang'), ['firing run_hang', 'resolved run_hang']);
});

test('a run with slow steps gets 20 × its median interval, not the floor', async () => {
  const ref = await newRun('slow steps');
  await push(ref, 0, 10, 60); // 60 s per step → 1200 s
  const seen = await lastSeenMs(ref);
  await ctx.liveness.tick(seen + 1_199_000);
  assert.deepEqual(await alertsOf(ref, 'run_hang'), []);
  await ctx.liveness.tick(seen + 1_201_000);
  assert.equal((await alertsOf(ref, 'run_hang'))[0]?.evidence.threshold_s, 1200);
});

test('a run that never pushed, a paused run and a run with run_hang disabled raise nothing', async () => {
  const quiet = await newRun('never pushed');
  const paused = await newRun('paused');
  await push(paused, 0, 5, 1);
  await ctx.setStatus(paused, 'paused');
  const off = await newRun('off', { rules: { run_hang: { enabled: false } } });
  await push(off, 0, 5, 1);
  await ctx.liveness.tick((await lastSeenMs(off)) + 3_600_000);
  for (const ref of [quiet, paused, off]) assert.deepEqual(await alertsOf(ref, 'run_hang'), [], ref.id);
});

test('a run held by another live server is judged there, not here', async () => {
  const ref = await newRun('held elsewhere', { rules: { run_hang: { params: { floorMinutes: 0.5 } } } });
  await push(ref, 0, 5, 1);
  await store.presence.beat('other-server', 5);
  await store.presence.claim(ref.rid, 'other-server');
  ctx.presence.claimedElsewhere(ref.id, 'other-server'); // what the relay does on the other server's claim message
  await ctx.liveness.tick((await lastSeenMs(ref)) + 3_600_000);
  assert.deepEqual(await alertsOf(ref, 'run_hang'), []);
});

test('disconnected for more than N minutes raises run_crashed; reconnecting resolves it at once', async () => {
  const ref = await newRun('crashes', { rules: { run_crashed: { params: { minutes: 2 } } } });
  await push(ref, 0, 9, 1);
  await ctx.setStatus(ref, 'disconnected');
  const since = (await store.runs.get(ref.id))!.updated_at * 1000;
  await ctx.liveness.tick(since + 119_000);
  assert.deepEqual(await alertsOf(ref, 'run_crashed'), []);
  await ctx.liveness.tick(since + 121_000);
  const [alert] = await alertsOf(ref, 'run_crashed');
  assert.equal(alert?.state, 'firing');
  assert.match(alert.message, /Disconnected for 2 min after step 9/);
  await ctx.setStatus(ref, 'running');
  assert.equal((await alertsOf(ref, 'run_crashed'))[0]?.state, 'resolved');
});

test('finishing or failing is an INFO run_ended event: opened and resolved at once, one webhook; muted stays quiet', async () => {
  const ref = await newRun('ends');
  await push(ref, 0, 3, 1);
  await ctx.setStatus(ref, 'finished');
  const [ended] = await alertsOf(ref, 'run_ended');
  assert.deepEqual([ended?.severity, ended?.state, ended?.step_opened], ['info', 'resolved', 3]);
  assert.equal(ended!.message, 'The run finished at step 3');
  await ctx.webhooks.drain();
  const bodies = hooks.bodies.filter((b) => b.alert.id === ended!.id);
  assert.deepEqual(
    bodies.map((b) => b.event),
    ['firing'],
  );
  assert.match(bodies[0].text, /run_ended on run "ends" at step 3: The run finished at step 3/);

  await store.alerts.setMuted(ended!.id, true);
  await ctx.setStatus(ref, 'running'); // resumed, then failed at the same step: a new ending, muted as the last
  await ctx.setStatus(ref, 'failed');
  await ctx.setStatus(ref, 'failed'); // the same ending again: no second alert
  const all = await alertsOf(ref, 'run_ended');
  assert.deepEqual(
    all.map((a) => [a.state, a.muted, a.evidence.status]),
    [
      ['resolved', true, 'finished'],
      ['resolved', true, 'failed'],
    ],
  );
  await ctx.webhooks.drain();
  assert.deepEqual(
    hooks.bodies.filter((b) => b.run.id === ref.id).map((b) => `${b.event} ${b.alert.rule}`),
    ['firing run_ended'],
  );
});

test('a status set twice opens one run_ended alert', async () => {
  const ref = await newRun('ends twice');
  await Promise.all([ctx.setStatus(ref, 'finished'), ctx.setStatus(ref, 'finished')]);
  assert.equal((await alertsOf(ref, 'run_ended')).length, 1);
});
