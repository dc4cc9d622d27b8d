// Specification under load (a short version of `npm run bench -- load`): 32 simulated trainers in separate processes,
// each pushing 20 metrics at 100 steps/s, and 20 live subscribers watching every run, for 8 s: not one value is lost,
// every acknowledgement arrives, every subscriber receives every point, and the server stays small. Latencies are
// printed, not asserted beyond a sanity bound: this machine is shared, the benchmark reports them against a baseline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLoad } from '../../bench/load.js';

test('32 trainers × 20 metrics × 100 steps/s and 20 live subscribers for 8 s: zero values lost, every point pushed live', async () => {
  const r = await runLoad({ trainers: 32, subscribers: 20, seconds: 8 });
  console.log(
    `# sent ${r.sent}, stored ${r.stored}; ack p50 ${r.ackMs.p50} ms p99 ${r.ackMs.p99} ms; live p50 ${r.liveMs.p50} ms p99 ${r.liveMs.p99} ms; RSS peak ${r.rssMb.peak.toFixed(0)} MB; server CPU ${r.serverCpuPercent.toFixed(0)}%`,
  );
  assert.deepEqual(r.errors, []);
  assert.equal(r.sent, 32 * 20 * 100 * 8, 'every trainer sent all its steps');
  assert.equal(r.acked, r.sent, 'every value acknowledged');
  assert.equal(r.stored, r.sent, 'every value stored');
  assert.equal(r.lost, 0);
  assert.equal(
    r.livePointsPerSubscriber.min,
    r.livePointsPerSubscriber.expected,
    'every subscriber received every point',
  );
  assert.ok(r.rssMb.peak < 500, `server RSS ${r.rssMb.peak} MB`);
  // A hang guard, not a speed requirement (the benchmark measures latency against a baseline).
  assert.ok(r.ackMs.p99 < 60_000, `ack p99 ${r.ackMs.p99} ms: acknowledgements stopped coming`);
});
