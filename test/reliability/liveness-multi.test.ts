// Specification of the liveness rules with several servers on one PostgreSQL store (real server processes, a
// liveness tick of 0.2 s each): a silent run raises one run_hang alert in all, whether a server holds it (its
// trainer is connected there: that server judges it) or none does (points posted over HTTP: the leader judges it).
// Each alert is awaited as a live frame; a second run's alert, raised later, shows that both servers ticked past the
// first run's threshold many times before its alerts are counted.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect, type Run } from '../../clients/node/index.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { freshLocation, onPostgres } from '../../harness/store.js';
import { FrameClient } from '../support/ws.js';

const skip: string | false = !onPostgres && 'needs PostgreSQL: set GANWATCH_TEST_DB (npm run test:pg)';
const GUARD_MS = 120_000;
/** Hung after 1.2 s of silence whatever the step interval. */
const FAST = { rules: { run_hang: { params: { floorMinutes: 0.02, intervals: 1 } } } };

const servers: RunningServer[] = [];
let trainer: Run | null = null;
after(async () => {
  await trainer?.close({ timeoutMs: 1000 }).catch(() => undefined);
  for (const s of servers) if (s.process.exitCode === null && s.process.signalCode === null) await s.stop();
});

async function hangAlerts(server: RunningServer, run: string): Promise<any[]> {
  return (await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=run_hang`)).body.alerts;
}

test('two servers raise one run_hang per silent run, held or not', { skip }, async () => {
  const dbPath = await freshLocation();
  for (let i = 0; i < 2; i++) servers.push(await startServer({ dbPath, extraArgs: ['--liveness-tick', '0.2'] }));
  const [a, b] = servers as [RunningServer, RunningServer];
  const live = await FrameClient.connect(a.url.replace('http', 'ws') + '/api/v1/live');
  live.send({ type: 'subscribe', runs: ['*'] });
  await live.next((f) => f.type === 'subscribed');
  const hangOf = (run: string) => (f: any) => f.type === 'alert' && f.alert.run === run && f.alert.rule === 'run_hang';

  // Held: a trainer connected to B logs three steps, then stays connected and silent.
  trainer = await connect({ name: 'held', server: b.url, alerts: FAST, spool: join(tempDir(), 'spool') });
  const heldId = trainer.id ?? assert.fail('the trainer has a run id');
  for (let s = 0; s < 3; s++) trainer.log({ 'loss/G': 1 }, s);
  const held = await live.next(hangOf(heldId), GUARD_MS);
  assert.equal(held.alert.state, 'firing');

  // Unheld: points posted over HTTP to A, no trainer connected anywhere.
  const created = await api(b, 'POST', '/api/v1/runs', { name: 'unheld', alerts: FAST });
  const unheld = created.body.id as string;
  const points = [0, 1, 2].map((step) => ({ step, values: { 'loss/G': 1 } }));
  assert.equal((await api(a, 'POST', `/api/v1/runs/${unheld}/points`, { points })).status, 200);
  const first = await live.next(hangOf(unheld), GUARD_MS);
  assert.equal(first.alert.state, 'firing');

  // A later run's alert: by now both servers ticked past the first two runs' thresholds many times.
  const later = (await api(a, 'POST', '/api/v1/runs', { name: 'later', alerts: FAST })).body.id as string;
  await api(b, 'POST', `/api/v1/runs/${later}/points`, { points });
  await live.next(hangOf(later), GUARD_MS);
  assert.equal((await hangAlerts(a, heldId)).length, 1, 'the held run: one alert');
  assert.equal((await hangAlerts(a, unheld)).length, 1, 'the unheld run: one alert');

  // The held run speaks again: its alert resolves (on its holder, B), seen through A.
  trainer.log({ 'loss/G': 1 }, 3);
  const resolved = await live.next((f) => hangOf(heldId)(f) && f.alert.state === 'resolved', GUARD_MS);
  assert.equal(resolved.alert.id, held.alert.id);
  await live.close();
});
