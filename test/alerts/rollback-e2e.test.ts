// End to end: a real trainer saves a checkpoint, is made to diverge (every lr set 10⁴× too high by controls), the
// divergence alert fires on its NaN, Apply sends the alert's remedy (a rollback: the last checkpoint, every lr halved),
// and the trainer restores the checkpoint and continues as a child run of the diverged one, forked at the checkpoint's
// step, with halved lrs and finite losses; the parent's alert resolves, naming the rollback. Every wait is for something the trainer reported (steps, control answers).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { endlessTrainerArgs, spawnTrainer } from '../../harness/trainer.js';

let server: RunningServer;
let trainer: ChildProcess;
let stderr = '';
const dir = tempDir();

before(async () => {
  server = await startServer();
  trainer = spawnTrainer(endlessTrainerArgs(server.url, 'rollback-e2e', dir), { stdio: ['ignore', 'ignore', 'pipe'] });
  trainer.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
});

after(async () => {
  if (trainer.exitCode === null) {
    trainer.kill('SIGINT');
    await new Promise((r) => trainer.once('exit', r));
  }
  await server.stop();
});

/** Waits for what the trainer reports through the server (a step, an answer); the timeout only catches a hang. */
async function waitFor<T>(get: () => Promise<T | undefined | null | false>, what: string): Promise<T> {
  const end = Date.now() + 180_000;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (trainer.exitCode !== null) throw new Error(`the trainer exited (${trainer.exitCode}): ${stderr}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; trainer stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const metrics = async (run: string): Promise<any[]> =>
  (await api(server, 'GET', `/api/v1/runs/${run}/metrics`)).body.metrics ?? [];
const lastValue = async (run: string, name: string): Promise<number | undefined> =>
  (await metrics(run)).find((m) => m.name === name)?.last_value;

async function control(run: string, command: unknown): Promise<any> {
  const issued = await api(server, 'POST', `/api/v1/runs/${run}/controls`, command);
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  return answered(run, issued.body.id);
}

async function answered(run: string, id: number): Promise<any> {
  return waitFor(async () => {
    const c = (await api(server, 'GET', `/api/v1/runs/${run}/controls`)).body.controls.find((x: any) => x.id === id);
    return c && (c.status === 'applied' || c.status === 'failed') ? c : null;
  }, `control #${id} answered`);
}

test('a diverging trainer rolls back to its checkpoint with one Apply and continues as a child run', async () => {
  const parent = await waitFor(
    async () => (await api(server, 'GET', '/api/v1/runs?name=rollback-e2e')).body.runs[0]?.id as string,
    'the trainer run',
  );
  assert.equal(await waitFor(() => lastValue(parent, 'lr/G'), 'the first lr/G'), 2e-4);

  // Nothing saved yet: a rollback is refused, and the run goes on as it was.
  const early = await control(parent, { action: 'rollback', args: { checkpoint: 'best' } });
  assert.equal(early.status, 'failed');
  assert.match(early.message, /no best checkpoint saved yet/);

  const saved = await control(parent, { action: 'checkpoint', args: {} });
  assert.equal(saved.status, 'applied');
  const forkStep: number = saved.result_step;

  for (const net of ['G', 'E', 'D']) {
    assert.equal((await control(parent, { action: 'set_lr', args: { net, value: 1 } })).status, 'applied');
  }
  const alert = await waitFor(
    async () =>
      (await api(server, 'GET', `/api/v1/runs/${parent}/alerts?rule=divergence`)).body.alerts.find(
        (a: any) => a.state === 'firing',
      ),
    'the divergence alert',
  );
  assert.deepEqual(alert.remedy.action, { action: 'rollback', args: { checkpoint: 'latest', lr_factor: 0.5 } });

  const applied = await api(server, 'POST', `/api/v1/alerts/${alert.id}/apply`);
  assert.equal(applied.status, 201, JSON.stringify(applied.body));
  const result = await answered(parent, applied.body.control.id);
  assert.equal(result.status, 'applied', result.message);
  assert.equal(result.result_step, forkStep);
  assert.match(result.message, new RegExp(`restored the latest checkpoint \\(step ${forkStep}, `));

  const children = (await api(server, 'GET', `/api/v1/runs?parent=${parent}`)).body.runs;
  assert.equal(children.length, 1);
  const child = children[0];
  assert.match(result.message, new RegExp(`continues as run ${child.id}`));
  assert.equal(child.parent_id, parent);
  assert.equal(child.fork_step, forkStep);
  assert.equal(child.name, `rollback-e2e (fork at step ${forkStep})`);
  const parentNow = (await api(server, 'GET', `/api/v1/runs/${parent}`)).body;
  assert.equal(parentNow.status, 'finished');
  assert.equal(parentNow.parent_id, null);
  // The finished parent keeps no firing alert: the rollback resolved it, and says so.
  const resolved = await waitFor(async () => {
    const a = (await api(server, 'GET', `/api/v1/alerts/${alert.id}`)).body;
    return a.state === 'resolved' ? a : null;
  }, 'the divergence alert resolved by the rollback');
  assert.equal(resolved.evidence.resolved_by.rollback, applied.body.control.id);
  // run_ended is an event (it opens and resolves at once as the parent finishes), so a read may catch it between.
  const firing = (await api(server, 'GET', `/api/v1/runs/${parent}/alerts?state=firing`)).body.alerts;
  assert.deepEqual(
    firing.filter((a: any) => a.rule !== 'run_ended').map((a: any) => a.rule),
    [],
  );

  // The child trains on from the checkpoint with the checkpoint's lrs halved, and its losses stay finite.
  await waitFor(
    async () => ((await api(server, 'GET', `/api/v1/runs/${child.id}`)).body.last_step ?? 0) >= forkStep + 20,
    '20 steps of the child',
  );
  // Saved before the child's first step: its starting point is its `latest`, so a second rollback would halve the
  // halved lrs.
  const manifest = JSON.parse(readFileSync(join(dir, 'ck', 'latest', 'manifest.json'), 'utf8'));
  assert.deepEqual([manifest.extra.trainer.runId, manifest.extra.step], [child.id, forkStep]);
  assert.equal(manifest.model.baseLr.G, 1e-4);
  assert.equal(await lastValue(child.id, 'lr/G'), 1e-4);
  assert.equal(await lastValue(child.id, 'lr/D'), 5e-5);
  const childMetrics = await metrics(child.id);
  const losses = childMetrics.filter((m) => m.name.startsWith('loss/'));
  assert.ok(losses.length >= 4, JSON.stringify(childMetrics.map((m) => m.name)));
  for (const m of losses) {
    assert.equal(m.first_step, forkStep + 1, `${m.name} starts after the fork`);
    assert.equal(m.nonfinite, 0, `${m.name} is finite in the child`);
    assert.ok(Number.isFinite(m.last_value), m.name);
  }
  const diverged = (await metrics(parent)).filter((m) => m.nonfinite > 0 && !m.name.startsWith('val/'));
  assert.ok(diverged.length > 0, 'the parent diverged');
  for (const m of diverged) assert.ok(m.last_step > forkStep, `${m.name} went non-finite after the checkpoint`);

  // Controls now go to the child's trainer; a stop ends it cleanly.
  assert.equal((await control(child.id, { action: 'stop', args: {} })).status, 'applied');
  const code = await new Promise<number | null>((r) =>
    trainer.exitCode !== null ? r(trainer.exitCode) : trainer.once('exit', r),
  );
  assert.equal(code, 0, stderr);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${child.id}`)).body.status, 'finished');
});
