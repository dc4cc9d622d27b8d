// Specification of user threshold rules over the API on a real server and store: validation (a bad metric pattern,
// comparison or value is a 400 with its GW_ERR_* code and stores nothing), create / list / edit / delete server-wide
// and per run, alerts raised by pushed points through the same state machine, webhooks and muting as every rule, an
// edited or deleted rule's open alert resolved, and run_ended raised by a status set over HTTP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let server: RunningServer;
const hooks = new WebhookReceiver();

before(async () => {
  server = await startServer({ extraArgs: ['--webhook', await hooks.start()] });
});
after(async () => {
  await server.stop();
  await hooks.stop();
});

async function createRun(name: string): Promise<string> {
  const res = await api(server, 'POST', '/api/v1/runs', { name });
  assert.equal(res.status, 201);
  return res.body.id;
}

/** Pushes one value of `metric` per step, with trainer wall times `every` seconds apart (acked after the detectors). */
async function push(run: string, metric: string, values: number[], from = 0, every = 1): Promise<void> {
  const points = values.map((v, i) => ({
    step: from + i,
    wall: 1_700_000_000 + (from + i) * every,
    values: { [metric]: v },
  }));
  const res = await api(server, 'POST', `/api/v1/runs/${run}/points`, { points });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function userAlerts(run: string): Promise<any[]> {
  const res = await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=user_threshold`);
  return res.body.alerts.sort((a: any, b: any) => a.id - b.id);
}

test('a bad rule is refused with its code and nothing is stored', async () => {
  const run = await createRun('refusals');
  const good = { metric: 'val/fid', comparison: '>', value: 40 };
  const cases: Array<[object, number, string, RegExp]> = [
    [{ ...good, metric: 'val fid' }, 400, 'GW_ERR_USER_RULE_METRIC', /'val fid' is not a metric name or pattern/],
    [{ ...good, metric: '' }, 400, 'GW_ERR_USER_RULE_METRIC', /is not a metric name/],
    [{ ...good, comparison: '=>' }, 400, 'GW_ERR_USER_RULE_COMPARISON', /'=>' is not one of > >= < <= == !=/],
    [{ ...good, value: 'forty' }, 400, 'GW_ERR_VALIDATION', /body\/value must be number/],
    [{ ...good, value: null }, 400, 'GW_ERR_VALIDATION', /body\/value/],
    [{ ...good, for: { steps: 0 } }, 400, 'GW_ERR_VALIDATION', /body\/for/],
    [{ ...good, for: { steps: 5, minutes: 2 } }, 400, 'GW_ERR_VALIDATION', /body\/for/],
    [{ ...good, severity: 'fatal' }, 400, 'GW_ERR_VALIDATION', /body\/severity/],
    [{ ...good, extra: 1 }, 400, 'GW_ERR_VALIDATION', /unknown property 'extra'/],
  ];
  for (const [body, status, code, message] of cases) {
    for (const path of ['/api/v1/alerts/user-rules', `/api/v1/runs/${run}/alerts/user-rules`]) {
      const res = await api(server, 'POST', path, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.code, code, JSON.stringify(body));
      assert.match(res.body.message, message);
    }
  }
  assert.equal(
    (await api(server, 'POST', '/api/v1/runs/nosuchrun/alerts/user-rules', good)).body.code,
    'GW_ERR_RUN_NOT_FOUND',
  );
  assert.deepEqual((await api(server, 'GET', '/api/v1/alerts/user-rules')).body.rules, []);
  // An edit that is refused leaves the rule as it was.
  const created = (await api(server, 'POST', '/api/v1/alerts/user-rules', good)).body;
  const refused = await api(server, 'PUT', `/api/v1/alerts/user-rules/${created.id}`, { ...good, comparison: 'gt' });
  assert.equal(refused.body.code, 'GW_ERR_USER_RULE_COMPARISON');
  assert.deepEqual((await api(server, 'GET', `/api/v1/alerts/user-rules/${created.id}`)).body, created);
  assert.equal(
    (await api(server, 'PUT', '/api/v1/alerts/user-rules/99999', good)).body.code,
    'GW_ERR_USER_RULE_NOT_FOUND',
  );
  assert.equal((await api(server, 'DELETE', '/api/v1/alerts/user-rules/99999')).status, 404);
  assert.equal((await api(server, 'DELETE', `/api/v1/alerts/user-rules/${created.id}`)).status, 204);
});

test('rules are listed server-wide and per run, edited with PUT and deleted', async () => {
  const a = await createRun('scoped a');
  const b = await createRun('scoped b');
  const wide = await api(server, 'POST', '/api/v1/alerts/user-rules', {
    metric: 'loss/*',
    comparison: '>',
    value: 100,
  });
  assert.equal(wide.status, 201);
  assert.deepEqual(
    { ...wide.body, id: 0, created_at: 0, updated_at: 0 },
    {
      id: 0,
      run: null,
      name: 'loss/* > 100',
      metric: 'loss/*',
      comparison: '>',
      value: 100,
      for: { steps: 1 },
      severity: 'warn',
      enabled: true,
      created_at: 0,
      updated_at: 0,
    },
  );
  const own = await api(server, 'POST', `/api/v1/runs/${a}/alerts/user-rules`, {
    name: 'FID too high',
    metric: 'val/fid',
    comparison: '>=',
    value: 40,
    for: { minutes: 10 },
    severity: 'critical',
  });
  assert.equal(own.body.run, a);
  const ofA = (await api(server, 'GET', `/api/v1/runs/${a}/alerts/user-rules`)).body.rules.map((r: any) => r.id);
  const ofB = (await api(server, 'GET', `/api/v1/runs/${b}/alerts/user-rules`)).body.rules.map((r: any) => r.id);
  assert.deepEqual(ofA, [wide.body.id, own.body.id]);
  assert.deepEqual(ofB, [wide.body.id]);
  const edited = await api(server, 'PUT', `/api/v1/alerts/user-rules/${own.body.id}`, {
    name: 'FID too high',
    metric: 'val/fid',
    comparison: '>=',
    value: 35,
    for: { steps: 3 },
    enabled: false,
  });
  assert.equal(edited.status, 200);
  assert.deepEqual(
    [edited.body.value, edited.body.for, edited.body.enabled, edited.body.run],
    [35, { steps: 3 }, false, a],
  );
  assert.equal(edited.body.severity, 'warn'); // PUT replaces: a field left out takes its default
  for (const id of [wide.body.id, own.body.id])
    assert.equal((await api(server, 'DELETE', `/api/v1/alerts/user-rules/${id}`)).status, 204);
  assert.deepEqual((await api(server, 'GET', '/api/v1/alerts/user-rules')).body.rules, []);
  // A run's rules go with the run.
  const doomed = await api(server, 'POST', `/api/v1/runs/${b}/alerts/user-rules`, {
    metric: 'x',
    comparison: '<',
    value: 0,
  });
  assert.equal((await api(server, 'DELETE', `/api/v1/runs/${b}`)).status, 204);
  assert.equal(
    (await api(server, 'GET', `/api/v1/alerts/user-rules/${doomed.body.id}`)).body.code,
    'GW_ERR_USER_RULE_NOT_FOUND',
  );
});

test('a per-run rule fires once its condition held for N steps, sends its webhook, and resolves', async () => {
  const run = await createRun('threshold');
  const rule = (
    await api(server, 'POST', `/api/v1/runs/${run}/alerts/user-rules`, {
      metric: 'loss/D',
      comparison: '>',
      value: 2,
      for: { steps: 5 },
    })
  ).body;
  await push(run, 'loss/D', [1, 1, 3, 3, 3, 3]); // steps 2..5 hold: 4 steps, not yet 5
  assert.deepEqual(await userAlerts(run), []);
  await push(run, 'loss/D', [3, 3], 6); // step 6 makes 5
  const [alert] = await userAlerts(run);
  assert.equal(alert.state, 'firing');
  assert.equal(alert.key, `${rule.id}:loss/D`);
  assert.equal(alert.severity, 'warn');
  assert.equal(alert.step_opened, 6);
  assert.match(alert.message, /^loss\/D > 2: loss\/D > 2 for 5 steps \(now 3, since step 2\)$/);
  await push(run, 'loss/D', [1], 8);
  const [resolved] = await userAlerts(run);
  assert.equal(resolved.state, 'resolved');
  assert.equal(resolved.step_closed, 8);
  await untilHooks((events) => events.filter((e) => e.alert.id === alert.id).length === 2);
  assert.deepEqual(
    hooks.bodies.filter((b) => b.alert.id === alert.id).map((b) => b.event),
    ['firing', 'resolved'],
  );
});

test('a server-wide pattern rule judges each matching metric of every run apart; "for N minutes" uses the trainer’s wall time', async () => {
  const run = await createRun('pattern');
  const rule = (
    await api(server, 'POST', '/api/v1/alerts/user-rules', {
      metric: 'grad_norm/*',
      comparison: '>=',
      value: 100,
      for: { minutes: 2 },
      severity: 'critical',
    })
  ).body;
  const points = [0, 1, 2, 3].map((s) => ({
    step: s,
    wall: 1_700_000_000 + s * 60, // one step a minute
    values: { 'grad_norm/G': 150, 'grad_norm/D': s < 3 ? 150 : 5, 'loss/G': 150 },
  }));
  await api(server, 'POST', `/api/v1/runs/${run}/points`, { points });
  const alerts = (await userAlerts(run)).sort((a, b) => a.key.localeCompare(b.key));
  assert.deepEqual(
    alerts.map((a) => [a.key, a.state, a.step_opened, a.severity]),
    [
      [`${rule.id}:grad_norm/D`, 'resolved', 2, 'critical'],
      [`${rule.id}:grad_norm/G`, 'firing', 2, 'critical'],
    ],
  );
  // Deleting the rule resolves what it left open.
  assert.equal((await api(server, 'DELETE', `/api/v1/alerts/user-rules/${rule.id}`)).status, 204);
  const after = await userAlerts(run);
  assert.ok(after.every((a) => a.state === 'resolved'));
  assert.deepEqual(after.find((a) => a.key.endsWith('grad_norm/G')).evidence.resolved_by, { user_rule: 'deleted' });
});

test('a muted user alert sends no webhook, and the next alert of the same rule and metric stays muted', async () => {
  const run = await createRun('muted');
  const rule = (
    await api(server, 'POST', `/api/v1/runs/${run}/alerts/user-rules`, { metric: 'x', comparison: '<', value: 0 })
  ).body;
  await push(run, 'x', [-1]);
  const [first] = await userAlerts(run);
  await untilHooks((events) => events.some((e) => e.alert.id === first.id));
  assert.equal((await api(server, 'POST', `/api/v1/alerts/${first.id}/mute`, { muted: true })).body.muted, true);
  await push(run, 'x', [1, -1], 1);
  const [, second] = await userAlerts(run);
  assert.equal(second.key, `${rule.id}:x`);
  assert.equal(second.muted, true);
  // A later unmuted alert of another run proves the webhook queue moved past this run's events.
  const other = await createRun('loud');
  await api(server, 'POST', `/api/v1/runs/${other}/alerts/user-rules`, { metric: 'x', comparison: '<', value: 0 });
  await push(other, 'x', [-1]);
  const [loud] = await userAlerts(other);
  await untilHooks((events) => events.some((e) => e.alert.id === loud.id));
  assert.deepEqual(
    hooks.bodies.filter((b) => b.run.id === run).map((b) => `${b.event} ${b.alert.id}`),
    [`firing ${first.id}`],
  );
});

test('editing a rule resolves its open alert; the new condition fires on the next points if it holds', async () => {
  const run = await createRun('edited');
  const rule = (
    await api(server, 'POST', `/api/v1/runs/${run}/alerts/user-rules`, { metric: 'y', comparison: '>', value: 1 })
  ).body;
  await push(run, 'y', [5]);
  assert.equal((await userAlerts(run))[0].state, 'firing');
  await api(server, 'PUT', `/api/v1/alerts/user-rules/${rule.id}`, { metric: 'y', comparison: '>', value: 10 });
  assert.deepEqual((await userAlerts(run))[0].evidence.resolved_by, { user_rule: 'edited' });
  await push(run, 'y', [5], 1);
  assert.equal((await userAlerts(run)).length, 1);
  await push(run, 'y', [11], 2);
  assert.deepEqual(
    (await userAlerts(run)).map((a) => a.state),
    ['resolved', 'firing'],
  );
});

test('a status set over HTTP raises run_ended and the rules listing shows the general rules', async () => {
  const run = await createRun('walk away');
  await push(run, 'loss/G', [1, 1]);
  assert.equal((await api(server, 'PATCH', `/api/v1/runs/${run}`, { status: 'finished' })).status, 200);
  const [ended] = (await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=run_ended`)).body.alerts;
  assert.deepEqual([ended.state, ended.severity, ended.message], ['resolved', 'info', 'The run finished at step 1']);
  await untilHooks((events) => events.some((e) => e.alert.id === ended.id));
  const rules = (await api(server, 'GET', '/api/v1/alerts/rules')).body.rules.map((r: any) => r.rule);
  for (const r of ['run_hang', 'run_crashed', 'run_ended', 'throughput_drop', 'user_threshold'])
    assert.ok(rules.includes(r), r);
  const config = await api(server, 'PUT', '/api/v1/alerts/config', {
    rules: { run_hang: { params: { floorMinutes: 1 } } },
  });
  assert.equal(config.status, 200);
  const bad = await api(server, 'PUT', '/api/v1/alerts/config', { rules: { run_hang: { params: { floor: 1 } } } });
  assert.equal(bad.body.code, 'GW_ERR_UNKNOWN_RULE_PARAM');
});

/** Waits until the webhook bodies received satisfy `ok` (the server delivers them after the response). */
async function untilHooks(ok: (bodies: any[]) => boolean): Promise<void> {
  while (!ok(hooks.bodies)) await new Promise((r) => setTimeout(r, 20));
}
