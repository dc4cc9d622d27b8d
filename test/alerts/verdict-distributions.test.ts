// Specification of the alerts that read distributions, against a real server (SQLite; PostgreSQL with npm run
// test:pg): D's verdict histograms posted beside the points reach d_overpowering, which fires only when D separates
// real from fake patches, says how far apart it puts them, and still knows the stored histograms after a restart.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { dVerdicts, OVERLAPPING_VERDICTS, SEPARATED_VERDICTS, type VerdictSpreads } from '../support/streams.js';

let server: RunningServer | null = null;
after(async () => {
  if (server && server.process.exitCode === null && server.process.signalCode === null) await server.stop();
});

const D_EQ = 2 * 2 * Math.LN2;

/** D healthy (accuracy 0.7) for 2,000 steps, then winning: on accuracies alone d_overpowering fires by step ~3,000. */
function point(step: number): { step: number; values: Record<string, number> } {
  const f = step < 2000 ? 0 : Math.min(1, (step - 2000) / 300);
  const acc = 0.7 + 0.29 * f;
  return { step, values: { D_real_acc: acc, D_fake_acc: acc, 'loss/D': D_EQ * (1 - 0.95 * f) } };
}

/**
 * Posts steps [from, to) 100 at a time, each hundred's points first and then (when given) histograms every 10 steps,
 * as a trainer with --diag-every 10 sends them; a POST is answered once the detectors have seen it.
 */
async function train(run: string, from: number, to: number, spreads: VerdictSpreads | null): Promise<void> {
  for (let s = from; s < to; s += 100) {
    const steps = Array.from({ length: Math.min(100, to - s) }, (_, i) => s + i);
    const points = await api(server!, 'POST', `/api/v1/runs/${run}/points`, { points: steps.map(point) });
    assert.equal(points.status, 200, JSON.stringify(points.body));
    if (!spreads) continue;
    const distributions = steps.filter((t) => t % 10 === 0).flatMap((t) => dVerdicts(t, spreads));
    const res = await api(server!, 'POST', `/api/v1/runs/${run}/distributions`, { distributions });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
}

async function overpowering(run: string): Promise<any[]> {
  return (await api(server!, 'GET', `/api/v1/runs/${run}/alerts?rule=d_overpowering`)).body.alerts;
}

async function newRun(name: string, alerts?: object): Promise<string> {
  return (await api(server!, 'POST', '/api/v1/runs', { name, ...(alerts ? { alerts } : {}) })).body.id;
}

test('D winning on accuracy while its real and fake verdicts overlap raises no d_overpowering alert', async () => {
  server ??= await startServer();
  const run = await newRun('overlapping verdicts');
  await train(run, 0, 3600, OVERLAPPING_VERDICTS);
  assert.deepEqual(await overpowering(run), []);
});

test('separated verdicts raise the alert where the accuracies alone do, with the separation in its evidence', async () => {
  server ??= await startServer();
  const alone = await newRun('accuracies only');
  await train(alone, 0, 3600, null);
  const [expected] = await overpowering(alone);
  assert.ok(expected, 'the accuracies alone fire');
  const run = await newRun('separated verdicts');
  await train(run, 0, 3600, SEPARATED_VERDICTS);
  const [alert] = await overpowering(run);
  assert.equal(alert?.step_opened, expected.step_opened);
  assert.equal(alert.evidence.separation, 1);
  assert.ok(alert.evidence.verdict_fake_p90 < 0.1 && alert.evidence.verdict_real_p10 > 0.9, JSON.stringify(alert));
  assert.match(alert.message, /separation 1 at its weakest scale \(D\(real\) 10th percentile/);
});

test('after a restart the stored verdict histograms still hold the rule back', async () => {
  server ??= await startServer();
  // Histograms sent only before the restart, kept in force for the rest of the stream.
  const alerts = { rules: { d_overpowering: { params: { separationStale: 5000 } } } };
  const run = await newRun('restarted with overlapping verdicts', alerts);
  const control = await newRun('restarted, no verdicts', alerts);
  await train(run, 0, 1000, OVERLAPPING_VERDICTS);
  await train(control, 0, 1000, null);
  server.process.kill('SIGTERM');
  await server.restart();
  await train(run, 1000, 3600, null);
  await train(control, 1000, 3600, null);
  assert.equal((await overpowering(control)).length, 1, 'without histograms the same points fire');
  assert.deepEqual(await overpowering(run), []);
});
