// Specification of alert delivery over the API: stored, listed, pushed live, sent to webhooks (with retries),
// acknowledged, muted, configured per run and server-wide, and applied as a control (by click or auto_apply).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { FrameClient } from '../support/ws.js';

/** A local webhook receiver that fails its first `failFirst` deliveries with 500. */
class Receiver {
  readonly bodies: any[] = [];
  attempts = 0;
  private server!: Server;
  constructor(private failFirst = 0) {}
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.attempts++;
        if (this.failFirst-- > 0) {
          res.writeHead(500).end();
          return;
        }
        this.bodies.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

let server: RunningServer;
const receiver = new Receiver(1);

before(async () => {
  const hook = await receiver.start();
  server = await startServer({ extraArgs: ['--webhook', hook, '--public-url', 'http://dash.example'] });
});
after(async () => {
  await server.stop();
  await receiver.stop();
});

/** detectors.md §2's trigger: both accuracies ~0.7 for 2000 points, ramp to 0.99 over 300 and hold; D loss 1.0 → 0.05 of D_eq. */
function overpoweringStream(n: number, from = 0): Array<{ step: number; values: Record<string, number> }> {
  const dEq = 2 * 2 * Math.LN2; // vanilla GAN loss, two scales
  const out = [];
  for (let t = from; t < from + n; t++) {
    const f = t < 2000 ? 0 : Math.min(1, (t - 2000) / 300);
    const acc = 0.7 + 0.29 * f + 0.01 * Math.sin(t);
    const loss = dEq * (1 - 0.95 * f);
    out.push({
      step: t,
      values: {
        D_real_acc: acc,
        D_fake_acc: acc,
        'loss/D': loss,
        D2_real_acc: 0.7,
        D2_fake_acc: 0.7,
        'loss/D2': dEq,
        'grad_norm/G': 1,
        'lr/D': 1e-4,
      },
    });
  }
  return out;
}

async function push(run: string, points: Array<{ step: number; values: Record<string, unknown> }>): Promise<void> {
  for (let i = 0; i < points.length; i += 5000) {
    const res = await api(server, 'POST', `/api/v1/runs/${run}/points`, { points: points.slice(i, i + 5000) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
}

async function waitFor<T>(get: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the rule list names every detector with its defaults', async () => {
  const rules = (await api(server, 'GET', '/api/v1/alerts/rules')).body.rules.map((r: any) => r.rule);
  for (const rule of [
    'divergence',
    'd_overpowering',
    'mode_collapse',
    'gradient_oscillation',
    'color_distortion',
    'training_stall',
    'change_point',
    'early_stop',
  ]) {
    assert.ok(rules.includes(rule), rule);
  }
});

test('a discriminator-overpowering stream raises a stored alert with evidence and a remedy, pushed live and to the webhook (retried)', async () => {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'overpowered' })).body.id;
  const live = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/live`);
  live.send({ type: 'subscribe', runs: [run] });
  await live.next((f) => f.type === 'subscribed');
  await push(run, overpoweringStream(3600));
  const [alert] = (await api(server, 'GET', `/api/v1/runs/${run}/alerts?state=firing`)).body.alerts;
  assert.equal(alert.rule, 'd_overpowering');
  assert.equal(alert.key, 'D');
  assert.equal(alert.severity, 'warn');
  assert.ok(alert.evidence.step > 2300 && alert.evidence.step < 3300, `fired at ${alert.evidence.step}`);
  assert.deepEqual(alert.remedy.action, { action: 'scale_lr', args: { net: 'D', factor: 0.5 } });
  assert.match(alert.remedy.text, /lr/i);
  assert.equal((await live.next((f) => f.type === 'alert' && f.alert.id === alert.id)).alert.rule, 'd_overpowering');
  await live.close();
  const delivered = await waitFor(async () => receiver.bodies.find((b) => b.alert.id === alert.id));
  assert.equal(delivered.event, 'firing');
  assert.match(delivered.text, /d_overpowering \(D\) on run "overpowered"/);
  assert.match(delivered.text, /http:\/\/dash\.example\/#\/runs\//);
  assert.ok(receiver.attempts >= 2, 'the first delivery failed and was retried');
  const listed = (await api(server, 'GET', `/api/v1/alerts?run=${run}&rule=d_overpowering`)).body.alerts;
  assert.deepEqual(
    listed.map((a: any) => a.id),
    [alert.id],
  );
});

test('applying an alert sends its remedy as a control to the run and records it on the alert', async () => {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'apply' })).body.id;
  await push(run, overpoweringStream(3600));
  const [alert] = (await api(server, 'GET', `/api/v1/runs/${run}/alerts`)).body.alerts;
  const applied = await api(server, 'POST', `/api/v1/alerts/${alert.id}/apply`);
  assert.equal(applied.status, 201);
  assert.equal(applied.body.control.action, 'scale_lr');
  assert.deepEqual(applied.body.control.args, { net: 'D', factor: 0.5 });
  const [control] = (await api(server, 'GET', `/api/v1/runs/${run}/controls`)).body.controls;
  assert.equal(control.id, applied.body.control.id);
  assert.match(control.source, /^alert:/);
  assert.equal((await api(server, 'GET', `/api/v1/alerts/${alert.id}`)).body.control.id, control.id);
});

test('an alert without an applicable remedy, or that does not exist, cannot be applied', async () => {
  assert.equal((await api(server, 'POST', '/api/v1/alerts/999999/apply')).status, 404);
});

test('acknowledging and muting are stored; a muted rule stays muted for its next alert and sends no webhook', async () => {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'mute' })).body.id;
  await push(run, [{ step: 0, values: { 'loss/L1': 'NaN' } }]);
  const [first] = (await api(server, 'GET', `/api/v1/runs/${run}/alerts`)).body.alerts;
  assert.equal(first.rule, 'divergence');
  assert.equal(first.severity, 'critical');
  assert.equal((await api(server, 'POST', `/api/v1/alerts/${first.id}/ack`)).body.acknowledged, true);
  assert.equal((await api(server, 'POST', `/api/v1/alerts/${first.id}/mute`, { muted: true })).body.muted, true);
  // Recover (200 finite points resolve it), then diverge again.
  await push(
    run,
    Array.from({ length: 260 }, (_, i) => ({ step: 1 + i, values: { 'loss/L1': 0.2 } })),
  );
  await push(run, [{ step: 300, values: { 'loss/L1': 'Infinity' } }]);
  const alerts = (await api(server, 'GET', `/api/v1/runs/${run}/alerts`)).body.alerts;
  assert.equal(alerts.length, 2, JSON.stringify(alerts.map((a: any) => [a.id, a.state])));
  assert.equal(alerts[1].state, 'resolved');
  assert.equal(alerts[0].muted, true);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(receiver.bodies.filter((b) => b.alert.id === alerts[0].id).length, 0);
});

test('a rule disabled in the run configuration does not fire', async () => {
  const run = (
    await api(server, 'POST', '/api/v1/runs', {
      name: 'quiet',
      alerts: { rules: { d_overpowering: { enabled: false } } },
    })
  ).body.id;
  await push(run, overpoweringStream(3600));
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=d_overpowering`)).body.alerts, []);
  const cfg = (await api(server, 'GET', `/api/v1/runs/${run}/alerts/config`)).body;
  assert.equal(cfg.effective.d_overpowering.enabled, false);
  assert.equal(cfg.effective.divergence.enabled, true);
});

test('thresholds are changeable per run over the API and unknown rules are refused', async () => {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'cfg' })).body.id;
  const bad = await api(server, 'PUT', `/api/v1/runs/${run}/alerts/config`, {
    rules: { d_overpowerin: { enabled: false } },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'GW_ERR_UNKNOWN_RULE');
  const ok = await api(server, 'PUT', `/api/v1/runs/${run}/alerts/config`, {
    rules: { d_overpowering: { params: { accEnter: 0.99 } } },
  });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.effective.d_overpowering.params.accEnter, 0.99);
  assert.equal((await api(server, 'POST', '/api/v1/runs', { name: 'x', alerts: { rules: { nope: {} } } })).status, 400);
});

/** The three places alert settings are written: a run's settings, the server-wide defaults, a new run's body. */
async function refusedEverywhere(
  rules: Record<string, unknown>,
  check: (body: { code: string; message: string }) => void,
): Promise<void> {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'params-kept' })).body.id;
  const good = { rules: { d_overpowering: { params: { accEnter: 0.99 } } } };
  assert.equal((await api(server, 'PUT', `/api/v1/runs/${run}/alerts/config`, good)).status, 200);
  const runBefore = (await api(server, 'GET', `/api/v1/runs/${run}/alerts/config`)).body;
  const serverBefore = (await api(server, 'GET', '/api/v1/alerts/config')).body;
  const runsBefore = (await api(server, 'GET', '/api/v1/runs')).body.runs.length;

  for (const [method, path, body] of [
    ['PUT', `/api/v1/runs/${run}/alerts/config`, { rules }],
    ['PUT', '/api/v1/alerts/config', { rules }],
    ['POST', '/api/v1/runs', { name: 'refused-run', alerts: { rules } }],
  ] as const) {
    const res = await api(server, method, path, body);
    assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
    check(res.body);
  }
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${run}/alerts/config`)).body, runBefore);
  assert.deepEqual((await api(server, 'GET', '/api/v1/alerts/config')).body, serverBefore);
  assert.equal((await api(server, 'GET', '/api/v1/runs')).body.runs.length, runsBefore, 'no run was created');
}

test('a misspelt parameter name is refused naming the rule, the name and the rule’s parameters; nothing is stored', async () => {
  await refusedEverywhere({ d_overpowering: { params: { accEntr: 0.97 } } }, (body) => {
    assert.equal(body.code, 'GW_ERR_UNKNOWN_RULE_PARAM');
    assert.match(body.message, /'d_overpowering'/);
    assert.match(body.message, /'accEntr'/);
    assert.match(body.message, /accEnter, lossEnter, accExit/);
  });
});

test('a parameter of another rule is refused for this one, even next to valid ones', async () => {
  // `h` is change_point's; training_stall has no such parameter.
  await refusedEverywhere(
    { change_point: { params: { h: 12 } }, training_stall: { params: { plateauRel: 0.02, h: 12 } } },
    (body) => {
      assert.equal(body.code, 'GW_ERR_UNKNOWN_RULE_PARAM');
      assert.match(body.message, /'training_stall' has no parameter 'h'/);
    },
  );
});

test('a parameter value that is not a number is refused naming the rule and the parameter; nothing is stored', async () => {
  for (const value of ['0.97', true, null, [0.97], { v: 0.97 }]) {
    await refusedEverywhere({ d_overpowering: { params: { accEnter: value } } }, (body) => {
      assert.equal(body.code, 'GW_ERR_VALIDATION');
      assert.match(body.message, /rules\/d_overpowering\/params\/accEnter must be number/);
    });
  }
});

test('the rule listing gives each rule’s parameters with their defaults, and a valid override takes effect', async () => {
  const rules = (await api(server, 'GET', '/api/v1/alerts/rules')).body.rules as any[];
  for (const r of rules) {
    const names = Object.keys(r.defaults.params);
    assert.ok(names.length > 0, `${r.rule} lists its params`);
    for (const n of names) assert.equal(typeof r.defaults.params[n], 'number', `${r.rule}.${n}`);
    assert.deepEqual(Object.keys(r.effective.params).sort(), [...names].sort(), `${r.rule}: effective params`);
  }
  assert.equal(rules.find((r) => r.rule === 'd_overpowering').defaults.params.accEnter, 0.95);
  const run = (
    await api(server, 'POST', '/api/v1/runs', {
      name: 'every-param',
      alerts: { rules: { training_stall: { params: { plateauRel: 0.02, spikeZ: 5 } } } },
    })
  ).body.id;
  const effective = (await api(server, 'GET', `/api/v1/runs/${run}/alerts/config`)).body.effective;
  assert.equal(effective.training_stall.params.plateauRel, 0.02);
  assert.equal(effective.training_stall.params.spikeZ, 5);
});

test('server-wide defaults apply to every run unless the run overrides them', async () => {
  await api(server, 'PUT', '/api/v1/alerts/config', { rules: { change_point: { params: { h: 12 } } } });
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'defaults' })).body.id;
  assert.equal(
    (await api(server, 'GET', `/api/v1/runs/${run}/alerts/config`)).body.effective.change_point.params.h,
    12,
  );
  await api(server, 'PUT', '/api/v1/alerts/config', {});
});

test('with auto_apply the remedy is sent without a click, at most the cap times per rule', async () => {
  // No cooldown, so the second divergence is not silenced by the first remedy's cooldown.
  const alerts0 = { auto_apply: true, auto_apply_caps: { divergence: 1 }, rules: { divergence: { cooldown: 0 } } };
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'auto', alerts: alerts0 })).body.id;
  await push(run, [{ step: 0, values: { 'loss/L1': 'NaN' } }]);
  await push(
    run,
    Array.from({ length: 260 }, (_, i) => ({ step: 1 + i, values: { 'loss/L1': 0.2 } })),
  );
  await push(run, [{ step: 300, values: { 'loss/L1': 'NaN' } }]);
  const alerts = (await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=divergence`)).body.alerts;
  assert.equal(alerts.length, 2);
  assert.equal(alerts.filter((a: any) => a.control).length, 1, 'only the first was applied (cap 1)');
  const controls = (await api(server, 'GET', `/api/v1/runs/${run}/controls`)).body.controls;
  assert.equal(controls.length, 1);
  assert.match(controls[0].source, /:auto$/);
});

test("the auto_apply cap counts the run's ancestors: a child forked by a rollback does not get a new round", async () => {
  const alerts0 = { auto_apply: true, auto_apply_caps: { divergence: 1 }, rules: { divergence: { cooldown: 0 } } };
  const parent = (await api(server, 'POST', '/api/v1/runs', { name: 'lineage parent', alerts: alerts0 })).body.id;
  await push(parent, [{ step: 0, values: { 'loss/L1': 'NaN' } }]);
  const child = (
    await api(server, 'POST', '/api/v1/runs', {
      name: 'lineage child',
      alerts: alerts0,
      parent_id: parent,
      fork_step: 0,
    })
  ).body.id;
  await push(child, [{ step: 1, values: { 'loss/L1': 'NaN' } }]);
  const applied = async (run: string): Promise<number> =>
    (await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=divergence`)).body.alerts.filter((a: any) => a.control)
      .length;
  assert.equal(await applied(parent), 1);
  const childAlerts = (await api(server, 'GET', `/api/v1/runs/${child}/alerts?rule=divergence`)).body.alerts;
  assert.equal(childAlerts.length, 1, 'the child fires');
  assert.equal(await applied(child), 0, 'but the cap of 1 was used by its parent');
});

test('a jump in a curve is stored as a change-point marker, not an alert', async () => {
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'jump' })).body.id;
  let seed = 1;
  const noise = (): number => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647 - 0.5) * 0.2;
  };
  await push(
    run,
    Array.from({ length: 2000 }, (_, t) => ({ step: t, values: { Cyc_error: (t < 1500 ? 1 : 2) + noise() } })),
  );
  const markers = (await api(server, 'GET', `/api/v1/runs/${run}/markers?metric=Cyc_error`)).body.markers;
  assert.ok(
    markers.some((m: any) => m.step >= 1500 && m.step < 1530 && m.kind === 'up'),
    JSON.stringify(markers),
  );
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=change_point`)).body.alerts, []);
});
