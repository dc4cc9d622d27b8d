// End to end: a real client process logging steps to a real server; stopped with SIGSTOP (the process hangs, its
// socket stays open) it raises run_hang, continued with SIGCONT the alert resolves, killed with SIGKILL (the socket
// closes, the run is `disconnected`) it raises run_crashed with a webhook. Every wait is for what the processes report
// (live frames, webhook bodies); the server's liveness tick is 0.2 s, the rules' durations are shortened per run.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { ROOT, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { FrameClient } from '../support/ws.js';

/** The hang guard of every wait: far above what any step takes, so only a real failure trips it. */
const GUARD_MS = 180_000;

let server: RunningServer;
let child: ChildProcess | null = null;
const hooks = new WebhookReceiver();

before(async () => {
  server = await startServer({ extraArgs: ['--liveness-tick', '0.2', '--webhook', await hooks.start()] });
});
after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server.stop();
  await hooks.stop();
});

/** Starts the stepping client; resolves with its run id (the first line it prints). */
async function startClient(alerts: object): Promise<string> {
  child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/stepping-client.ts')], {
    cwd: ROOT,
    env: { ...process.env, SERVER: server.url, SPOOL: join(tempDir(), 'spool'), ALERTS: JSON.stringify(alerts) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) if (/^[a-z0-9]+$/.test(line)) return line;
  throw new Error('the client exited before printing its run id');
}

test('a stopped process raises run_hang and resolves it when continued; a killed one raises run_crashed', async () => {
  const run = await startClient({
    rules: { run_hang: { params: { floorMinutes: 0.15 } }, run_crashed: { params: { minutes: 0 } } },
  });
  const live = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/live`);
  live.send({ type: 'subscribe', runs: [run] });
  await live.next((f) => f.type === 'subscribed');
  const stepAtLeast = (n: number) => (f: any) => f.type === 'points' && f.points.some((p: any) => p.step >= n);
  await live.next(stepAtLeast(20), GUARD_MS);

  child!.kill('SIGSTOP');
  const hang = await live.next((f) => f.type === 'alert' && f.alert.rule === 'run_hang', GUARD_MS);
  assert.equal(hang.alert.state, 'firing');
  assert.equal(hang.alert.severity, 'critical');
  assert.ok(hang.alert.step_opened >= 20);
  assert.ok(hang.alert.evidence.threshold_s >= 9, JSON.stringify(hang.alert.evidence));
  // Both are rounded to 0.1 s: a tick just past the threshold shows them equal.
  assert.ok(hang.alert.evidence.silent_s >= hang.alert.evidence.threshold_s);

  child!.kill('SIGCONT');
  const resumed = await live.next(
    (f) => f.type === 'alert' && f.alert.id === hang.alert.id && f.alert.state === 'resolved',
    GUARD_MS,
  );
  assert.ok(resumed.alert.step_closed > hang.alert.step_opened);
  const stepNow = Math.max(
    ...live.frames.filter((f) => f.type === 'points').flatMap((f) => f.points.map((p: any) => p.step)),
  );
  await live.next(stepAtLeast(stepNow + 5), GUARD_MS); // it trains on

  child!.kill('SIGKILL');
  await live.next((f) => f.type === 'run' && f.run.status === 'disconnected', GUARD_MS);
  const crashed = await live.next((f) => f.type === 'alert' && f.alert.rule === 'run_crashed', GUARD_MS);
  assert.equal(crashed.alert.state, 'firing');
  assert.match(crashed.alert.message, /^Disconnected for .* after step \d+: the training process crashed/);
  const runHangs = live.frames.filter(
    (f) => f.type === 'alert' && f.alert.rule === 'run_hang' && f.alert.state === 'firing',
  );
  assert.equal(new Set(runHangs.map((f) => f.alert.id)).size, 1, 'one hang alert: none while the client ran');
  while (!hooks.bodies.some((b) => b.alert.id === crashed.alert.id)) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    hooks.bodies
      .filter((b) => b.run.id === run)
      .map((b) => `${b.event} ${b.alert.rule}`)
      .sort(),
    ['firing run_crashed', 'firing run_hang', 'resolved run_hang'],
  );
  await live.close();
});
