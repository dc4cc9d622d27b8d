// End to end: a synthetic stream trips an alert in a real trainer's run, Apply sends the remedy, the real trainer
// process applies it at its next step, and the lr/D it pushes shows the new value.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { endlessTrainerArgs, spawnTrainer } from '../../harness/trainer.js';

let server: RunningServer;
let trainer: ChildProcess;
const dir = tempDir();

before(async () => {
  server = await startServer();
  trainer = spawnTrainer([...endlessTrainerArgs(server.url, 'e2e-alert', dir), '--lr-d', '0.0004'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
});

after(async () => {
  if (trainer.exitCode === null) {
    trainer.kill('SIGINT');
    await new Promise((r) => trainer.once('exit', r));
  }
  await server.stop();
});

/**
 * Polls until `get` gives a value. The limit is a hang guard, not a timing assertion: a trainer that starts tfjs under
 * a heavily loaded machine took more than a minute to create its run (load average 25 on 2 cores).
 */
async function waitFor<T>(
  get: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 600_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** detectors.md §2's must-fire stream for D (D2 stays healthy), at steps far beyond the trainer's own. */
function overpowering(from: number, n: number): Array<{ step: number; values: Record<string, number> }> {
  const dEq = 2 * 2 * Math.LN2;
  return Array.from({ length: n }, (_, i) => {
    const f = i < 2000 ? 0 : Math.min(1, (i - 2000) / 300);
    const acc = 0.7 + 0.29 * f;
    return { step: from + i, values: { D_real_acc: acc, D_fake_acc: acc, 'loss/D': dEq * (1 - 0.95 * f) } };
  });
}

test('an alert tripped by a synthetic stream is applied by a real trainer, whose pushed lr/D halves', async () => {
  const run = await waitFor(
    async () => (await api(server, 'GET', '/api/v1/runs?name=e2e-alert')).body.runs[0]?.id as string,
    'the trainer run',
  );
  const lrD = async (): Promise<number | undefined> => {
    const m = (await api(server, 'GET', `/api/v1/runs/${run}/metrics`)).body.metrics?.find(
      (x: any) => x.name === 'lr/D',
    );
    return m?.last_value;
  };
  assert.equal(await waitFor(lrD, 'the first lr/D'), 0.0004);

  const stream = overpowering(10_000_000, 3600);
  for (let i = 0; i < stream.length; i += 1200) {
    assert.equal(
      (await api(server, 'POST', `/api/v1/runs/${run}/points`, { points: stream.slice(i, i + 1200) })).status,
      200,
    );
  }
  const alert = await waitFor(
    async () =>
      (await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=d_overpowering`)).body.alerts.find(
        (a: any) => a.key === 'D',
      ),
    'the d_overpowering alert',
  );
  assert.deepEqual(alert.remedy.action, { action: 'scale_lr', args: { net: 'D', factor: 0.5 } });

  const applied = await api(server, 'POST', `/api/v1/alerts/${alert.id}/apply`);
  assert.equal(applied.status, 201);
  const control = await waitFor(async () => {
    const c = (await api(server, 'GET', `/api/v1/alerts/${alert.id}`)).body.control;
    return c?.status === 'applied' ? c : null;
  }, 'the trainer to apply the control');
  assert.ok(control.result_step > 0);
  await waitFor(async () => (await lrD()) === 0.0002, 'lr/D = 0.0002 in the pushed metrics');
});
