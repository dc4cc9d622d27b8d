// A TensorFlow.js training script watched by ganwatch (the README's "From Node / TensorFlow.js" example): it fits
// y = 3x + 2 with SGD, logs its loss, learning rate and weights every step, and obeys set_lr and stop controls from
// the dashboard or the API at step boundaries.
//   npm start &                                  # a ganwatch server on http://127.0.0.1:8080
//   npm run build && node clients/node/example.mjs [--steps N] [--server URL[,URL...]]
// Without --steps it trains until a stop control arrives.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { connect } from 'ganwatch/client';

const { values: flags } = parseArgs({
  options: { steps: { type: 'string', default: '0' }, server: { type: 'string' } },
});
const maxSteps = Number(flags.steps);
let lr = 0.05;

const run = await connect({
  name: 'linear fit',
  config: { lr, model: 'y = w·x + b', data: '256 points of y = 3x + 2' },
  tags: ['example'],
  ...(flags.server ? { server: flags.server } : {}), // default: $GANWATCH_SERVER, else http://127.0.0.1:8080
});
console.log(`run ${run.id}: ${run.url}`);

const xs = tf.randomUniform([256, 1], -1, 1, 'float32', 7);
const ys = xs.mul(3).add(2);
const w = tf.variable(tf.scalar(0));
const b = tf.variable(tf.scalar(0));
let optimizer = tf.train.sgd(lr);

for (let step = 0; maxSteps === 0 || step < maxSteps; step++) {
  // The step boundary: apply what was asked for since the last step, and answer each command.
  let stop = false;
  for (const control of run.takeControls()) {
    if (control.action === 'set_lr') {
      lr = control.args.value;
      optimizer = tf.train.sgd(lr);
      run.answer(control.id, true, step, `lr = ${lr} from step ${step}`);
    } else if (control.action === 'stop') {
      stop = true;
      run.answer(control.id, true, step, `stopped before step ${step}`);
    } else {
      run.answer(control.id, false, step, `this script does not do ${control.action}`);
    }
  }
  if (stop) break;
  const loss = optimizer.minimize(() => tf.losses.meanSquaredError(ys, xs.mul(w).add(b)), true);
  const [mse] = await loss.data();
  loss.dispose();
  run.log({ 'loss/mse': mse, lr, w: w.dataSync()[0], b: b.dataSync()[0] }, step); // never waits for the network
  if (step % 100 === 0) console.log(`step ${step}: loss ${mse.toFixed(5)}`);
  await new Promise((resolve) => setImmediate(resolve)); // let the socket deliver controls between steps
}

const stored = await run.finish(); // status finished; waits (10 s at most) until the server has stored everything
console.log(stored ? 'finished: everything stored' : 'finished: the rest stays in .spool for `npm run sync`');
