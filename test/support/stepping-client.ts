// Test support: a training script's stand-in, a real process on the Node client (ganwatch/client) that logs one step
// every 100 ms until it is stopped or killed. It prints its run id on the first line of stdout.
//   SERVER=URL SPOOL=DIR ALERTS='{"rules":{...}}' node --import tsx test/support/stepping-client.ts
import { connect } from '../../clients/node/index.js';

const run = await connect({
  server: process.env.SERVER,
  name: 'stepping client',
  alerts: JSON.parse(process.env.ALERTS ?? '{}'),
  spool: process.env.SPOOL,
  systemMetrics: false,
  flushIntervalMs: 50,
});
process.stdout.write(`${run.id}\n`);
let step = 0;
setInterval(() => run.log({ 'loss/G': 1 + 0.01 * Math.sin(step), 'perf/images_per_s': 100 }, step++), 100);
