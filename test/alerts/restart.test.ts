// Specification of the alert engine across a server restart (on SQLite, and on PostgreSQL with npm run test:pg): a
// restarted server's detectors learn a run's stored history before they judge its next batch, so a failure building
// up when the server went down is caught as soon as it would have been, not after a new warm-up.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';

let server: RunningServer | null = null;
after(async () => {
  if (server && server.process.exitCode === null && server.process.signalCode === null) await server.stop();
});

/** D healthy (accuracy 0.7) for 2,000 steps, then winning: d_overpowering fires ~500 steps after it wins. */
function overpowering(n: number): Array<{ step: number; values: Record<string, number> }> {
  const dEq = 2 * 2 * Math.LN2;
  return Array.from({ length: n }, (_, i) => {
    const f = i < 2000 ? 0 : Math.min(1, (i - 2000) / 300);
    const acc = 0.7 + 0.29 * f;
    return { step: i + 1, values: { D_real_acc: acc, D_fake_acc: acc, 'loss/D': dEq * (1 - 0.95 * f) } };
  });
}

async function post(run: string, points: ReturnType<typeof overpowering>): Promise<void> {
  for (let i = 0; i < points.length; i += 600) {
    const res = await api(server!, 'POST', `/api/v1/runs/${run}/points`, { points: points.slice(i, i + 600) });
    assert.equal(res.status, 200);
  }
}

async function overpoweringAlerts(run: string): Promise<Array<{ key: string; step_opened: number }>> {
  const res = await api(server!, 'GET', `/api/v1/runs/${run}/alerts?rule=d_overpowering`);
  return res.body.alerts;
}

test('a restarted server fires an alert that was building up before the restart, without a second warm-up', async () => {
  server = await startServer();
  const run = (await api(server, 'POST', '/api/v1/runs', { name: 'restarted mid-failure' })).body.id as string;
  const stream = overpowering(3600);
  await post(run, stream.slice(0, 2400)); // D has been winning for 400 steps: not yet long enough to fire
  await post(run, [{ step: 2401, values: { loss: 0 } }]); // answered once the detectors have seen step 2,400
  assert.deepEqual(await overpoweringAlerts(run), []);

  server.process.kill('SIGTERM');
  await server.restart();
  // A POST is answered after its commit, which waits for the detectors to have seen the batch before it: once the
  // trailing point is answered, every step of the stream has been judged. A detector starting afresh would still be
  // in its 1,000-step warm-up at the stream's end.
  await post(run, stream.slice(2401));
  await post(run, [{ step: 3601, values: { loss: 0 } }]);
  const fired = (await overpoweringAlerts(run)).filter((a) => a.key === 'D');
  assert.equal(fired.length, 1);
  assert.ok(fired[0]!.step_opened < 3000, `opened at ${fired[0]!.step_opened}`);
});
